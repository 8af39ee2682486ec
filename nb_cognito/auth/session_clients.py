"""The three clients a session talks through, built lazily from one set of settings.

Typed properties instead of a lookup by name: the user-pool client (sign-in, refresh,
sign-out), the identity client (identity pool or role ARN) and the token verifier (JWKS).
A new set of settings gets a new :class:`SessionClients`; nothing is patched in place.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from nb_cognito.auth.policy import RefreshPolicy

if TYPE_CHECKING:
    from nb_cognito.auth.identity import IdentityClient
    from nb_cognito.auth.tokens import TokenVerifier
    from nb_cognito.auth.userpool_calls import UserPoolClient
    from nb_cognito.clock import Clock
    from nb_cognito.settings.config import Settings

__all__ = ["SessionClients"]


class SessionClients:
    """The clients for ``settings``; each is made on first use (imports stay cheap)."""

    def __init__(
        self, settings: Settings, *, clock: Clock, hosted_ui: Any = None, policy: RefreshPolicy | None = None
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.policy = policy if policy is not None else RefreshPolicy()
        # The token source after a hosted-UI or JupyterHub sign-in: it refreshes (and revokes)
        # in the user-pool client's place (nb_cognito.auth.oauth, nb_cognito.auth.hub).
        self.hosted_ui = hosted_ui

    @functools.cached_property
    def userpool(self) -> UserPoolClient:
        from nb_cognito.auth.userpool_calls import UserPoolClient

        client = UserPoolClient(self.settings, clock=self.clock, policy=self.policy)
        return client if self.hosted_ui is None else self.hosted_ui.wrap(client)

    @functools.cached_property
    def identity(self) -> IdentityClient:
        from nb_cognito.auth.identity import IdentityClient

        return IdentityClient(self.settings, clock=self.clock, policy=self.policy)

    @functools.cached_property
    def verifier(self) -> TokenVerifier:
        from nb_cognito.auth.tokens import TokenVerifier

        # A token source may sign in with another app client (JupyterHub's): its audience.
        audience = self.hosted_ui.audience if self.hosted_ui is not None else None
        return TokenVerifier.for_settings(self.settings, client_id=audience)

    @property
    def wants_credentials(self) -> bool:
        """True when the settings earn AWS credentials (an identity pool or a role ARN)."""
        return self.identity.enabled
