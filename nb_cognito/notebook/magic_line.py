"""A magic's line must never leak a password: parse it without repeating it, refuse a password
typed on it, and take a refused line out of the history.

The text of a magic's line is kept in ``In``, ``_ih``, IPython's history database and the
saved notebook. So :func:`parse_magic_line` refuses a line that holds a password option or a
``password=...`` word, and its error messages never quote what was typed; before refusing,
:func:`_forget_current_line` replaces the line, wherever IPython keeps it, by one with only
the safe arguments.
"""

from __future__ import annotations

import argparse
import logging
import re
import shlex
from typing import Any, NoReturn

from IPython.core import magic_arguments
from IPython.core.error import UsageError

from nb_cognito.notebook.history_rewrite import rewrite_database_row, rewrite_log

log = logging.getLogger("nb_cognito")


class MagicUsageError(UsageError):
    """What the magics raise: a UsageError whose message reaches every frontend.

    IPython prints a plain ``UsageError`` to stderr only, with no ``error`` output, so papermill
    and nbclient report an empty "Exception encountered at In [1]". A subclass with
    ``_render_traceback_`` takes IPython's normal error path instead: every frontend gets an
    ``error`` output whose "traceback" is this one line (no Python traceback), and a notebook
    run by papermill stops with the message in its terminal output.
    """

    def _render_traceback_(self) -> list[str]:
        return [f"\x1b[0;31mUsageError\x1b[0m: {self}"]


# Frontends name the error by its class (an ``error`` output's ``ename``): users see UsageError.
MagicUsageError.__name__ = MagicUsageError.__qualname__ = "UsageError"


# One sentence: what happened, what was done about it, and the next step. Never the line itself.
_NO_PASSWORD_ON_LINE = (
    "This %{name} line {why}, so it was refused{removed}; type the password at the hidden "
    "prompt of `%cognito_login USERNAME`, use `%cognito_login --widget`, or set "
    "NB_COGNITO_PASSWORD (and if it was a real password, change it{shared})."
)
_LOOKS_LIKE_A_PASSWORD = "looks like it holds a password or another secret (a token, PIN or code)"


# --password, --passwd, --pw, --pass=..., -p, -pSECRET: options that can only mean a password;
# and any option naming another secret: --secret, --client-secret, --token, --id-token, --pin,
# --otp, --totp, --code, --mfa-code (with or without =VALUE).
_PASSWORD_OPTION = re.compile(
    r"^(--?(pass|pw)|-p|--?([a-z0-9]+[-_])*(secret|token|pin|otp|totp|code)(=|$))", re.IGNORECASE
)
# -pSECRET: a short option with its value attached (but -p, -pw, -pass... take the next word).
_ATTACHED_VALUE = re.compile(r"^-(?!-)(?!(p|pw|pwd|pass|passwd|password)$)..", re.IGNORECASE)
# A word such as password=... (or token=, secret:) among the positional arguments.
_PASSWORD_ASSIGNMENT = re.compile(
    r"^(password|passwd|passwort|pass|pwd|pw|secret|token|pin|otp|code)\s*[=:]", re.IGNORECASE
)


# -- parsing a line without ever repeating it ---------------------------------------------------


def parse_magic_line(magic: Any, line: str) -> argparse.Namespace:
    """Parse ``line`` for ``magic``; every error message leaves out what the user typed.

    magic_arguments' own errors repeat the offending value, which may be a password
    typed by mistake, so they are replaced.
    """
    from IPython.utils.process import arg_split

    name = magic_arguments.real_name(magic)
    argv = arg_split(line, strict=False)
    if any(_PASSWORD_OPTION.match(word) or _PASSWORD_ASSIGNMENT.match(word) for word in argv):
        _refuse_password_on_line(magic, name, line)
    parser = magic.parser
    problem: str | None = None
    try:
        args, extra = parser.parse_known_args(argv)
    except UsageError as error:  # argparse's message, maybe quoting a value
        problem = _scrub_argparse_message(str(error), argv, parser)
    if problem is not None:  # raised outside the except block: no __context__ holding the value
        raise MagicUsageError(f"%{name}: {problem} See %{name}? for help.")
    if name == "cognito_login" and looks_like_credentials(getattr(args, "username", None)):
        _refuse_password_on_line(magic, name, line, "holds USERNAME:PASSWORD where only the username goes")
    if extra:
        if any(word.startswith("-") for word in extra):
            raise MagicUsageError(
                f"%{name} got an option it does not know; its options are "
                f"{', '.join(_option_names(parser))}. See %{name}? for help. "
                "(The line is not repeated here, in case it held a password.)"
            )
        if name == "cognito_login":
            _refuse_password_on_line(
                magic, name, line, "has a second word, which may be a password (it takes only the username)"
            )
        raise MagicUsageError(f"%{name} takes no positional arguments. See %{name}? for help.")
    return args


NOT_A_USERNAME = (
    "USERNAME:PASSWORD is not a username, and it was not sent anywhere. Type only the username; "
    "the password is asked for next, with hidden input. (What you typed is not repeated here; "
    "if it held a real password, change it.)"
)


def without_values(text: str, values: Any) -> str:
    """``text`` (an error about a setting typed on the line) without the values typed.

    A password typed by mistake as ``--region``'s value would otherwise be echoed. Values of 6
    characters or more (Cognito's shortest password) are hidden as typed and as ``repr``
    quotes them; shorter ones only in their quoted form, so that the message stays readable.
    """
    hidden = False
    for value in values:
        if not isinstance(value, str) or not value:
            continue
        forms = {repr(value)} | ({value, repr(value)[1:-1]} if len(value) >= 6 else set())
        for form in sorted(forms, key=len, reverse=True):
            if form in text:
                text = text.replace(form, "<the value on the line>")
                hidden = True
    return text + " (The value typed on the line is not repeated here.)" if hidden else text


def looks_like_credentials(username: object) -> bool:
    """True for ``user:password``: never taken as a username, echoed or kept."""
    if not isinstance(username, str):
        return False
    user, colon, rest = username.partition(":")
    return bool(colon and user.strip() and rest)


def _refuse_password_on_line(magic: Any, name: str, line: str, why: str = _LOOKS_LIKE_A_PASSWORD) -> NoReturn:
    """Take the line out of the session's history (and the cell), then refuse it."""
    shell = getattr(getattr(magic, "__self__", None), "shell", None)
    where = _forget_current_line(shell, line, magic.parser, name=name)
    raise MagicUsageError(
        _NO_PASSWORD_ON_LINE.format(
            name=name,
            why=why,
            removed=f" and removed from {where}" if where else " without being repeated",
            shared=" if the notebook was saved or shared before now" if where else "",
        )
    )


# -- taking a refused line out of the history ------------------------------------------------------


def _forget_current_line(
    shell: Any, line: str, parser: argparse.ArgumentParser, *, name: str = "cognito_login"
) -> str | None:
    """Replace the current cell's ``%name line`` by ``%name <safe arguments>`` (the words
    ``parser`` knows to be safe) wherever IPython keeps it: In/_ih, _i<N> (and, through
    ``_i00``, the later _i/_ii/_iii), the history database (its write cache and its row) and,
    in a Jupyter kernel, the cell itself.

    Returns where the line was removed from, for the message; None when the current cell does
    not hold the line (e.g. the magic was called from code) or something failed. Never raises.
    """
    try:
        return _forget(shell, line, parser, name)
    except Exception:  # the refusal must still happen; say nothing was removed
        log.debug("nb_cognito could not remove the refused line from the history.", exc_info=True)
        return None


def _forget(shell: Any, line: str, parser: argparse.ArgumentParser, name: str) -> str | None:
    history = getattr(shell, "history_manager", None)
    if history is None or not line.strip():
        return None
    kept, dropped = _safe_words(parser, _split(line))
    safe = " ".join(shlex.quote(word) for word in kept)
    raws, parseds = history.input_hist_raw, history.input_hist_parsed
    if len(raws) < 2 or len(parseds) != len(raws):
        return None
    number = len(raws) - 1  # the cell being run: stored before it runs
    raw, parsed = raws[-1], parseds[-1]
    new_raw = _redact(raw, name, line, safe, dropped, parsed=False)
    new_parsed = _redact(parsed, name, line, safe, dropped, parsed=True)
    if new_raw is None and new_parsed is None:
        return None
    new_raw = raw if new_raw is None else new_raw
    new_parsed = parsed if new_parsed is None else new_parsed
    swap = {raw: new_raw, parsed: new_parsed}
    raws[-1], parseds[-1] = new_raw, new_parsed
    ns = shell.user_ns
    for key in ("In", "_ih"):  # both are input_hist_parsed, unless someone rebound them
        hist = ns.get(key)
        if isinstance(hist, list) and len(hist) > number and hist[number] == parsed:
            hist[number] = new_parsed
    for key in (f"_i{number}", "_i", "_ii", "_iii"):
        if isinstance(ns.get(key), str) and ns[key] in swap:
            ns[key] = swap[ns[key]]
    for trait in ("_i00", "_i", "_ii", "_iii"):  # _i00 becomes _i, then _ii, _iii in later cells
        if getattr(history, trait, None) in swap:
            setattr(history, trait, swap[getattr(history, trait)])
    rewrite_database_row(history, number, raw, parsed, new_raw, new_parsed)
    where = "this session's history"  # In, _ih, the _i variables and IPython's history database
    if rewrite_log(getattr(shell, "logger", None), raw, parsed, new_raw, new_parsed):
        where += ", the %logstart log"
    if in_jupyter(shell):  # Jupyter: a payload that replaces the cell's text in the notebook
        shell.set_next_input(new_raw, replace=True)
        where += " and from this cell"
    return where


def _split(line: str) -> list[str]:
    from IPython.utils.process import arg_split

    return arg_split(line, strict=False)


def _safe_words(parser: argparse.ArgumentParser, argv: list[str]) -> tuple[list[str], list[str]]:
    """(kept, dropped): the words of ``argv`` that are known options (with their values), known
    flags and the first positional word; the rest (password options and their values,
    ``password=...``, unknown options, extra words) is dropped. Doubtful words are dropped."""
    options = {s: action for action in parser._actions for s in action.option_strings}
    positionals = sum(1 for action in parser._actions if not action.option_strings)
    kept: list[str] = []
    dropped: list[str] = []
    index = 0

    def take_value() -> None:  # the next word, when it is not an option, is this option's value
        nonlocal index
        if index < len(argv) and not argv[index].startswith("-"):
            dropped.append(argv[index])
            index += 1

    while index < len(argv):
        word = argv[index]
        index += 1
        if word.startswith("-"):
            option, equals, _ = word.partition("=")
            action = options.get(option)
            if action is None:  # a password option, or one we do not know: drop it and its value
                dropped.append(word)
                if not equals and not _ATTACHED_VALUE.match(word):
                    take_value()
            elif action.nargs == 0:
                (dropped if equals else kept).append(word)
            elif equals:
                kept.append(word)
            elif index < len(argv) and not argv[index].startswith("-"):
                kept += [word, argv[index]]
                index += 1
            else:
                dropped.append(word)
        elif _PASSWORD_ASSIGNMENT.match(word):
            dropped.append(word)
            if word.rstrip().endswith(("=", ":")):
                take_value()
        elif positionals and looks_like_credentials(word):
            positionals -= 1
            kept.append(word.partition(":")[0])  # the user part only
            dropped.append(word)
        elif positionals:
            positionals -= 1
            kept.append(word)
        else:
            dropped.append(word)
    return kept, dropped


def _redact(text: str, name: str, line: str, safe: str, dropped: list[str], *, parsed: bool) -> str | None:
    """``text`` (a cell, raw or as IPython transformed it) with the ``%name line`` in it
    replaced by ``%name safe``; None when it does not hold that line.

    Only the lines (with their ``\\`` continuations) that call the magic change. If the line
    cannot be found as such but the text still holds what was dropped, the whole text is
    replaced by the redacted magic line: losing the rest of the cell beats keeping a password.
    """
    needle, replacement = (repr(line), repr(safe)) if parsed else (line, safe)
    pieces = text.split("\n")
    out: list[str] = []
    found = False
    start = 0
    while start < len(pieces):
        end = start
        while end < len(pieces) - 1 and pieces[end].rstrip().endswith("\\"):
            end += 1
        block = pieces[start : end + 1]
        joined = " ".join([p.rstrip()[:-1] for p in block[:-1]] + [block[-1]])  # as IPython joins them
        at = joined.find(name)
        position = joined.find(needle, at + len(name)) if at >= 0 else -1
        if position < 0:
            out.extend(block)
        else:
            found = True
            before, after = joined[:position], joined[position + len(needle) :]
            out.append(before + replacement + after if replacement else before.rstrip() + after)
        start = end + 1
    if found:
        return "\n".join(out)
    if name in text and any(secret in text for secret in _secret_pieces(dropped)):
        magic = f"%{name} {safe}".rstrip()
        return f"get_ipython().run_line_magic({name!r}, {safe!r})" if parsed else magic
    return None


def _secret_pieces(dropped: list[str]) -> set[str]:
    """What in the dropped words may be a password: values, not option names."""
    pieces: set[str] = set()
    for word in dropped:
        if word.startswith("--"):
            pieces.add(word.partition("=")[2])
        elif word.startswith("-"):
            pieces.add(word.partition("=")[2] if "=" in word else word[2:])
        else:
            pieces |= {word, re.split(r"[=:]", word, maxsplit=1)[-1]}
    return {piece for piece in pieces if len(piece) > 1}


def _option_names(parser: argparse.ArgumentParser) -> list[str]:
    return [s for action in parser._actions for s in action.option_strings if s.startswith("--")]


def _scrub_argparse_message(message: str, argv: list[str], parser: argparse.ArgumentParser) -> str:
    """argparse's message with every piece of the line that could be a password hidden.

    Pieces shorter than Cognito's minimum password length (6) are left, as are our own
    option names, so that the message stays readable.
    """
    known = sorted({s for action in parser._actions for s in action.option_strings}, key=len, reverse=True)
    typed: set[str] = set()
    for word in argv:  # every piece argparse may quote: the word, --opt=VALUE, -xVALUE
        typed.add(word)
        typed.update(word.split("=", 1))
        if word.startswith("-") and not word.startswith("--"):
            typed.add(word[2:])
    typed |= {repr(word)[1:-1] for word in typed}  # argparse quotes some values with %r
    for index, option in enumerate(known):  # keep option names out of harm's way
        message = message.replace(option, f"\0{index}\0")
    for word in sorted(typed, key=len, reverse=True):
        if len(word) >= 6:
            message = message.replace(word, "<hidden>")
    for index, option in enumerate(known):
        message = message.replace(f"\0{index}\0", option)
    message = message[:1].upper() + message[1:]
    return message if message.endswith(".") else message + "."


def in_jupyter(shell: Any) -> bool:
    """True in a Jupyter kernel (where clear_output clears the cell) rather than a terminal."""
    return getattr(shell, "kernel", None) is not None
