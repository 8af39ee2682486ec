"""An expired ID token is never sent in ``Logins``: the user-pool tokens are refreshed first.

The emulator rejects an expired ID token in GetId/GetCredentialsForIdentity ("Invalid login
token. Token expired"), as Cognito does. Its server events record, in server order, every
token refresh and every ``Logins`` check with the token's ``exp`` and the server's "now".
"""

from __future__ import annotations

import threading

import pytest
from helpers import PASSWORD, Events, delta

from nb_cognito.local import ClientSpec, IdentityPoolSpec, LocalSpec, UserSpec
from nb_cognito.models import AuthEvent


@pytest.fixture
def server_log(emulator):
    """[("refresh", now) | ("login", now, exp, accepted)] in the order the server saw them."""
    log: list[tuple] = []
    lock = threading.Lock()

    def record(event):
        with lock:
            if event.kind == "refresh_requested":
                log.append(("refresh", event.at))
            elif event.kind == "login_checked":
                log.append(("login", event.at, event.expires, event.accepted))

    unsubscribe = emulator.subscribe(record)
    yield log
    unsubscribe()


def spec(token_validity: int, credentials_lifetime: int) -> LocalSpec:
    return LocalSpec(
        client=ClientSpec(access_token_validity=token_validity, id_token_validity=token_validity),
        identity_pool=IdentityPoolSpec(credentials_lifetime=credentials_lifetime),
        users=(UserSpec("alice", PASSWORD),),
    )


# (token lifetime, credentials lifetime, seconds to move on, how to ask, token refresh expected)
CASES = {
    "both-expired": (3600, 3600, 3605, "credentials", True),
    "tokens-long-expired-credentials-aging": (300, 3600, 56 * 60, "fetch", True),
    "tokens-expired-force-refresh": (300, 3600, 400, "force", True),
    "credentials-expired-token-nearly": (3600, 300, 3600 - 100, "credentials", True),
    "credentials-expired-token-fresh": (3600, 300, 305, "credentials", False),
    "background": (300, 300, 290, "background", True),
}


@pytest.mark.parametrize("case", list(CASES))
def test_an_expired_id_token_is_never_sent_in_logins(
    local, make_local, make_session, clock, server_log, case
):
    tokens_life, creds_life, move_on, ask, token_refresh = CASES[case]
    local = make_local(spec(tokens_life, creds_life))
    session = make_session(auto_refresh=ask == "background")
    session.sign_in("alice", PASSWORD)
    old_tokens = session.fetch_auth_session().user_pool_tokens_result.unwrap()
    server_log.clear()
    before = local.request_counts()

    if ask == "background":
        events = Events(session, AuthEvent.CREDENTIALS_REFRESH)
        clock.advance(move_on)
        assert events.wait(AuthEvent.CREDENTIALS_REFRESH)
        creds = session.current_credentials()
    else:
        clock.advance(move_on)
        if ask == "fetch":
            creds = session.fetch_auth_session().aws_credentials_result.unwrap()
        elif ask == "force":
            creds = session.fetch_auth_session(force_refresh=True).aws_credentials_result.unwrap()
        else:
            creds = session.current_credentials()

    assert creds.expiration.timestamp() > local.clock.time()
    logins = [entry for entry in server_log if entry[0] == "login"]
    assert logins, "the credentials came from the identity pool"
    assert all(accepted and exp > now for _, now, exp, accepted in logins), logins
    refreshes = [index for index, entry in enumerate(server_log) if entry[0] == "refresh"]
    if token_refresh:
        assert len(refreshes) == 1
        assert refreshes[0] < server_log.index(logins[0]), "the tokens are refreshed first"
        assert old_tokens.expiration.timestamp() - local.clock.time() < 300
    else:  # plenty of token life left: only the credentials are fetched
        assert refreshes == []
    assert delta(local, before, "GetCredentialsForIdentity", "GetId") == (1, 0)
