"""Canary secrets never leak: not in reprs, messages, tracebacks, log records or the output.

The user's password is a canary, a wrong password is another, and every token and every
credential the emulator issues is one too (the ``issued`` fixture records them at the source).
A whole session runs with logging at DEBUG everywhere (root, ``botocore.*``, ``urllib3``,
``nb_cognito``): sign-in (SRP and USER_PASSWORD_AUTH, whose request body holds the password),
refreshes in the foreground and in the background, faults, garbage from the server, the
user's own S3 call signed with our credentials, a revoked session, sign-out. Then every public
object's ``repr``/``str``/``_repr_html_``, every error (``str``, ``repr``, the recovery
suggestion, ``traceback.format_exception`` with its chained causes) and every log record is
searched for every canary.
"""

from __future__ import annotations

import logging
import secrets as random_secrets
import traceback

import pytest
from helpers import Events, wait_until

from nb_cognito import exceptions as errors
from nb_cognito.local import FaultMode, LocalSpec, UserSpec
from nb_cognito.models import AuthEvent

LOGGERS = ("", "botocore", "boto3", "urllib3", "nb_cognito", "s3transfer")


def public_texts(value) -> list[str]:
    texts = [repr(value), str(value)]
    html = getattr(value, "_repr_html_", None)
    if callable(html):
        texts.append(html())
    return texts


def error_texts(error: BaseException) -> list[str]:
    texts = [str(error), repr(error), "".join(traceback.format_exception(error))]
    texts.append(str(getattr(error, "recovery_suggestion", "")))
    cause = error.__cause__ or error.__context__
    while cause is not None:  # chained causes, even the suppressed context
        texts += [str(cause), repr(cause)]
        cause = cause.__cause__ or cause.__context__
    return texts


@pytest.mark.parametrize("flow", ["USER_SRP_AUTH", "USER_PASSWORD_AUTH"])
def test_canary_password_tokens_and_keys_never_leak(
    issued, local, make_local, make_session, fault_proxy, clock, caplog, capsys, flow
):
    canary = f"Canary-{random_secrets.token_hex(8)}-Pw1!"
    wrong = f"Wrong-{random_secrets.token_hex(8)}-Pw1!"
    local = make_local(LocalSpec(users=(UserSpec("alice", canary),), buckets={"leak-test": {"k": b"v"}}))
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    session = make_session(
        {**local.settings.as_config(), "endpoint_url": fault_proxy.url, "auth_flow": flow},
        auto_refresh=True,
    )
    events = Events(session, *AuthEvent)
    shown: list[str] = []
    raised: list[BaseException] = []
    tokens_seen: set[str] = set()

    def harvest() -> None:
        state = session.describe().state
        if getattr(state, "tokens", None) is not None:
            tokens_seen.update((state.tokens.id_token, state.tokens.access_token, state.tokens.refresh_token))
        shown.extend(public_texts(session) + public_texts(session.status()) + [repr(session.status().rows())])
        if session.describe().snapshot is not None:
            shown.extend(public_texts(session.describe().snapshot))

    def expect_error(call) -> None:
        try:
            call()
        except errors.AuthError as error:
            raised.append(error)
        else:  # pragma: no cover - every call here must fail
            raise AssertionError(f"{call} did not fail")

    # A wrong password, then the canary itself.
    expect_error(lambda: session.sign_in("alice", wrong))
    result = session.sign_in("alice", canary)
    shown += public_texts(result) + public_texts(result.next_step)
    harvest()

    auth = session.fetch_auth_session(force_refresh=True)
    shown += public_texts(auth) + [
        repr(getattr(auth, f))
        for f in (
            "user_sub_result",
            "identity_id_result",
            "aws_credentials_result",
            "user_pool_tokens_result",
        )
    ]
    shown += public_texts(auth.user_pool_tokens_result.value) + public_texts(
        auth.aws_credentials_result.value
    )
    shown += (
        public_texts(session.get_current_user())
        + public_texts(session.settings)
        + [session.settings.describe()]
    )
    shown += public_texts(session.config)
    harvest()

    # The user's own S3 call, signed with our credentials (botocore logs its signing at DEBUG).
    boto3_session = session.boto3_session()
    creds = boto3_session.get_credentials()
    shown += public_texts(creds) + public_texts(boto3_session)
    s3 = boto3_session.client("s3", endpoint_url=local.settings.endpoint_url)
    assert s3.list_objects_v2(Bucket="leak-test")["KeyCount"] == 1

    # A background refresh, then a fault while everything has expired.
    refreshed = events.count(AuthEvent.TOKEN_REFRESH)
    clock.advance(56 * 60)
    assert events.wait(AuthEvent.TOKEN_REFRESH, refreshed + 1)
    assert wait_until(lambda: not session.describe().in_flight)
    harvest()
    session.close()
    fault_proxy.inject("throttle", target="GetTokensFromRefreshToken", times=None)
    clock.advance(56 * 60)
    session.current_credentials()  # advisory: logged as a warning, the old ones are used
    clock.advance(4 * 60 + 5)
    expect_error(session.current_credentials)
    fault_proxy.clear()

    # Garbage from the server: credentials without a session token, then an ID token whose
    # signature does not match (PyJWT's error is chained under ours).
    with local.faults.mode(FaultMode.CREDENTIALS_WITHOUT_SESSION_TOKEN):
        expect_error(session.current_credentials)
    harvest()

    clock.advance(60 * 60 + 5)
    with local.faults.mode(FaultMode.TOKENS_BAD_SIGNATURE):
        expect_error(session.current_credentials)

    # Revoked elsewhere: the session ends. Then a new sign-in and a global sign-out.
    local.users.global_sign_out("alice")
    expect_error(session.current_credentials)
    harvest()
    session.sign_in("alice", canary)
    harvest()
    shown += public_texts(session.sign_out(global_sign_out=True))
    harvest()
    expect_error(session.current_credentials)

    for payloads in events.payloads.values():
        for payload in payloads:
            shown.append(repr(payload))
            if payload.error is not None:
                shown += error_texts(payload.error)
    for error in raised:
        shown += error_texts(error)
    assert {type(e) for e in raised} >= {
        errors.NotAuthorizedError,
        errors.ServiceUnavailableError,
        errors.TokenValidationError,
        errors.SessionExpiredError,
        errors.SignedOutError,
    }
    assert any(isinstance(e, errors.AuthError) and e.__cause__ is not None for e in raised), "a chained cause"

    records = caplog.records
    assert {r.name.split(".")[0] for r in records} >= {"botocore", "urllib3", "nb_cognito"}, "DEBUG was on"
    assert {r.levelno for r in records} >= {logging.DEBUG, logging.WARNING}
    logged = [caplog.text] + [r.getMessage() for r in records] + [str(r.msg) + repr(r.args) for r in records]
    logged += [r.exc_text or "" for r in records]
    output = capsys.readouterr()

    canaries = {"password": canary, "wrong password": wrong}
    canaries.update({f"token {i}": token for i, token in enumerate(sorted(tokens_seen))})
    for i, (_, secret, token) in enumerate(sorted(issued)):
        canaries[f"secret key {i}"] = secret
        canaries[f"session token {i}"] = token
    assert len(tokens_seen) >= 7 and len(issued) >= 3
    everything = "\n".join(shown + logged + [output.out, output.err])
    leaked = sorted(name for name, secret in canaries.items() if secret in everything)
    assert not leaked, f"leaked: {leaked}"
