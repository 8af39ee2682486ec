"""Kernel life: exit, fork, and a session that is dropped.

* The background refresher never keeps the interpreter alive: a process that signs in with
  auto refresh and reaches its end exits at once, with code 0.
* A child forked from a kernel (multiprocessing's "fork" start method) does not believe it has
  a refresher thread or a refresh in flight, and can start its own.
* A session that is signed out, closed and dropped is garbage: nothing (such as a fork hook)
  keeps it, and the tokens it held, alive.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import subprocess
import sys
import textwrap
import threading
import time
import weakref

import pytest
from helpers import PASSWORD, Events, wait_until

from nb_cognito.auth.session import CognitoSession
from nb_cognito.models import AuthEvent

CHILD = textwrap.dedent(
    """
    import json, os, sys, threading, time
    from nb_cognito.auth.session import CognitoSession

    session = CognitoSession(auto_refresh=True)
    session.configure(**json.loads(os.environ["RELIABILITY_SETTINGS"]))
    session.sign_in("alice", os.environ["RELIABILITY_PASSWORD"])
    assert session.describe().background_running and session.status().auto_refresh
    names = sorted(t.name for t in threading.enumerate())
    print("READY", json.dumps(names), flush=True)
    # the end of the script: the interpreter must exit now, refresher or not
    """
)


def test_the_refresher_never_blocks_interpreter_exit(local):
    import json

    env = {
        **os.environ,
        "RELIABILITY_SETTINGS": json.dumps(local.settings.as_config()),
        "RELIABILITY_PASSWORD": PASSWORD,
    }
    process = subprocess.Popen(
        [sys.executable, "-c", CHILD], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        line = process.stdout.readline()  # blocks until the child signed in (imports can be slow)
        ready_at = time.monotonic()
        assert line.startswith("READY"), process.stderr.read()
        assert "nb-cognito-refresher" in line
        code = process.wait(timeout=20)
        exit_time = time.monotonic() - ready_at
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert code == 0, process.stderr.read()
    assert exit_time < 10, f"the interpreter took {exit_time:.1f} s to exit"


def _child_report(session: CognitoSession, connection) -> None:
    """Runs in the forked child: what does it believe about the refresher and the flight?"""
    try:
        view = session.describe()  # the only thread here: a held lock would stay held for ever
        report = {
            "running": view.background_running,
            "status_auto_refresh": session.status().auto_refresh,
            "flight": view.in_flight,
            "lock_free": view.locks_free,
            "refresher_lock_free": view.locks_free,
        }
        refresher = session._engine.background  # driven, not read: the one allowed use (test_architecture)
        refresher.start()  # a new start works in the child
        report["started"] = session.describe().background_running
        report["threads"] = sorted(t.name for t in threading.enumerate())
        refresher.stop(timeout=2)
        report["stopped"] = not session.describe().background_running
        connection.send(report)
    except BaseException as error:
        connection.send({"error": repr(error)})
    finally:
        connection.close()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_a_forked_child_has_no_refresher_and_no_flight_and_can_start_its_own(
    make_session, local, clock, fault_proxy
):
    session = make_session({**local.settings.as_config(), "endpoint_url": fault_proxy.url}, auto_refresh=True)
    session.sign_in("alice", PASSWORD)
    assert session.describe().background_running
    events = Events(session, AuthEvent.TOKEN_REFRESH)

    # Fork while the parent has a refresh in flight (held by the proxy), so that the child
    # inherits a _Flight whose owner thread does not exist there.
    fault_proxy.inject("delay", target="GetTokensFromRefreshToken", delay=1.0)
    refreshing = threading.Thread(target=lambda: session.fetch_auth_session(force_refresh=True), daemon=True)
    refreshing.start()
    assert wait_until(lambda: session.describe().in_flight, timeout=5)

    context = multiprocessing.get_context("fork")
    parent_end, child_end = context.Pipe(duplex=False)
    child = context.Process(target=_child_report, args=(session, child_end))
    child.start()
    child_end.close()
    assert parent_end.poll(30), "the child did not report"
    report = parent_end.recv()
    child.join(10)

    assert "error" not in report, report
    assert report["running"] is False and report["status_auto_refresh"] is False
    assert report["flight"] is False, "the child inherited a refresh it would wait on forever"
    assert report["lock_free"] and report["refresher_lock_free"]
    assert report["started"] is True and report["stopped"] is True
    assert report["threads"].count("nb-cognito-refresher") == 1
    assert child.exitcode == 0

    refreshing.join(10)  # the parent is unaffected
    assert events.wait(AuthEvent.TOKEN_REFRESH)
    assert session.describe().background_running


def test_a_dropped_session_is_garbage_collected(local, clock):
    session = CognitoSession(clock=clock, auto_refresh=True)
    session.configure(**local.settings.as_config())
    session.sign_in("alice", PASSWORD)
    session.sign_out()
    session.close()
    assert not session.describe().background_running  # close() joined the thread
    ref = weakref.ref(session)
    del session
    gc.collect()
    assert ref() is None, "something (a fork hook?) keeps every session alive forever"
