"""The pieces of ``%cognito_login``'s flow, apart from the magic that puts them in order.

:class:`Prompter` reads what is typed (plain or hidden, a cancel or a frontend with no stdin said
as a :class:`~nb_cognito.notebook.magic_line.MagicUsageError`); :func:`answer_challenges` answers
whatever Cognito asks after the password, asking again after a wrong code; :func:`start_local`
is the ``--local`` path (the offline emulator, started once per kernel); and
:func:`resume_remembered` signs in from a remembered session with no password.
"""

from __future__ import annotations

import argparse
import builtins
import html
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from IPython.core.error import StdinNotImplementedError

from nb_cognito.exceptions import AuthError, CodeMismatchError, InvalidParameterError
from nb_cognito.notebook import local_endpoint
from nb_cognito.notebook.magic_line import MagicUsageError, in_jupyter
from nb_cognito.notebook.session_lines import remembered_of, usage_error
from nb_cognito.notebook.step_prompts import ask_for
from nb_cognito.secret import Secret

if TYPE_CHECKING:  # pragma: no cover
    from nb_cognito.auth.session import CognitoSession
    from nb_cognito.models import SignInNextStep, SignInResult

__all__ = ["Prompter", "answer_challenges", "resume_remembered", "start_local"]

T = TypeVar("T")

#: The offline emulator started by ``%cognito_login --local``; it lives as long as the kernel.
_local_emulator: Any = None

_NO_STDIN = (
    "This frontend cannot ask for input (it has no stdin). Sign in with `%cognito_login --widget`, "
    "or set NB_COGNITO_USERNAME and NB_COGNITO_PASSWORD in the kernel's environment."
)


class Prompter:
    """Text and hidden prompts in ``shell``.

    ipykernel swaps ``input()`` and ``getpass()`` for every request: they are looked up at call time.
    """

    def __init__(self, shell: Any) -> None:
        self._shell = shell

    def input(self, prompt: str) -> str:
        return self._ask(lambda: builtins.input(prompt))

    def getpass(self, prompt: str) -> Secret:
        """What was typed at a hidden prompt, as a Secret from the moment it is read."""
        import getpass

        return self._ask(lambda: Secret(getpass.getpass(prompt)))

    def _ask(self, read: Callable[[], T]) -> T:
        problem: str | None = None
        try:
            return read()
        except (StdinNotImplementedError, EOFError):
            problem = _NO_STDIN
        except KeyboardInterrupt:
            if not in_jupyter(self._shell):  # the cursor is still on "Password for alice: ^C"
                print(flush=True)
            problem = "Sign-in cancelled."
        raise MagicUsageError(problem)


def answer_challenges(
    session: CognitoSession, result: SignInResult, prompter: Prompter, max_attempts: int
) -> bool:
    """Answer each step until signed in; True if anything was asked. A TOTP setup secret shown
    on the way is replaced once done, whether signing in succeeded or not."""
    shown: list[Any] = []  # display handles of TOTP setup secrets, cleared once done
    asked = False
    try:
        while not result.is_signed_in:
            asked = True
            result = _answer(session, result.next_step, prompter, max_attempts, shown)
    finally:
        for handle in shown:
            handle.update(_Text("TOTP setup ended; the secret is no longer shown."))
    return asked


def _answer(
    session: CognitoSession, step: SignInNextStep, prompter: Prompter, max_attempts: int, shown: list[Any]
) -> SignInResult:
    """Ask for what ``step`` needs and send it; asks again after a wrong code."""
    from nb_cognito.models import SignInStep

    if step.sign_in_step is SignInStep.CONTINUE_SIGN_IN_WITH_TOTP_SETUP:
        from IPython.display import display

        text = (
            "Set up an authenticator app (TOTP): scan or open this URI\n"
            f"  {step.totp_setup_uri}\nor enter the secret key {step.totp_shared_secret}"
        )
        handle = display(_Text(text), display_id=True)
        if handle is not None:
            shown.append(handle)
    for attempt in range(1, max_attempts + 1):
        # a code or new password is a Secret from the moment it is read
        answer, attributes = ask_for(step, prompter.input, prompter.getpass, attempts=max_attempts)
        try:
            return session.confirm_sign_in(answer, attributes)
        except (CodeMismatchError, InvalidParameterError) as error:
            if attempt == max_attempts:
                raise
            print(f"{error} ({max_attempts - attempt} more tries)")
    raise AssertionError("unreachable")  # pragma: no cover


def resume_remembered(session: CognitoSession, username: str | None) -> bool:
    """Sign in from a remembered session (``remember`` on), with no password; True if done."""
    remembered = remembered_of(session)
    try:
        if not session.settings.remember or remembered is None:
            return False
        # Not sign_in(username): with auth_flow USER_AUTH that would start a sign-in (and
        # maybe send a code) when nothing is remembered.
        from nb_cognito.auth.session import resume_remembered as resume

        resumed = resume(session, username)
    except AuthError as error:
        raise usage_error(error, "Resuming the remembered session failed") from None
    if not resumed and remembered.last_resume_failure:
        print(remembered.last_resume_failure)
    return resumed


def start_local(session: CognitoSession, args: argparse.Namespace) -> Secret | None:
    """Start (once per kernel) the offline emulator and point the session and boto3 at it; the
    demo user's password when signing in as the demo user (``args.username`` defaults to it)."""
    global _local_emulator
    try:
        from nb_cognito.local import DEMO_PASSWORD, DEMO_USERNAME, LocalCognito, demo_spec
    except ImportError as error:
        raise MagicUsageError(
            f"--local needs the emulator's extra dependencies ({error.name} is missing). "
            "Install them with: pip install 'nb-cognito[local]'"
        ) from None
    started = _local_emulator is None or not _local_emulator.running
    if started:
        _local_emulator = LocalCognito(demo_spec()).start()
    local = _local_emulator
    try:
        session.configure(**local.settings.as_config())
    except AuthError as error:
        raise usage_error(error) from None
    # boto3.client("s3") reaches the emulator, until this local session ends
    local_endpoint.point_at(session, local.endpoint_url)
    if args.username is None:
        args.username = DEMO_USERNAME
    if args.username != DEMO_USERNAME:
        return None
    if started:
        print(
            f"Offline Cognito running at {local.endpoint_url} (demo user {DEMO_USERNAME!r}, "
            f"password {DEMO_PASSWORD!r}; it exists only here)."
        )
    return Secret(DEMO_PASSWORD)


class _Text:
    """Plain text for ``display`` (a handle can replace it later)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.text)}</pre>"
