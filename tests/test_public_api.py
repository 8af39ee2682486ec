"""The public face: what ``import nb_cognito`` offers, shaped as Amplify Auth, and nothing more.

``dir(nb_cognito)`` is the API; every error a public call raises can be caught by its exported
name; the module functions return what the session's methods return; ``listen`` is
Amplify's ``Hub.listen``; plumbing is not on the session's public face.
"""

from __future__ import annotations

import inspect

import pytest
from helpers import PASSWORD

import nb_cognito
from nb_cognito import exceptions, kernel
from nb_cognito.auth.session import CognitoSession
from nb_cognito.models import AuthEvent, SignOutResult

AMPLIFY_FUNCTIONS = {  # Amplify Auth (v6) -> nb_cognito
    "signIn": "sign_in",
    "confirmSignIn": "confirm_sign_in",
    "signInWithRedirect": "sign_in_with_redirect",
    "signOut": "sign_out",
    "fetchAuthSession": "fetch_auth_session",
    "getCurrentUser": "get_current_user",
    "rememberDevice": "remember_device",
    "forgetDevice": "forget_device",
    "Hub.listen": "listen",
}


@pytest.fixture
def kernel_session(new_session):
    session = new_session()
    previous = kernel.use_kernel_session(session)
    yield session
    kernel.use_kernel_session(previous)


def test_dir_lists_the_api_and_nothing_else():
    listed = dir(nb_cognito)
    assert listed == sorted({*nb_cognito.__all__, "__version__"})
    for plumbing in ("importlib", "TYPE_CHECKING", "annotations", "Any", "Callable", "_LAZY", "_session"):
        assert plumbing not in listed
    for name in nb_cognito.__all__:
        assert getattr(nb_cognito, name) is not None, name
    assert set(AMPLIFY_FUNCTIONS.values()) <= set(listed)


def test_every_error_a_public_call_raises_is_exported():
    errors = {
        name
        for name, value in vars(exceptions).items()
        if inspect.isclass(value) and issubclass(value, exceptions.AuthError) and not name.startswith("_")
    }
    assert {"InvalidParameterError", "InvalidPasswordError", "TokenValidationError"} <= errors
    assert "UnsupportedOperationError" in errors
    missing = errors - set(nb_cognito.__all__)
    assert missing == set(), f"raised by public calls but not exported: {sorted(missing)}"
    for name in errors:
        assert getattr(nb_cognito, name) is getattr(exceptions, name)


def test_cognito_session_is_a_type_not_a_listed_constructor():
    """``nb_cognito.session`` is the session; another is made by ``kernel.make_session()``,
    which wires the integrations. The class still resolves (annotations, isinstance)."""
    assert "CognitoSession" not in dir(nb_cognito)
    assert "CognitoSession" not in nb_cognito.__all__
    assert nb_cognito.CognitoSession is CognitoSession
    from nb_cognito import CognitoSession as imported  # an existing import keeps working

    assert imported is CognitoSession


def test_plumbing_is_not_on_the_sessions_public_face():
    public = {name for name in dir(CognitoSession) if not name.startswith("_")}
    for plumbing in ("after_fork_in_child", "resume_sign_in", "clients", "add_integration"):
        assert plumbing not in public, plumbing
    assert {"sign_in", "sign_out", "fetch_auth_session", "on", "status", "describe"} <= public


def test_sign_out_returns_its_result(kernel_session):
    nb_cognito.sign_in("alice", PASSWORD)
    result = nb_cognito.sign_out(global_sign_out=True)
    assert isinstance(result, SignOutResult)
    assert result.global_sign_out_error is None and result.revoke_token_error is None
    assert not kernel_session.is_signed_in


def test_listen_is_hub_listen_with_an_unsubscribe(kernel_session):
    seen: list[tuple[str, str]] = []
    stop = nb_cognito.listen("signedIn", lambda p: seen.append(("signedIn", p.event.value)))
    stop_all = nb_cognito.listen("auth", lambda p: seen.append(("auth", p.event.value)))
    stop_out = nb_cognito.listen(AuthEvent.SIGNED_OUT, lambda p: seen.append(("signedOut", p.user.username)))

    nb_cognito.sign_in("alice", PASSWORD)
    nb_cognito.sign_out()
    assert ("signedIn", "signedIn") in seen and ("auth", "signedIn") in seen
    assert ("auth", "signedOut") in seen and ("signedOut", "alice") in seen

    for unsubscribe in (stop, stop_all, stop_out):
        unsubscribe()
    seen.clear()
    nb_cognito.sign_in("alice", PASSWORD)
    nb_cognito.sign_out()
    assert seen == []


def test_listen_names_the_events_when_one_is_unknown(kernel_session):
    with pytest.raises(exceptions.InvalidParameterError) as caught:
        nb_cognito.listen("signed_in", print)
    assert "signed_in" in str(caught.value) and "signedIn" in caught.value.recovery_suggestion
    with pytest.raises(ValueError):  # InvalidParameterError is also a ValueError
        nb_cognito.listen("nope", print)


def test_describe_is_a_frozen_secret_free_view_of_the_refresh_machinery(new_session, clock):
    from dataclasses import FrozenInstanceError

    from nb_cognito.auth.state import Freshness

    session = new_session()
    view = session.describe()
    assert not view.signed_in and view.freshness is None and view.state is None
    assert not view.in_flight and not view.background_running and view.locks_free

    session.sign_in("alice", PASSWORD)
    view = session.describe()
    tokens = session.fetch_auth_session().user_pool_tokens_result.unwrap()
    assert view.signed_in and view.freshness is Freshness.FRESH
    assert view.token_expiry == tokens.expiration and view.state.tokens == tokens
    assert view.credentials_expiry == session.current_credentials().expiration
    assert abs(view.skew) < 5 and view.pending_step is None
    with pytest.raises(FrozenInstanceError):
        view.signed_in = False  # type: ignore[misc]
    for secret in (tokens.id_token, tokens.access_token, tokens.refresh_token):
        assert secret not in repr(view)
    assert session.describe().snapshot is not None  # fetch_auth_session cached one

    clock.advance((tokens.expiration.timestamp() - clock.time()) - 100)  # inside the mandatory lead
    assert session.describe().freshness is Freshness.MANDATORY
    session.sign_out()
    assert not session.describe().signed_in and session.describe().snapshot is None


def test_describe_shows_the_pending_step(make_local, make_session):
    from nb_cognito.local import LocalSpec, UserSpec
    from nb_cognito.models import SignInStep

    local = make_local(LocalSpec(users=(UserSpec("carol", "Temp-Passw0rd!", must_change_password=True),)))
    session = make_session(local.settings.as_config())
    session.sign_in("carol", "Temp-Passw0rd!")
    view = session.describe()
    assert view.pending_step is SignInStep.CONFIRM_SIGN_IN_WITH_NEW_PASSWORD
    assert view.pending is not None and not view.signed_in
    assert "Temp-Passw0rd!" not in repr(view)
