"""AWS credentials for a signed-in user (or a guest).

Two routes: the identity pool's enhanced flow (``GetId`` once per user, then
``GetCredentialsForIdentity`` with a fresh ID token), or, without an identity pool, STS
``AssumeRoleWithWebIdentity`` with the ID token for a pool registered as an IAM OIDC provider.
The ID token goes to botocore sealed (:func:`~nb_cognito.auth.aws_calls.send_sealed`): no frame
of a failed call shows it.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
from typing import Any

from nb_cognito import forksafe
from nb_cognito.auth import aws_calls
from nb_cognito.auth.policy import DEFAULT_POLICY, RefreshPolicy
from nb_cognito.clock import Clock
from nb_cognito.exceptions import AuthError, ConfigurationError, unknown_resource
from nb_cognito.models import AWSCredentials
from nb_cognito.redaction import known_secrets
from nb_cognito.secret import Secret
from nb_cognito.settings.config import Settings

__all__ = ["IdentityClient", "role_session_name"]

# Identity ids per (identity pool, user sub), for the whole process: real Cognito gives the
# same id every time and allows only 25 GetId calls a second, so we ask once.
_identity_ids: dict[tuple[str, str], str] = {}
_ids_lock = forksafe.Lock()


class IdentityClient:
    """Fetches AWS credentials with the user-pool ID token."""

    def __init__(self, settings: Settings, *, clock: Clock, policy: RefreshPolicy = DEFAULT_POLICY) -> None:
        self.settings = settings
        self._clock = clock
        self._policy = policy
        #: The server's time by the ``Date`` header of the last credentials answer (drift).
        self.server_time: float | None = None

    @property
    def enabled(self) -> bool:
        """True when credentials can be had at all (an identity pool or a role ARN)."""
        return bool(self.settings.identity_pool_id or self.settings.role_arn)

    @functools.cached_property
    def cognito_identity(self) -> Any:
        """The botocore client of the identity pool's region (cognito-identity)."""
        region = self.settings.region
        if self.settings.identity_pool_id:
            region = self.settings.identity_pool_id.split(":", 1)[0]
        return self._make("cognito-identity", region, self.settings.cognito_identity_endpoint)

    @functools.cached_property
    def sts(self) -> Any:
        """The botocore STS client (``role_arn`` without an identity pool)."""
        return self._make("sts", self.settings.region, self.settings.sts_endpoint)

    def _make(self, service: str, region: str | None, endpoint_url: str | None) -> Any:
        return aws_calls.make_client(
            service,
            region=region,
            endpoint_url=endpoint_url,
            timeout=self.settings.network_timeout,
        )

    def _logins(self, id_token: Secret | None) -> dict[str, dict[str, Secret]]:
        if id_token is None:
            return {}
        # The provider name is the pool's original issuer without https://: its primary region.
        provider = f"cognito-idp.{self.settings.primary_region}.amazonaws.com/{self.settings.user_pool_id}"
        return {"Logins": {provider: id_token}}

    def identity_id(self, user_sub: str | None, id_token: Secret | str | None, *, fresh: bool = False) -> str:
        """The identity id of this user (``user_sub`` None: a guest), cached per user
        (``fresh``: asked again, when a remembered one was refused)."""
        id_token = Secret.of(id_token)
        pool = self.settings.identity_pool_id
        if not pool:
            raise AuthError("No identity pool is configured.")
        key = (pool, user_sub or "")
        cached = _identity_ids.get(key) if user_sub and not fresh else None
        if cached:
            return cached
        client = self.cognito_identity
        try:
            response = aws_calls.call(
                lambda: aws_calls.send_sealed(
                    client.get_id, {"IdentityPoolId": pool, **self._logins(id_token)}
                ),
                action="get the identity id",
                clock=self._clock,
                policy=self._policy,
            )
        except ConfigurationError as error:
            raise unknown_resource(error, "identity pool", self.settings, "identity_pool_id") from None
        identity_id = response.get("IdentityId") if isinstance(response, dict) else None
        if not identity_id or not isinstance(identity_id, str):
            raise AuthError("The identity pool answered without an identity id.")
        if user_sub:
            with _ids_lock:
                _identity_ids[key] = identity_id
        return identity_id

    def credentials(self, identity_id: str, id_token: Secret | str | None) -> AWSCredentials:
        """Fresh credentials for ``identity_id`` from the identity pool."""
        id_token = Secret.of(id_token)
        client = self.cognito_identity
        response = aws_calls.call(
            lambda: aws_calls.send_sealed(
                client.get_credentials_for_identity, {"IdentityId": identity_id, **self._logins(id_token)}
            ),
            action="get AWS credentials",
            clock=self._clock,
            policy=self._policy,
        )
        self.server_time = aws_calls.server_time(response)
        raw = _mapping(response, "Credentials")
        return self._credentials(
            raw.get("AccessKeyId"), raw.get("SecretKey"), raw.get("SessionToken"), raw.get("Expiration")
        )

    def assume_role(self, id_token: Secret | str, username: str) -> AWSCredentials:
        """Credentials for ``settings.role_arn`` through STS ``AssumeRoleWithWebIdentity``."""
        id_token = Secret(id_token)
        client = self.sts
        params = {
            "RoleArn": self.settings.role_arn,
            "RoleSessionName": role_session_name(username),
            "WebIdentityToken": id_token,
        }
        response = aws_calls.call(
            lambda: aws_calls.send_sealed(client.assume_role_with_web_identity, params),
            action="assume the IAM role",
            clock=self._clock,
            policy=self._policy,
        )
        raw = _mapping(response, "Credentials")
        return self._credentials(
            raw.get("AccessKeyId"), raw.get("SecretAccessKey"), raw.get("SessionToken"), raw.get("Expiration")
        )

    @staticmethod
    def _credentials(key: Any, secret: Any, token: Any, expiration: Any) -> AWSCredentials:
        if not all(isinstance(value, str) and value for value in (key, secret, token)):
            raise AuthError("AWS returned incomplete credentials; the previous ones are kept.")
        if isinstance(expiration, int | float):
            expiration = dt.datetime.fromtimestamp(expiration, dt.timezone.utc)
        if not isinstance(expiration, dt.datetime):
            raise AuthError("AWS returned credentials without a valid expiration.")
        if expiration.tzinfo is None:
            expiration = expiration.replace(tzinfo=dt.timezone.utc)
        known_secrets.add(secret, token)
        return AWSCredentials(key, secret, token, expiration)


_SESSION_NAME_UNSAFE = re.compile(r"[^\w+=,.@-]", re.ASCII)


def role_session_name(username: str) -> str:
    r"""STS's ``RoleSessionName`` for ``username``: ``nb-cognito-<name>-<hash>``.

    STS takes 2 to 64 characters of ``[\w+=,.@-]`` (ASCII), and a username may hold others
    (``o'brien``, ``josé``, ``a/b``). Those become ``-``; the name is cut to fit, and a short
    hash of the whole username keeps two users whose safe forms agree apart in CloudTrail.
    https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html
    """
    digest = hashlib.sha256(username.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    safe = _SESSION_NAME_UNSAFE.sub("-", username)
    room = 64 - len("nb-cognito--") - len(digest)
    return f"nb-cognito-{safe[:room]}-{digest}"


def _mapping(response: Any, key: str) -> dict[str, Any]:
    """``response[key]`` when it is a mapping; a clear error for a malformed answer."""
    value = response.get(key) if isinstance(response, dict) else None
    if not isinstance(value, dict):
        raise AuthError("AWS answered without credentials; the previous ones are kept.")
    return value


def forget_identity_ids() -> None:
    """Drop the process-wide identity-id cache (tests and emulator resets)."""
    with _ids_lock:
        _identity_ids.clear()
