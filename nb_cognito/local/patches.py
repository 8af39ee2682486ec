"""Every change nb_cognito.local makes to moto, in one place.

moto is the base of the offline Cognito, but it lies in ways that would let our tests pass
against behaviour real Cognito never has (see shared/COGNITO_EMULATION.md). :func:`apply`
installs these fixes, once, on moto's classes; each names the lie it fixes:

``CognitoIdpUserPool.create_jwt``
    Token validity was ignored (always 3600 s) and ``iat``/``exp`` came from ``time.time()``:
    now the client's ``AccessTokenValidity``/``IdTokenValidity``/``TokenValidityUnits`` count
    (seconds included), time comes from the emulator clock, ``auth_time`` survives a refresh,
    and the ID token carries the user's attributes as real Cognito's does.
``CognitoIdpUserPool.create_refresh_token``
    Refresh tokens never expired: now they carry ``RefreshTokenValidity`` on the emulator clock.
``CognitoIdpBackend.initiate_auth`` / ``respond_to_auth_challenge``
    * USER_SRP_AUTH accepted any password: now SALT/SRP_B are real and PASSWORD_CLAIM_SIGNATURE
      is checked (``srp.py``); a wrong one is ``NotAuthorizedException``.
    * No lockout: now 5 wrong passwords in a row lock the user for 2^(n-5) s (15 min at most).
    * REFRESH_TOKEN_AUTH ignored expiry, disabled/deleted users, admin password resets, and the
      client the token was issued to; it also crashed (HTTP 500) for a deleted user.
    * MFA_SETUP came only on the SRP path, SMS codes were never checked, TOTP used one fixed
      secret, and RESET_REQUIRED users could sign in: one state machine now decides the next
      step after a password for both flows.
``CognitoIdpBackend.associate_software_token`` / ``verify_software_token``
    The secret was always ``asdfasdfasdf`` and any code passed: now each user gets a random
    base32 secret and codes are checked at the emulator clock.
``CognitoIdpBackend.get_user`` and the other access-token calls
    Expired access tokens were accepted: now ``NotAuthorizedException 'Access Token has expired'``.
``CognitoIdpResponse.get_tokens_from_refresh_token`` / ``revoke_token``
    Missing actions (HTTP 500): now implemented, with refresh-token rotation and reuse detection.
``CognitoIdentityResponse.get_id`` / ``get_credentials_for_identity``
    GetId ignored ``Logins`` and returned a new id every call; the credentials were one fixed
    key pair that expired after 90 s. Now the ID token is verified (signature, issuer, audience,
    expiry), one user keeps one identity id, guests are refused unless the pool allows them,
    and every call vends distinct ``ASIA...`` credentials for the pool's configured lifetime.
``moto.cognitoidp.models.jwk`` (speed, not fidelity)
    Every CreateUserPool re-imported moto's one fixed RSA key, 0.1-0.5 s each: now it is
    imported once per process, which keeps ``LocalCognito.reset()`` fast enough to run per test.
``STSBackend.assume_role_with_web_identity``
    The credentials' ``Expiration`` came from the wall clock: now from the emulator clock.
    (The web identity token is still not verified.)
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import secrets
import string
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import moto

SUPPORTED_MOTO = ((5, 1), (5, 3))


def _version(text: str) -> tuple[int, int]:
    parts = re.findall(r"\d+", text)[:2]
    return (int(parts[0]), int(parts[1])) if len(parts) == 2 else (0, 0)


if not SUPPORTED_MOTO[0] <= _version(moto.__version__) < SUPPORTED_MOTO[1]:
    raise ImportError(
        f"nb_cognito.local patches moto's Cognito internals and supports moto >=5.1,<5.3; "
        f"moto {moto.__version__} is installed. Install the tested range: "
        f"pip install 'nb-cognito[local]'."
    )

from joserfc import jwt as jose_jwt  # noqa: E402
from joserfc.errors import JoseError  # noqa: E402
from moto.cognitoidentity import models as identity_models  # noqa: E402
from moto.cognitoidentity.responses import CognitoIdentityResponse  # noqa: E402
from moto.cognitoidp import models as idp  # noqa: E402
from moto.cognitoidp.responses import CognitoIdpResponse  # noqa: E402
from moto.cognitoidp.utils import check_secret_hash  # noqa: E402
from moto.core.exceptions import JsonRESTError  # noqa: E402
from moto.core.responses import ActionResult  # noqa: E402
from moto.sts import models as sts_models  # noqa: E402

from . import srp  # noqa: E402
from .state import AuthSession, EmulatorState, Identity, RefreshMeta, current  # noqa: E402

__all__ = ["apply", "find_user", "refresh_token_revoked", "set_user_totp"]

UserStatus = idp.UserStatus
_ORIGINAL: dict[str, Any] = {}  # the replaced moto functions, and joserfc.jwk
_APPLY_LOCK = threading.Lock()

WRONG_PASSWORD = "Incorrect username or password."
LOCKED_OUT = "Password attempts exceeded"
_UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86_400}
_DEFAULT_VALIDITY = {"AccessToken": (1, "hours"), "IdToken": (1, "hours"), "RefreshToken": (30, "days")}


def _error(code: str, message: str) -> JsonRESTError:
    return JsonRESTError(code, message)


def _not_authorized(message: str) -> JsonRESTError:
    return _error("NotAuthorizedException", message)


# ---------------------------------------------------------------------------------------------
# Installing


def apply() -> None:
    """Install every patch (idempotent, thread-safe)."""
    with _APPLY_LOCK:
        if _ORIGINAL:
            return
        pool, backend = idp.CognitoIdpUserPool, idp.CognitoIdpBackend
        _ORIGINAL["cognitoidp.models.jwk"] = idp.jwk
        # A duck-typed stand-in for the joserfc.jwk module that moto imported.
        idp.jwk = _JwkWithCachedImport(idp.jwk)  # type: ignore[assignment]
        _replace(pool, "create_jwt", _create_jwt)
        _replace(pool, "create_refresh_token", _create_refresh_token)
        _replace(backend, "initiate_auth", _initiate_auth)
        _replace(backend, "respond_to_auth_challenge", _respond_to_auth_challenge)
        _replace(backend, "associate_software_token", _associate_software_token)
        _replace(backend, "verify_software_token", _verify_software_token)
        for name in (
            "get_user",
            "global_sign_out",
            "change_password",
            "update_user_attributes",
            "set_user_mfa_preference",
        ):
            _replace(backend, name, _rejecting_expired_access_token(getattr(backend, name)))
        _replace(CognitoIdpResponse, "get_tokens_from_refresh_token", _get_tokens_from_refresh)
        _replace(CognitoIdpResponse, "revoke_token", _revoke_token)
        _replace(CognitoIdentityResponse, "get_id", _get_id)
        _replace(CognitoIdentityResponse, "get_credentials_for_identity", _get_credentials)
        _replace(sts_models.STSBackend, "assume_role_with_web_identity", _assume_role_with_web_identity)


class _JwkWithCachedImport:
    """Stands in for ``joserfc.jwk`` inside moto's cognitoidp models: RSA keys imported once."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self._cache: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    @property
    def RSAKey(self) -> Any:
        return self

    def import_key(self, value: Any, *args: Any, **kwargs: Any) -> Any:
        marker = json.dumps([value, args, kwargs], sort_keys=True, default=str)
        with self._lock:
            if marker not in self._cache:
                self._cache[marker] = self._real.RSAKey.import_key(value, *args, **kwargs)
            return self._cache[marker]


def _replace(owner: type, name: str, function: Callable[..., Any]) -> None:
    _ORIGINAL[f"{owner.__name__}.{name}"] = getattr(owner, name, None)
    setattr(owner, name, function)


# ---------------------------------------------------------------------------------------------
# Helpers for the emulator itself (in-process access to moto's models)


def _all_idp_backends() -> list[idp.CognitoIdpBackend]:
    return [
        backend
        for per_account in idp.cognitoidp_backends.values()
        for region, backend in per_account.items()
        if region != "global"
    ]


def _find_pool(pool_id: str) -> idp.CognitoIdpUserPool | None:
    for backend in _all_idp_backends():
        if pool_id in backend.user_pools:
            return backend.user_pools[pool_id]
    return None


def find_user(pool_id: str, username: str) -> idp.CognitoIdpUser | None:
    """The moto user ``username`` (or an alias of it) in pool ``pool_id``, or None."""
    pool = _find_pool(pool_id)
    return None if pool is None else pool._get_user(username)


def set_user_totp(
    state: EmulatorState, pool_id: str, username: str, secret: str, *, preferred: bool = True
) -> None:
    """Give a user TOTP MFA with ``secret``, verified and enabled (and preferred)."""
    user = find_user(pool_id, username)
    if user is None:
        raise KeyError(username)
    with state.lock:
        state.totp_secrets[(pool_id, user.username)] = secret.strip().replace(" ", "").upper()
    user.token_verified = True
    user.software_token_mfa_enabled = True
    if preferred:
        user.preferred_mfa_setting = "SOFTWARE_TOKEN_MFA"


def refresh_token_revoked(pool_id: str, token: str) -> bool:
    """True if the pool issued ``token`` and it was revoked (RevokeToken, GlobalSignOut)."""
    pool = _find_pool(pool_id)
    return pool is not None and token in pool.refresh_tokens and pool.refresh_tokens[token] is None


# ---------------------------------------------------------------------------------------------
# Tokens: validity from the app client, time from the emulator clock


def _validity(client: idp.CognitoIdpUserPoolClient | None, kind: str) -> int:
    config = client.extended_config if client is not None else {}
    default_value, default_unit = _DEFAULT_VALIDITY[kind]
    value = config.get(f"{kind}Validity")
    unit = (config.get("TokenValidityUnits") or {}).get(kind) or default_unit
    if value is None:
        value, unit = default_value, default_unit
    return int(value) * _UNIT_SECONDS.get(unit, _UNIT_SECONDS[default_unit])


def _id_token_attributes(client: Any, user: idp.CognitoIdpUser) -> dict[str, Any]:
    """The attributes real Cognito puts in an ID token when the client reads them all."""
    if client is not None and client.get_readable_fields():
        return {}
    claims: dict[str, Any] = {}
    for name, value in user.attribute_lookup.items():
        if name == "sub" or name.startswith("dev:"):
            continue
        claims[name] = value == "true" if name.endswith("_verified") else value
    return claims


def _create_jwt(
    self: idp.CognitoIdpUserPool,
    client_id: str,
    username: str,
    token_use: str,
    expires_in: int = 3600,
    extra_data: dict[str, Any] | None = None,
) -> tuple[str, int]:
    state = current()
    now = int(state.now())
    client = self.clients.get(client_id)
    lifetime = _validity(client, "AccessToken" if token_use == "access" else "IdToken")
    user = self._get_user(username)
    extra = dict(extra_data or {})
    payload: dict[str, Any] = {
        "iss": f"https://cognito-idp.{self.region}.amazonaws.com/{self.id}",
        "sub": user.id,
        "token_use": token_use,
        "iat": now,
        "auth_time": state.auth_times.get(str(extra.get("origin_jti")), now),
        "exp": now + lifetime,
        "jti": str(uuid.uuid4()),
    }
    if token_use == "access":
        payload.update(client_id=client_id, username=user.username)
    else:
        payload.update(_id_token_attributes(client, user))
        payload.update({"aud": client_id, "cognito:username": user.username})
    payload.update(extra)
    token = jose_jwt.encode({"kid": "dummy", "alg": "RS256"}, payload, self.json_web_key)
    return token, lifetime


def _create_refresh_token(self: idp.CognitoIdpUserPool, client_id: str, username: str) -> tuple[str, str]:
    token, origin_jti = _ORIGINAL["CognitoIdpUserPool.create_refresh_token"](self, client_id, username)
    state = current()
    now = state.now()
    user = self._get_user(username)
    meta = RefreshMeta(
        expires_at=now + _validity(self.clients.get(client_id), "RefreshToken"),
        sub=user.id if user is not None else "",
        auth_time=int(now),
    )
    with state.lock:
        state.refresh[token] = meta
        state.auth_times[origin_jti] = meta.auth_time
    return token, origin_jti


def _claims(token: str) -> dict[str, Any]:
    """The payload of one of moto's own JWTs, unverified (the server issued it)."""
    try:
        payload = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}


def _rejecting_expired_access_token(original: Callable[..., Any]) -> Callable[..., Any]:
    def checked(self: idp.CognitoIdpBackend, access_token: str, *args: Any, **kwargs: Any) -> Any:
        known = any(access_token in pool.access_tokens for pool in self.user_pools.values())
        expires = _claims(access_token).get("exp") if known else None
        if expires is not None and current().now() >= float(expires):
            raise _not_authorized("Access Token has expired")
        return original(self, access_token, *args, **kwargs)

    checked.__name__ = original.__name__
    checked.__doc__ = original.__doc__
    return checked


# ---------------------------------------------------------------------------------------------
# Sign-in: InitiateAuth


def _pool_and_client(
    backend: idp.CognitoIdpBackend, client_id: str
) -> tuple[idp.CognitoIdpUserPool, idp.CognitoIdpUserPoolClient]:
    for pool in backend.user_pools.values():
        if client_id in pool.clients:
            return pool, pool.clients[client_id]
    raise idp.ResourceNotFoundError(client_id)


def _check_secret_hash(client: Any, given: str | None, usernames: list[str]) -> None:
    if not client.generate_secret:
        return
    if not any(name and check_secret_hash(client.secret, client.id, name, given) for name in usernames):
        raise _not_authorized(f"Unable to verify secret hash for client {client.id}")


def _initiate_auth(
    self: idp.CognitoIdpBackend, client_id: str, auth_flow: str, auth_parameters: dict[str, str]
) -> dict[str, Any]:
    handlers = {
        "USER_PASSWORD_AUTH": _user_password_auth,
        "USER_SRP_AUTH": _user_srp_auth,
        "REFRESH_TOKEN_AUTH": _refresh_token_auth,
        "REFRESH_TOKEN": _refresh_token_auth,
    }
    handler = handlers.get(auth_flow)
    if handler is None:
        return _ORIGINAL["CognitoIdpBackend.initiate_auth"](self, client_id, auth_flow, auth_parameters)
    pool, client = _pool_and_client(self, client_id)
    return handler(self, pool, client, dict(auth_parameters or {}))


def _required(parameters: dict[str, str], name: str) -> str:
    value = parameters.get(name)
    if not value:
        raise idp.InvalidParameterException(f"Missing required parameter {name}")
    return value


def _user_password_auth(
    backend: idp.CognitoIdpBackend, pool: Any, client: Any, params: dict[str, str]
) -> dict[str, Any]:
    username = _required(params, "USERNAME")
    _check_secret_hash(client, params.get("SECRET_HASH"), [username])
    user = backend.admin_get_user(pool.id, username)
    state = current()
    _check_may_try_password(state, pool, user)
    if user.password != params.get("PASSWORD"):
        _password_failed(state, pool, user)
    state.password_ok((pool.id, user.username))
    return _after_password(backend, state, pool, client, user)


def _user_srp_auth(
    backend: idp.CognitoIdpBackend, pool: Any, client: Any, params: dict[str, str]
) -> dict[str, Any]:
    username = _required(params, "USERNAME")
    srp_a = _required(params, "SRP_A")
    _check_secret_hash(client, params.get("SECRET_HASH"), [username])
    user = backend.admin_get_user(pool.id, username)
    if not user.enabled:
        raise _not_authorized("User is disabled.")
    challenge = srp.start_challenge(srp_a, pool.id, user.username, user.password or "")
    if challenge is None:
        raise idp.InvalidParameterException("SRP_A is not a valid value")
    parameters = {
        "SALT": challenge.salt_hex,
        "SRP_B": challenge.srp_b_hex,
        "SECRET_BLOCK": challenge.secret_block_b64,
        "USERNAME": user.username,
        "USER_ID_FOR_SRP": user.username,
    }
    return _challenge(backend, current(), pool, client, user, "PASSWORD_VERIFIER", parameters, srp=challenge)


def _check_may_try_password(state: EmulatorState, pool: Any, user: Any) -> None:
    if not user.enabled:
        raise _not_authorized("User is disabled.")
    if state.locked_out((pool.id, user.username)):
        raise _not_authorized(LOCKED_OUT)


def _password_failed(state: EmulatorState, pool: Any, user: Any) -> None:
    state.password_failed((pool.id, user.username))
    raise _not_authorized(WRONG_PASSWORD)


def _after_password(
    backend: idp.CognitoIdpBackend, state: EmulatorState, pool: Any, client: Any, user: Any
) -> dict[str, Any]:
    """The step after a right password: a status error, NEW_PASSWORD_REQUIRED, MFA, or tokens."""
    if user.status == UserStatus.UNCONFIRMED:
        raise idp.UserNotConfirmedException("User is not confirmed.")
    if user.status == UserStatus.RESET_REQUIRED:
        raise _error("PasswordResetRequiredException", "Password reset required for the user")
    if user.status == UserStatus.FORCE_CHANGE_PASSWORD:
        attributes = {k: v for k, v in user.attribute_lookup.items() if k != "sub"}
        parameters = {
            "USER_ID_FOR_SRP": user.username,
            "requiredAttributes": "[]",
            "userAttributes": json.dumps(attributes),
        }
        return _challenge(backend, state, pool, client, user, "NEW_PASSWORD_REQUIRED", parameters)
    return _mfa_or_tokens(backend, state, pool, client, user)


def _enabled_mfa(state: EmulatorState, pool: Any, user: Any) -> list[str]:
    """The MFA kinds set up for ``user`` that the pool allows (none while the pool's MFA is off)."""
    if pool.mfa_config == "OFF":
        return []
    enabled = []
    if user.sms_mfa_enabled and user.attribute_lookup.get("phone_number"):
        enabled.append("SMS_MFA")
    if user.software_token_mfa_enabled and (pool.id, user.username) in state.totp_secrets:
        enabled.append("SOFTWARE_TOKEN_MFA")
    return enabled


def _mfa_or_tokens(
    backend: idp.CognitoIdpBackend, state: EmulatorState, pool: Any, client: Any, user: Any
) -> dict[str, Any]:
    """The preferred (or only) MFA challenge, SELECT_MFA_TYPE, MFA_SETUP, or the tokens."""
    enabled = _enabled_mfa(state, pool, user)
    if user.preferred_mfa_setting in enabled:
        return _mfa_challenge(backend, state, pool, client, user, str(user.preferred_mfa_setting))
    if len(enabled) == 1:
        return _mfa_challenge(backend, state, pool, client, user, enabled[0])
    if enabled:
        parameters = {"MFAS_CAN_CHOOSE": json.dumps(enabled)}
        return _challenge(backend, state, pool, client, user, "SELECT_MFA_TYPE", parameters)
    if pool.mfa_config == "ON":
        can_setup = [
            name
            for name, configured in (
                ("SMS_MFA", bool(pool.sms_mfa_config)),
                ("SOFTWARE_TOKEN_MFA", (pool.token_mfa_config or {}).get("Enabled") is True),
            )
            if configured
        ]
        if can_setup:
            parameters = {"MFAS_CAN_SETUP": json.dumps(can_setup)}
            return _challenge(backend, state, pool, client, user, "MFA_SETUP", parameters)
    return backend._log_user_in(pool, client, user.username)


def _mfa_challenge(
    backend: idp.CognitoIdpBackend,
    state: EmulatorState,
    pool: Any,
    client: Any,
    user: Any,
    kind: str,
) -> dict[str, Any]:
    if kind == "SOFTWARE_TOKEN_MFA":
        return _challenge(backend, state, pool, client, user, kind, {})
    code = state.send_sms((pool.id, user.username))
    phone = user.attribute_lookup["phone_number"]
    parameters = {
        "CODE_DELIVERY_DELIVERY_MEDIUM": "SMS",
        "CODE_DELIVERY_DESTINATION": "+*******" + phone[-4:],
    }
    return _challenge(backend, state, pool, client, user, kind, parameters, sms_code=code)


def _challenge(
    backend: idp.CognitoIdpBackend,
    state: EmulatorState,
    pool: Any,
    client: Any,
    user: Any,
    name: str,
    parameters: dict[str, str],
    **extra: Any,
) -> dict[str, Any]:
    minutes = int(client.extended_config.get("AuthSessionValidity") or 3)
    session = AuthSession(
        pool_id=pool.id,
        client_id=client.id,
        username=user.username,
        challenge=name,
        expires_at=state.now() + 60 * minutes,
        **extra,
    )
    session_id = state.open_session(session)
    backend.sessions[session_id] = (user.username, pool)
    return {"ChallengeName": name, "Session": session_id, "ChallengeParameters": parameters}


# ---------------------------------------------------------------------------------------------
# Sign-in: RespondToAuthChallenge


def _respond_to_auth_challenge(
    self: idp.CognitoIdpBackend,
    session: str,
    client_id: str,
    challenge_name: str,
    challenge_responses: dict[str, str],
) -> dict[str, Any]:
    handlers = {
        "PASSWORD_VERIFIER": _answer_password_verifier,
        "NEW_PASSWORD_REQUIRED": _answer_new_password,
        "SOFTWARE_TOKEN_MFA": _answer_totp,
        "SMS_MFA": _answer_sms,
        "MFA_SETUP": _answer_mfa_setup,
        "SELECT_MFA_TYPE": _answer_select_mfa,
    }
    handler = handlers.get(challenge_name)
    if handler is None:
        return _ORIGINAL["CognitoIdpBackend.respond_to_auth_challenge"](
            self, session, client_id, challenge_name, challenge_responses
        )
    responses = dict(challenge_responses or {})
    state = current()
    if challenge_name == "PASSWORD_VERIFIER":
        block = responses.get("PASSWORD_CLAIM_SECRET_BLOCK", "")
        session = state.srp_blocks.get(block) or session
    auth = _live_session(state, session, challenge_name, client_id)
    pool, client = _pool_and_client(self, client_id)
    user = pool._get_user(auth.username)
    if user is None:
        state.close_session(session)
        raise idp.UserNotFoundError("User does not exist.")
    named = responses.get("USERNAME")
    if named and pool._get_user(named) is not user:
        raise _not_authorized(WRONG_PASSWORD)
    _check_secret_hash(client, responses.get("SECRET_HASH"), [named or "", user.username])
    return handler(_Answer(self, state, session, auth, pool, client, user, responses))


def _live_session(
    state: EmulatorState, session_id: str | None, challenge: str, client_id: str | None
) -> AuthSession:
    """The unexpired sign-in ``session_id`` awaiting ``challenge`` (from ``client_id``, if given)."""
    auth = state.sessions.get(session_id or "")
    if auth is None or auth.challenge != challenge or client_id not in (None, auth.client_id):
        raise _not_authorized("Invalid session for the user.")
    if state.now() >= auth.expires_at:
        state.close_session(session_id or "")
        raise _not_authorized("Invalid session for the user, session is expired.")
    return auth


@dataclass(frozen=True)
class _Answer:
    """One RespondToAuthChallenge call, checked against the live sign-in session it answers."""

    backend: Any
    state: EmulatorState
    session_id: str
    auth: AuthSession
    pool: Any
    client: Any
    user: Any
    responses: dict[str, str]

    def finish(self) -> None:
        """Close the sign-in session: it takes no second answer."""
        self.state.close_session(self.session_id)
        self.backend.sessions.pop(self.session_id, None)

    def signed_in(self) -> dict[str, Any]:
        self.finish()
        return self.backend._log_user_in(self.pool, self.client, self.user.username)


def _answer_password_verifier(a: _Answer) -> dict[str, Any]:
    _check_may_try_password(a.state, a.pool, a.user)
    assert a.auth.srp is not None
    signature_ok = srp.verify_password_claim(
        a.auth.srp, a.responses.get("TIMESTAMP", ""), a.responses.get("PASSWORD_CLAIM_SIGNATURE", "")
    )
    a.finish()
    if not signature_ok:
        _password_failed(a.state, a.pool, a.user)
    a.state.password_ok((a.pool.id, a.user.username))
    return _after_password(a.backend, a.state, a.pool, a.client, a.user)


def _answer_new_password(a: _Answer) -> dict[str, Any]:
    new_password = _required(a.responses, "NEW_PASSWORD")
    a.backend._validate_password(a.pool.id, new_password)
    a.user.password = new_password
    a.user.status = UserStatus.CONFIRMED
    a.finish()
    return _mfa_or_tokens(a.backend, a.state, a.pool, a.client, a.user)


def _answer_totp(a: _Answer) -> dict[str, Any]:
    code = _required(a.responses, "SOFTWARE_TOKEN_MFA_CODE")
    secret = a.state.totp_secrets.get((a.pool.id, a.user.username))
    if secret is None or not srp.totp_matches(secret, code, a.state.now()):
        raise _error("CodeMismatchException", "Invalid code received for user")
    return a.signed_in()


def _answer_sms(a: _Answer) -> dict[str, Any]:
    code = _required(a.responses, "SMS_MFA_CODE")
    if not a.auth.sms_code or not secrets.compare_digest(a.auth.sms_code, code.strip()):
        raise _error("CodeMismatchException", "Invalid code or auth state for the user.")
    return a.signed_in()


def _answer_mfa_setup(a: _Answer) -> dict[str, Any]:
    if not a.auth.mfa_setup_done:
        raise idp.InvalidParameterException(
            "MFA setup is not complete: call AssociateSoftwareToken and VerifySoftwareToken first."
        )
    return a.signed_in()


def _answer_select_mfa(a: _Answer) -> dict[str, Any]:
    answer = _required(a.responses, "ANSWER")
    if answer not in _enabled_mfa(a.state, a.pool, a.user):
        raise idp.InvalidParameterException(f"{answer} is not an MFA type set up for the user")
    a.finish()
    return _mfa_challenge(a.backend, a.state, a.pool, a.client, a.user, answer)


# ---------------------------------------------------------------------------------------------
# TOTP registration


def _totp_target(
    backend: idp.CognitoIdpBackend, state: EmulatorState, access_token: str, session_id: str
) -> tuple[Any, Any, AuthSession | None]:
    """(pool, user, MFA_SETUP session or None) for an access token or a sign-in session."""
    if session_id:
        auth = _live_session(state, session_id, "MFA_SETUP", None)
        pool = backend.describe_user_pool(auth.pool_id)
        return pool, backend.admin_get_user(pool.id, auth.username), auth
    for pool in backend.user_pools.values():
        if access_token and access_token in pool.access_tokens:
            if state.now() >= float(_claims(access_token).get("exp", 0)):
                raise _not_authorized("Access Token has expired")
            _, username = pool.access_tokens[access_token]
            return pool, backend.admin_get_user(pool.id, username), None
    raise _not_authorized("Invalid Access Token")


def _associate_software_token(self: idp.CognitoIdpBackend, access_token: str, session: str) -> dict[str, str]:
    state = current()
    pool, user, auth = _totp_target(self, state, access_token, session)
    secret = srp.new_totp_secret()
    with state.lock:
        state.pending_totp[(pool.id, user.username)] = secret
    return {"SecretCode": secret, "Session": session} if auth else {"SecretCode": secret}


def _verify_software_token(
    self: idp.CognitoIdpBackend,
    access_token: str,
    session: str,
    user_code: str,
    friendly_device_name: str,
) -> dict[str, str]:
    state = current()
    pool, user, auth = _totp_target(self, state, access_token, session)
    key = (pool.id, user.username)
    secret = state.pending_totp.get(key)
    if secret is None or not srp.totp_matches(secret, user_code or "", state.now()):
        raise _error("EnableSoftwareTokenMFAException", "Code mismatch and fail enable Software Token MFA")
    with state.lock:
        state.totp_secrets[key] = state.pending_totp.pop(key)
    user.token_verified = True
    if auth is None:
        return {"Status": "SUCCESS"}
    user.software_token_mfa_enabled = True
    user.preferred_mfa_setting = "SOFTWARE_TOKEN_MFA"
    auth.mfa_setup_done = True
    return {"Status": "SUCCESS", "Session": session}


# ---------------------------------------------------------------------------------------------
# Refresh: REFRESH_TOKEN_AUTH, GetTokensFromRefreshToken, RevokeToken


def _rotation_enabled(client: Any) -> bool:
    rotation = client.extended_config.get("RefreshTokenRotation") or {}
    return rotation.get("Feature") == "ENABLED"


def _redeem_refresh_token(state: EmulatorState, pool: Any, client: Any, token: str) -> Any:
    """The user a refresh token may still renew; NotAuthorized/PasswordResetRequired if none."""
    if token in state.rotated:
        raise _error("RefreshTokenReuseException", "Refresh token has been rotated and reused.")
    if token not in pool.refresh_tokens:
        raise _not_authorized("Invalid Refresh Token")
    entry = pool.refresh_tokens[token]
    if entry is None:
        raise _not_authorized("Refresh Token has been revoked")
    client_id, username, _ = entry
    if client_id != client.id:
        raise _not_authorized("Invalid Refresh Token")
    meta = state.refresh.get(token)
    if meta is not None and state.now() >= meta.expires_at:
        raise _not_authorized("Refresh Token has expired")
    user = pool._get_user(username)
    if user is None or (meta is not None and meta.sub and user.id != meta.sub):
        raise _not_authorized("Refresh Token has been revoked")
    if not user.enabled:
        raise _not_authorized("User is disabled.")
    if user.status == UserStatus.RESET_REQUIRED:
        raise _error("PasswordResetRequiredException", "Password reset required for the user")
    return user


def _refresh_token_auth(
    backend: idp.CognitoIdpBackend, pool: Any, client: Any, params: dict[str, str]
) -> dict[str, Any]:
    token = _required(params, "REFRESH_TOKEN")
    if _rotation_enabled(client):
        raise idp.InvalidParameterException(
            "REFRESH_TOKEN_AUTH is not allowed for an app client with refresh token rotation; "
            "use GetTokensFromRefreshToken."
        )
    state = current()
    entry = pool.refresh_tokens.get(token)
    if entry:  # SECRET_HASH is computed from the username Cognito knows, never an alias
        _check_secret_hash(client, params.get("SECRET_HASH"), [entry[1]])
    _redeem_refresh_token(state, pool, client, token)
    access_token, id_token, expires_in = pool.create_tokens_from_refresh_token(token)
    result = {
        "IdToken": id_token,
        "AccessToken": access_token,
        "ExpiresIn": expires_in,
        "TokenType": "Bearer",
    }
    return {"ChallengeParameters": {}, "AuthenticationResult": result}


def _client_anywhere(client_id: str) -> tuple[Any, Any]:
    for backend in _all_idp_backends():
        for pool in backend.user_pools.values():
            if client_id in pool.clients:
                return pool, pool.clients[client_id]
    raise idp.ResourceNotFoundError(client_id)


def _check_client_secret(client: Any, given: str | None) -> None:
    if client.generate_secret and not secrets.compare_digest(client.secret, given or ""):
        raise _not_authorized(
            f"Client {client.id} is configured with secret but secret was not received or is invalid"
        )


def _get_tokens_from_refresh(self: CognitoIdpResponse) -> ActionResult:
    """GetTokensFromRefreshToken, with refresh-token rotation when the client enables it."""
    pool, client = _client_anywhere(self._get_param("ClientId"))
    _check_client_secret(client, self._get_param("ClientSecret"))
    token = self._get_param("RefreshToken") or ""
    state = current()
    user = _redeem_refresh_token(state, pool, client, token)
    if _rotation_enabled(client):
        old_origin = pool.refresh_tokens[token][2]
        new_token, new_origin = pool.create_refresh_token(client.id, user.username)
        with state.lock:
            state.auth_times[new_origin] = state.auth_times.get(old_origin, int(state.now()))
            state.rotated.add(token)
            del pool.refresh_tokens[token]
        token = new_token
    access_token, id_token, expires_in = pool.create_tokens_from_refresh_token(token)
    result = {
        "IdToken": id_token,
        "AccessToken": access_token,
        "ExpiresIn": expires_in,
        "TokenType": "Bearer",
    }
    if _rotation_enabled(client):
        result["RefreshToken"] = token
    return ActionResult({"AuthenticationResult": result})


def _revoke_token(self: CognitoIdpResponse) -> ActionResult:
    """RevokeToken: the refresh token and the access tokens issued from it stop working."""
    pool, client = _client_anywhere(self._get_param("ClientId"))
    _check_client_secret(client, self._get_param("ClientSecret"))
    token = self._get_param("Token") or ""
    if _claims(token):
        raise _error("UnsupportedTokenTypeException", "Only refresh tokens can be revoked.")
    entry = pool.refresh_tokens.get(token)
    if entry is not None:
        if entry[0] != client.id:
            raise _not_authorized("Invalid Refresh Token")
        pool.refresh_tokens[token] = None
        origin = entry[2]
        for access_token in list(pool.access_tokens):
            if _claims(access_token).get("origin_jti") == origin:
                pool.access_tokens.pop(access_token, None)
    return ActionResult({})


# ---------------------------------------------------------------------------------------------
# Identity pools: GetId, GetCredentialsForIdentity


def _identity_pool(identity_pool_id: str) -> tuple[Any, Any]:
    for per_account in identity_models.cognitoidentity_backends.values():
        for backend in per_account.values():
            if identity_pool_id in backend.identity_pools:
                return backend, backend.identity_pools[identity_pool_id]
    raise _error("ResourceNotFoundException", f"IdentityPool '{identity_pool_id}' not found.")


def _verify_login(pool: Any, logins: dict[str, str], state: EmulatorState) -> tuple[str, str]:
    """(provider, sub) of the one valid Cognito ID token in ``logins``; NotAuthorized otherwise."""
    providers = {p.get("ProviderName"): p.get("ClientId") for p in pool.cognito_identity_providers or []}
    if len(logins) != 1:
        raise _not_authorized("Invalid login token. Exactly one login is supported here.")
    ((provider, token),) = logins.items()
    if provider not in providers:
        raise _not_authorized("Token is not from a supported provider of this identity pool.")
    claims = _verified_id_token(provider, token)
    if providers[provider] and claims.get("aud") != providers[provider]:
        raise _not_authorized("Invalid login token. Incorrect token audience.")
    now = state.now()
    if now >= float(claims.get("exp", 0)):
        raise _not_authorized(f"Invalid login token. Token expired: {int(now)} >= {claims.get('exp')}")
    return provider, str(claims["sub"])


def _verified_id_token(provider: str, token: str) -> dict[str, Any]:
    match = re.fullmatch(r"cognito-idp\.([a-z0-9-]+)\.amazonaws\.com/([\w-]+)", provider)
    user_pool = _find_pool(match.group(2)) if match else None
    if user_pool is None:
        raise _not_authorized("Invalid login token. Issuer doesn't match providerName")
    try:
        decoded = jose_jwt.decode(token, user_pool.json_web_key, algorithms=["RS256"])
    except (JoseError, ValueError, TypeError):
        raise _not_authorized("Invalid login token. Not a valid OpenId Connect identity token.") from None
    claims = dict(decoded.claims)
    if claims.get("iss") != f"https://{provider}":
        raise _not_authorized("Invalid login token. Issuer doesn't match providerName")
    if claims.get("token_use") != "id" or "sub" not in claims:
        raise _not_authorized("Invalid login token. Not a valid OpenId Connect identity token.")
    return claims


def _new_identity(backend: Any, identity_pool_id: str, identity: Identity, state: EmulatorState) -> str:
    identity_id = f"{identity_pool_id.split(':')[0]}:{uuid.uuid4()}"
    with state.lock:
        state.identities[identity_id] = identity
        if identity.sub is not None:
            state.identity_ids[(identity_pool_id, str(identity.provider), identity.sub)] = identity_id
    backend.pools_identities[identity_pool_id]["Identities"].append({"IdentityId": identity_id})
    return identity_id


def _get_id(self: CognitoIdentityResponse) -> str:
    """GetId: one stable identity per (identity pool, user); guests only where allowed."""
    identity_pool_id = self._get_param("IdentityPoolId")
    backend, pool = _identity_pool(identity_pool_id)
    logins = self._get_param("Logins") or {}
    state = current()
    if not logins:
        if not pool.allow_unauthenticated_identities:
            raise _not_authorized("Unauthenticated access is not supported for this identity pool.")
        guest_id = _new_identity(backend, identity_pool_id, Identity(identity_pool_id, None, None), state)
        return json.dumps({"IdentityId": guest_id})
    provider, sub = _verify_login(pool, logins, state)
    identity_id = state.identity_ids.get((identity_pool_id, provider, sub))
    if identity_id is None:
        identity_id = _new_identity(
            backend, identity_pool_id, Identity(identity_pool_id, provider, sub), state
        )
    return json.dumps({"IdentityId": identity_id})


_LOGINS_DONT_MATCH = (
    "Logins don't match. Please include at least one valid login for this identity or identity pool."
)


def _get_credentials(self: CognitoIdentityResponse) -> str:
    """GetCredentialsForIdentity: fresh ASIA... credentials for the pool's lifetime, per call."""
    identity_id = self._get_param("IdentityId") or ""
    state = current()
    identity = state.identities.get(identity_id)
    if identity is None:
        raise _error("ResourceNotFoundException", f"Identity '{identity_id}' not found.")
    _, pool = _identity_pool(identity.identity_pool_id)
    logins = self._get_param("Logins") or {}
    if identity.sub is None:
        if not pool.allow_unauthenticated_identities:
            raise _not_authorized("Unauthenticated access is not supported for this identity pool.")
    else:
        if not logins:
            raise _not_authorized(_LOGINS_DONT_MATCH)
        if _verify_login(pool, logins, state) != (identity.provider, identity.sub):
            raise _not_authorized(_LOGINS_DONT_MATCH)
    lifetime = state.credentials_lifetime.get(identity.identity_pool_id, 3600)
    credentials = _new_credentials(state.now() + lifetime)
    state.vended.add(credentials["AccessKeyId"], credentials["SessionToken"], credentials["Expiration"])
    return json.dumps({"IdentityId": identity_id, "Credentials": credentials})


def _new_credentials(expiration: float) -> dict[str, Any]:
    alphabet = string.ascii_uppercase + "234567"
    return {
        "AccessKeyId": "ASIA" + "".join(secrets.choice(alphabet) for _ in range(16)),
        "SecretKey": base64.b64encode(secrets.token_bytes(30)).decode(),
        "SessionToken": base64.b64encode(secrets.token_bytes(180)).decode(),
        "Expiration": expiration,
    }


# ---------------------------------------------------------------------------------------------
# STS


def _assume_role_with_web_identity(self: Any, **kwargs: Any) -> Any:
    """moto's AssumeRoleWithWebIdentity, with the expiry on the emulator clock."""
    role = _ORIGINAL["STSBackend.assume_role_with_web_identity"](self, **kwargs)
    state = current()
    expires = state.now() + int(kwargs.get("duration") or 3600)
    role.expiration = dt.datetime.fromtimestamp(expires, tz=dt.timezone.utc).replace(tzinfo=None)
    state.vended.add(role.access_key_id, role.session_token, expires)
    return role
