"""The hosted UI's sign-in page: checking an authorize request, the password form, and why a
password login fails (the message the page shows).

Plain functions of the request and moto's pool and user, so :mod:`.hosted_ui` keeps only the
routes and the codes and browser sessions it hands out.
"""

from __future__ import annotations

import html
import secrets
from typing import Any

from moto.cognitoidp import models as idp
from werkzeug.wrappers import Response

from .oauth_wire import PKCE_ALPHABET, AuthorizeRequest, OAuthError, find_client, page
from .state import EmulatorState

__all__ = ["login_form", "parse_authorize", "password_problem"]


def parse_authorize(args: Any) -> AuthorizeRequest:
    """Check an authorize request; OAuthError (shown as a page, never redirected) if bad."""
    found = find_client(args.get("client_id") or "")
    if found is None:
        raise OAuthError("invalid_request", "The client_id is not an app client of any user pool.")
    _, pool, client = found
    redirect_uri = args.get("redirect_uri") or ""
    if redirect_uri not in (client.extended_config.get("CallbackURLs") or []):
        raise OAuthError(
            "redirect_mismatch", "The redirect_uri is not one of the app client's callback URLs."
        )
    if args.get("response_type") != "code":
        raise OAuthError("unsupported_response_type", "Only response_type=code is supported.")
    config = client.extended_config
    if "code" not in (config.get("AllowedOAuthFlows") or []) or not config.get(
        "AllowedOAuthFlowsUserPoolClient"
    ):
        raise OAuthError("unauthorized_client", "The app client does not allow the code grant.")
    scopes = tuple((args.get("scope") or "").split()) or tuple(config.get("AllowedOAuthScopes") or ())
    if not set(scopes) <= set(config.get("AllowedOAuthScopes") or ()):
        raise OAuthError("invalid_scope", "A requested scope is not allowed for the app client.")
    challenge = args.get("code_challenge")
    method = args.get("code_challenge_method")
    if challenge is not None or method is not None:
        if method != "S256":
            raise OAuthError("invalid_request", "code_challenge_method must be S256.")
        if not challenge or len(challenge) != 43 or not set(challenge) <= PKCE_ALPHABET:
            raise OAuthError("invalid_request", "The code_challenge is not a base64url SHA-256.")
    return AuthorizeRequest(
        pool_id=pool.id,
        client_id=client.id,
        redirect_uri=redirect_uri,
        scopes=scopes,
        state=args.get("state"),
        nonce=args.get("nonce"),
        code_challenge=challenge,
    )


def password_problem(state: EmulatorState, pool: Any, user: Any, password: str) -> str | None:
    """Why the login fails (the message the hosted page shows), or None."""
    if user is None or user.status == "EXTERNAL_PROVIDER":
        return "Incorrect username or password."
    key = (pool.id, user.username)
    if not user.enabled:
        return "User is disabled."
    if state.locked_out(key):
        return "Password attempts exceeded"
    if not secrets.compare_digest((user.password or "").encode(), password.encode()):
        state.password_failed(key)
        return "Incorrect username or password."
    state.password_ok(key)
    if user.status != idp.UserStatus.CONFIRMED:
        return f"This user's status is {user.status}; the emulator's hosted UI signs in confirmed users only."
    if user.software_token_mfa_enabled or user.sms_mfa_enabled:
        return "This user has MFA; the emulator's hosted UI does not ask for MFA codes."
    return None


def login_form(auth: AuthorizeRequest, problem: str | None = None, status: int = 200) -> Response:
    hidden = "".join(
        f"<input type='hidden' name='{html.escape(k)}' value='{html.escape(v)}'>"
        for k, v in auth.query().items()
    )
    error = f"<p id='error'>{html.escape(problem)}</p>" if problem else ""
    body = (
        f"{error}<form method='post' action='/login'>{hidden}"
        "<label>Username <input name='username' autocomplete='username'></label>"
        "<label>Password <input name='password' type='password' autocomplete='current-password'></label>"
        "<button type='submit'>Sign in</button></form>"
    )
    return page("Sign in", body, status)
