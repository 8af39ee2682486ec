"""A short traceback when an AWS SDK could not get credentials from nb_cognito's endpoint.

``pd.read_csv("s3://...")`` with nobody signed in, or signed in without an identity pool, ends
in botocore's ``CredentialRetrievalError``, whose last line carries nb_cognito's message (the
endpoint's JSON answer), after some 280 lines of pandas, fsspec, s3fs, aiobotocore and botocore
frames and a chained ``MetadataRetrievalError``. This IPython custom exception handler shows
the frames of the user's own code, the error, and nb_cognito's message on a line of its own.
It acts only on errors whose answer came from nb_cognito's endpoint; ``%xmode Verbose`` shows
everything, as before. Another library's custom handler is never replaced.

botocore is not imported for this: the handler is installed once ``botocore.exceptions`` is
(at ``%load_ext`` or before a later cell), which sign-in itself does.
"""

from __future__ import annotations

import json
import re
import sys
import sysconfig
import types
from typing import Any

__all__ = ["install", "nb_cognito_answer", "pre_run_cell", "uninstall"]

# botocore's wording for a non-200 answer of a container credentials endpoint.
_ANSWER = re.compile(r"from container metadata: (\{.*\})\s*$", re.S)
_LIBRARY_DIRS = tuple(
    {sysconfig.get_paths()[name] for name in ("stdlib", "platstdlib", "purelib", "platlib")}
)


def nb_cognito_answer(error: BaseException) -> tuple[str, str] | None:
    """``(code, message)`` when ``error`` (or an exception it chains) reports an error answer of
    nb_cognito's credentials endpoint: a JSON body whose code is one of nb_cognito's errors."""
    from nb_cognito import exceptions

    if isinstance(error, exceptions.AuthError):  # raised by nb_cognito's own provider in boto3
        return type(error).__name__, str(error)
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        match = _ANSWER.search(str(current))
        if match:
            try:
                body = json.loads(match.group(1))
            except ValueError:
                body = None
            if isinstance(body, dict) and isinstance(body.get("message"), str):
                known = getattr(exceptions, str(body.get("code")), None)
                if isinstance(known, type) and issubclass(known, exceptions.AuthError):
                    return str(body["code"]), body["message"]
        current = current.__cause__ or current.__context__
    return None


def _own_frames(tb: types.TracebackType | None) -> types.TracebackType | None:
    """A copy of ``tb`` cut at the first frame of an installed library (the user's frames only)."""
    frames: list[types.TracebackType] = []
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.startswith(_LIBRARY_DIRS) and frames:
            break
        frames.append(tb)
        tb = tb.tb_next
    copy = None
    for entry in reversed(frames):
        copy = types.TracebackType(copy, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    return copy


def _handler(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: int | None = None) -> None:
    """IPython's CustomTB: it shows the error itself (IPython discards what a handler returns)."""
    formatter = shell.InteractiveTB
    answer = nb_cognito_answer(value)
    if answer is None or getattr(formatter, "mode", "") == "Verbose":
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
        return
    sys.last_type, sys.last_value, sys.last_traceback = etype, value, tb  # what %tb and %debug read
    if sys.version_info >= (3, 12):
        sys.last_exc = value
    code, message = answer
    cause, context, suppress = value.__cause__, value.__context__, value.__suppress_context__
    value.__cause__, value.__suppress_context__ = None, True  # the chained botocore error adds nothing
    try:
        stb = formatter.structured_traceback(etype, value, _own_frames(tb), tb_offset=tb_offset)
    finally:
        value.__cause__, value.__context__, value.__suppress_context__ = cause, context, suppress
    stb.append(
        f"\nnb_cognito: {message}\n(The AWS SDK asked nb_cognito for credentials, which "
        f"answered {code}. The frames inside the libraries are left out: %tb shows them.)"
    )
    shell._showtraceback(etype, value, stb)  # the subclass hook: ipykernel sends it as the cell's error
    if shell.call_pdb:
        shell.debugger(force=True)


def _handled(botocore_errors: Any) -> tuple[type, ...]:
    """What the handler looks at: botocore's error for an endpoint's refusal, and nb_cognito's own
    errors (the provider in boto3's default session raises them through botocore's frames)."""
    from nb_cognito.exceptions import AuthError

    return (botocore_errors.CredentialRetrievalError, AuthError)


def install(shell: Any) -> bool:
    """Install the handler on ``shell`` once botocore is imported; True when it is installed."""
    errors = sys.modules.get("botocore.exceptions")
    if shell is None or errors is None:
        return False
    ours = _handled(errors)
    current = tuple(getattr(shell, "custom_exceptions", ()))
    if current == ours:
        return True
    if current:  # another library's handler: leave it alone
        return False
    shell.set_custom_exc(ours, _handler)
    return True


def uninstall(shell: Any) -> None:
    """Remove the handler, if it is ours."""
    errors = sys.modules.get("botocore.exceptions")
    ours = _handled(errors) if errors is not None else None
    if shell is not None and ours and tuple(getattr(shell, "custom_exceptions", ())) == ours:
        shell.set_custom_exc((), None)


def pre_run_cell(*_: Any) -> None:
    """Before each cell: install the handler once botocore has been imported."""
    from IPython import get_ipython

    install(get_ipython())
