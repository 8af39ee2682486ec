"""Fork hygiene (issue 15 item 2): a forked child never hangs and never signs the parent out.

Each test forks a real child (``os.fork`` through multiprocessing's fork context) from a
process that has a session, an endpoint, locks held by other threads; the child reports over
a pipe, within a bounded time, what it could do.
"""

from __future__ import annotations

import ast
import multiprocessing
import pathlib
import threading

import pytest
from helpers import PASSWORD

import nb_cognito
from nb_cognito import forksafe

CHILD_TIMEOUT = 30.0


def in_child(work, *args):
    """Run ``work(*args)`` in a forked child; its return value (or its error) comes back."""
    context = multiprocessing.get_context("fork")
    parent_end, child_end = context.Pipe(duplex=False)

    def run() -> None:
        try:
            child_end.send(("ok", work(*args)))
        except BaseException as error:
            child_end.send(("error", repr(error)))
        finally:
            child_end.close()

    child = context.Process(target=run)
    child.start()
    child_end.close()
    assert parent_end.poll(CHILD_TIMEOUT), "the forked child hung"
    outcome, value = parent_end.recv()
    child.join(10)
    if child.is_alive():
        child.kill()
    assert outcome == "ok", value
    return value


@pytest.fixture
def kernel_like(new_session):
    """A session wired as the kernel's, with the container endpoint on."""
    session = new_session(attach=True, subprocess_credentials=True)
    session.sign_in("alice", PASSWORD)
    return session


def test_a_child_that_signs_out_does_not_hang_and_does_not_revoke_the_parents_token(kernel_like, local):
    def child_signs_out(session):
        session.sign_out()
        return session.is_signed_in

    assert in_child(child_signs_out, kernel_like) is False

    # The parent is still signed in, and its refresh token still works at the server.
    assert kernel_like.is_signed_in
    auth = kernel_like.fetch_auth_session(force_refresh=True)
    assert auth.user_pool_tokens_result.is_success, auth.user_pool_tokens_result


def test_a_child_can_turn_the_endpoint_off_and_sign_in_on_its_own(kernel_like):
    def child_reconfigures_and_signs_in(session):
        session.configure(subprocess_credentials=False)
        session.sign_out()
        session.sign_in("alice", PASSWORD)
        return session.is_signed_in

    assert in_child(child_reconfigures_and_signs_in, kernel_like) is True
    assert kernel_like.is_signed_in


def test_every_lock_the_package_owns_is_free_in_a_child_even_if_held_at_fork(kernel_like):
    """Hold every registered lock in another thread while forking: the child gets them free."""
    locks = [obj for obj in forksafe.registered() if isinstance(obj, forksafe.ForkSafeLock)]
    assert len(locks) >= 5  # the module locks (clients, JWKS, identity ids, store, secrets...)
    held, release = threading.Event(), threading.Event()

    def hold_them_all() -> None:
        for lock in locks:
            lock.acquire()
        held.set()
        release.wait(CHILD_TIMEOUT)
        for lock in reversed(locks):
            lock.release()

    holder = threading.Thread(target=hold_them_all, daemon=True)
    holder.start()
    assert held.wait(10)
    try:

        def child_takes_them(lock_list):
            return all(lock.acquire(timeout=2) for lock in lock_list)

        assert in_child(child_takes_them, locks) is True
    finally:
        release.set()
        holder.join(10)


def test_no_module_creates_a_plain_lock_a_child_would_inherit_held():
    """Every lock nb_cognito creates comes from ``forksafe`` (or is reset by its owner)."""
    package = pathlib.Path(nb_cognito.__file__).parent
    offenders = []
    for path in package.rglob("*.py"):
        if "local" in path.relative_to(package).parts or path.name in ("forksafe.py", "clock.py"):
            continue  # the emulator is a server of the tests; ManualClock is a test clock
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "threading"
                and node.func.attr in ("Lock", "RLock")
            ):
                offenders.append(f"{path.relative_to(package)}:{node.lineno}")
    assert offenders == [], offenders
