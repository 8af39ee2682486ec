"""How a call reaches the user pool: the botocore client (made once, lazily), one call with our
retries on the clock, an unknown app client reported as a setting, and the ``SECRET_HASH`` /
``ClientSecret`` parameters an app client with a secret needs.
:mod:`nb_cognito.auth.userpool_calls` says which calls, with what.
"""

from __future__ import annotations

from typing import Any

from nb_cognito.auth import aws_calls
from nb_cognito.auth.policy import DEFAULT_POLICY, RefreshPolicy
from nb_cognito.auth.userpool_values import secret_hash
from nb_cognito.clock import Clock
from nb_cognito.exceptions import ConfigurationError, unknown_resource
from nb_cognito.secret import Secret
from nb_cognito.settings.config import Settings

__all__ = ["UserPoolWire"]


class UserPoolWire:
    """The line to one user pool and app client (``settings`` checked for sign-in already)."""

    def __init__(self, settings: Settings, *, clock: Clock, policy: RefreshPolicy = DEFAULT_POLICY) -> None:
        self.settings = settings
        self._clock = clock
        self._policy = policy
        self._client: Any = None

    @property
    def client(self) -> Any:
        """The botocore ``cognito-idp`` client, made at the first use."""
        if self._client is None:
            self._client = aws_calls.make_client(
                "cognito-idp",
                region=self.settings.region,
                endpoint_url=self.settings.cognito_idp_endpoint,
                timeout=self.settings.network_timeout,
            )
        return self._client

    def connect(self) -> None:
        """Make the botocore client now rather than at the first call."""
        self._client = self.client

    def call(self, action: str, operation: str, attempts: int | None = None, **params: Any) -> dict:
        """``operation`` with ``params``; ``action`` names it in errors."""
        method = getattr(self.client, operation)
        # Secrets in params stay sealed down to the encoded body: no frame, ours or botocore's,
        # keeps them plain (aws_calls.send_sealed).
        try:
            return aws_calls.call(
                lambda: aws_calls.send_sealed(method, params),
                action=action,
                clock=self._clock,
                attempts=attempts,
                policy=self._policy,
            )
        except ConfigurationError as error:  # the app client (sent as ClientId) is not known
            names = ("client_id", "user_pool_id")
            raise unknown_resource(error, "app client id", self.settings, *names) from None

    def secret_hash(self, username: str) -> dict[str, str]:
        """``SECRET_HASH`` for ``username`` when the app client has a secret, or nothing."""
        if not self.settings.client_secret:
            return {}
        client_id = self.settings.client_id
        assert client_id is not None  # UserPoolClient checked require_sign_in_settings()
        return {"SECRET_HASH": secret_hash(username, client_id, self.settings.client_secret)}

    def client_secret(self) -> dict[str, Any]:
        """``ClientSecret`` for the calls that send it (wrapped), or nothing."""
        secret = self.settings.client_secret
        return {"ClientSecret": Secret(secret)} if secret else {}
