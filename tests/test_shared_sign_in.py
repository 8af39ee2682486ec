"""Several kernels of one user share one remembered sign-in, with refresh-token rotation.

A user opens several notebooks; each kernel resumes the same remembered session. With rotation
on, every refresh invalidates the refresh token the other kernels hold. Four real processes
(forked, each with its own session and clock) live through eight simulated hours in lockstep
with the emulator's clock, all refreshing when they must; not one loses its session.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from typing import Any

import pytest
from helpers import PASSWORD, counts

from nb_cognito import kernel
from nb_cognito.clock import ManualClock
from nb_cognito.integrations.remembered import RememberedSessions
from nb_cognito.local import ClientSpec, LocalSpec, default_test_spec

KERNELS = 4
HOURS = 8
STEP = 10 * 60  # simulated seconds per tick
REPLY_TIMEOUT = 30.0


def remembering_session(settings: dict[str, Any], clock: ManualClock):
    session = kernel.make_session(clock=clock, auto_refresh=False, integrations=[RememberedSessions()])
    session.configure(**settings, remember=True)
    return session


def kernel_process(settings: dict[str, Any], start: float, commands: Any, replies: Any) -> None:
    """One kernel: resume the remembered sign-in, then on every tick move its clock and use AWS."""
    clock = ManualClock(start)
    try:
        session = remembering_session(settings, clock)
        resumed = session.sign_in("alice")  # no password: the remembered sign-in
        replies.send(("resumed", resumed.is_signed_in))
        while True:
            command = commands.recv()
            if command is None:
                break
            clock.advance(command)
            auth = session.fetch_auth_session()
            ok = session.is_signed_in and auth.user_pool_tokens_result.is_success
            detail = "" if ok else repr(auth.user_pool_tokens_result.error)
            ok = ok and auth.aws_credentials_result.is_success
            replies.send(("tick", ok, detail or repr(auth.aws_credentials_result.error)))
        session.close()
    except BaseException as error:  # report, never hang the parent
        replies.send(("error", repr(error)))
    finally:
        replies.close()


@pytest.fixture
def rotating(make_local, monkeypatch, tmp_path):
    monkeypatch.setenv("NB_COGNITO_STORE_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("NB_COGNITO_KEYRING", "0")
    return make_local(
        LocalSpec(client=ClientSpec(refresh_token_rotation=True), users=default_test_spec().users)
    )


def test_four_kernels_share_one_rotating_sign_in_for_eight_hours_and_none_is_lost(rotating, clock):
    settings = rotating.settings.as_config()
    first = remembering_session(settings, clock)
    assert first.sign_in("alice", PASSWORD).is_signed_in
    first.close()  # the first kernel goes away; its sign-in stays remembered

    context = multiprocessing.get_context("fork")
    kernels = []
    for _ in range(KERNELS):
        commands, their_commands = context.Pipe()
        their_replies, replies = context.Pipe()
        process = context.Process(
            target=kernel_process, args=(settings, clock.time(), their_commands, replies), daemon=True
        )
        process.start()
        kernels.append((process, commands, their_replies))
    try:
        for _, _, replies in kernels:  # one at a time here: each resume rotates the token
            assert replies.poll(REPLY_TIMEOUT), "a kernel did not resume"
            assert replies.recv() == ("resumed", True)
        before = counts(rotating, "InitiateAuth", "GetTokensFromRefreshToken")
        lost = []
        for tick in range(HOURS * 3600 // STEP):
            clock.advance(STEP)  # the server's time
            for _, commands, _ in kernels:  # every kernel at once: they race for the refresh
                commands.send(STEP)
            for index, (_, _, replies) in enumerate(kernels):
                assert replies.poll(REPLY_TIMEOUT), f"kernel {index} hung at tick {tick}"
                reply = replies.recv()
                assert reply[0] == "tick", reply
                if not reply[1]:
                    lost.append((tick, index, reply[2]))
        assert lost == []
        after = counts(rotating, "InitiateAuth", "GetTokensFromRefreshToken")
        refreshes = sum(after) - sum(before)
        assert refreshes >= KERNELS * (HOURS - 1)  # every kernel really refreshed, hour after hour
    finally:
        for process, commands, _ in kernels:
            with contextlib.suppress(OSError):
                commands.send(None)
            process.join(10)
            if process.is_alive():
                process.kill()
