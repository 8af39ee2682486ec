"""Early truth: does the configured user pool exist where the settings say, before a password?

With SRP the pool id is part of the password proof, so a wrong pool id comes back from Cognito
as "Incorrect username or password", after the password was typed. The pool's JWKS answers
without any credentials, so fetching it first tells a wrong pool id, region or endpoint apart
from a wrong password, and warms the key cache the first tokens are verified with.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nb_cognito.auth.jwks import JwksNotFound
from nb_cognito.exceptions import ConfigurationError, ServiceUnavailableError

if TYPE_CHECKING:
    from nb_cognito.auth.tokens import TokenVerifier
    from nb_cognito.settings.config import Settings

__all__ = ["check_pool"]


def check_pool(settings: Settings, verifier: TokenVerifier) -> None:
    """Raise a clear error when the pool's keys say the pool is not there (see module doc)."""
    settings.require_sign_in_settings()
    where = f"{settings.describe_setting('region')}, {settings.endpoint_setting()}"
    try:
        verifier.warm()
    except JwksNotFound as error:
        raise ConfigurationError(
            f"Cognito knows no user pool there (its signing keys answered HTTP {error.status}): "
            f"{settings.describe_setting('user_pool_id')}; {where}.",
            recovery_suggestion=(
                "Correct user_pool_id (or region, or the endpoint) where it came from; "
                "nothing was sent that needs a password."
            ),
        ) from error
    except ServiceUnavailableError as error:
        error.recovery_suggestion = f"Try again shortly; if it persists, check the network, and {where}."
        raise
