"""Sign-in failures: wrong passwords up to the lockout, and accounts that need an action first.

A wrong password is a clear ``NotAuthorizedError`` every time, is never retried on its own,
and reads exactly as an unknown user does. ``PasswordResetRequired`` and ``UserNotConfirmed``
give specific guidance and leave nothing behind: no state, no pending step, no identity id,
no remembered session, no password in the secret registry.
"""

from __future__ import annotations

import contextlib

import pytest
from helpers import PASSWORD, delta

from nb_cognito import exceptions as errors
from nb_cognito.auth import identity
from nb_cognito.auth.integration import Integration, TokenStore
from nb_cognito.local import LocalSpec, UserSpec
from nb_cognito.redaction import known_secrets

WRONG = "Wrong-Passw0rd-!1"
FLOWS = {"srp": "USER_SRP_AUTH", "password": "USER_PASSWORD_AUTH"}


def requests_per_attempt(flow: str) -> dict[str, int]:
    return {"InitiateAuth": 1, "RespondToAuthChallenge": 1 if flow == "srp" else 0}


class PersistRecorder(Integration, TokenStore):
    """Records every sign-in the session hands out to be saved."""

    def __init__(self) -> None:
        self.persisted: list[str] = []

    def session_changed(self, change) -> None:
        pass

    def save(self, saved) -> None:
        self.persisted.append(saved.reason)

    def lock(self, saved):
        return contextlib.nullcontext(None)

    def load(self, settings, username):
        return None

    def resumed(self, saved, error) -> None:
        pass


@pytest.mark.parametrize("flow", list(FLOWS))
def test_wrong_password_up_to_lockout_is_one_clear_error_each_time_never_retried(make_session, local, flow):
    session = make_session({**local.settings.as_config(), "auth_flow": FLOWS[flow]})
    expected = requests_per_attempt(flow)
    messages = []
    for attempt in range(1, 7):
        before = local.request_counts()
        with pytest.raises(errors.NotAuthorizedError) as known:
            session.sign_in("alice", WRONG)
        sent = dict(zip(expected, delta(local, before, *expected), strict=True))
        assert sent == expected, f"attempt {attempt}: an automatic retry"
        assert not known.value.retryable
        assert WRONG not in str(known.value) and WRONG not in repr(known.value)
        assert not session.is_signed_in and session.describe().pending is None
        messages.append(str(known.value))
        if attempt <= 5:  # before the lockout: exactly what an unknown user reads
            with pytest.raises(errors.NotAuthorizedError) as unknown:
                session.sign_in(f"nobody-{attempt}", WRONG)
            assert str(known.value) == str(unknown.value) == messages[0]
            assert type(known.value) is type(unknown.value)
    assert "Incorrect username or password" in messages[0]
    locked = messages[-1]
    assert "Password attempts exceeded" in locked and "Wait a few minutes" in locked
    for text in messages:
        lowered = text.lower()
        assert "not found" not in lowered and "does not exist" not in lowered and "unknown" not in lowered

    # The right password during the lockout is refused too, and the lock passes with time.
    with pytest.raises(errors.NotAuthorizedError, match="attempts exceeded"):
        session.sign_in("alice", PASSWORD)
    local.clock.advance(2)
    assert session.sign_in("alice", PASSWORD).is_signed_in


def _admin_confirm(local):
    local.admin().admin_confirm_sign_up(UserPoolId=local.settings.user_pool_id, Username="una")


ACCOUNT_STATES = {
    "password-reset-required": (
        lambda local: local.users.reset_password("alice"),
        "alice",
        errors.PasswordResetRequiredError,
        "Reset your password",
        lambda local: local.users.set_password("alice", PASSWORD),
    ),
    "user-not-confirmed": (
        lambda local: None,
        "una",
        errors.UserNotConfirmedError,
        "Confirm the account",
        _admin_confirm,
    ),
}


@pytest.mark.parametrize("flow", list(FLOWS))
@pytest.mark.parametrize("case", list(ACCOUNT_STATES))
def test_account_needing_action_gets_specific_guidance_and_caches_nothing(
    local, make_local, make_session, case, flow
):
    local = make_local(
        LocalSpec(
            users=(
                UserSpec("alice", PASSWORD, attributes={"email": "alice@example.com"}),
                UserSpec("una", PASSWORD, confirmed=False),
            )
        )
    )
    prepare, username, kind, guidance, fix = ACCOUNT_STATES[case]
    prepare(local)
    session = make_session({**local.settings.as_config(), "auth_flow": FLOWS[flow]})
    persisted = session.integrations.add(PersistRecorder()).persisted
    ids_before = dict(identity._identity_ids)
    before = local.request_counts()

    for _ in range(2):
        with pytest.raises(kind) as caught:
            session.sign_in(username, PASSWORD)
        assert guidance in str(caught.value) and guidance in caught.value.recovery_suggestion
        assert not caught.value.retryable
        assert PASSWORD not in str(caught.value)

    expected = requests_per_attempt(flow)
    assert dict(zip(expected, delta(local, before, *expected), strict=True)) == {
        action: 2 * count for action, count in expected.items()
    }, "an automatic retry"
    assert delta(local, before, "GetId", "GetCredentialsForIdentity") == (0, 0)
    assert (
        session.describe().state is None and session.describe().pending is None and not session.is_signed_in
    )
    assert not session.fetch_auth_session().is_signed_in
    assert persisted == [] and identity._identity_ids == ids_before
    assert PASSWORD not in known_secrets._values, "the password stays in the secret registry"
    assert session.status().last_error is None and not session.status().expired

    fix(local)
    assert session.sign_in(username, PASSWORD).is_signed_in
    assert persisted == ["sign_in"]
