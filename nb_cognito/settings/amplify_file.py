"""Reading an Amplify outputs file safely: a regular file, small, at a path the OS can take.

``amplify_config`` comes from a setting or the environment, so it may name anything: a FIFO
(``open()`` would block until some writer comes), ``/dev/zero`` (``read()`` never ends), a
huge file, or a path with a NUL or a lone surrogate (``open()`` raises ``ValueError`` or
``UnicodeEncodeError``). :func:`read_amplify_text` turns each into :class:`UnreadableFile`,
whose ``problem`` :class:`nb_cognito.settings.amplify.AmplifyFile` puts in a ``ConfigurationError`` that
names the setting and its source.
"""

from __future__ import annotations

import os
import stat

__all__ = ["MAX_BYTES", "UnreadableFile", "read_amplify_text"]

MAX_BYTES = 1024 * 1024  # generated Amplify files are a few KiB


class UnreadableFile(Exception):
    """The file cannot be used; ``problem`` ends "The Amplify file X, named by ..., {problem}"."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def read_amplify_text(path: str) -> str:
    """The UTF-8 text of ``path``, a regular file of at most :data:`MAX_BYTES`.

    Never blocks on a FIFO or device and never reads more than ``MAX_BYTES + 1`` bytes.
    Raises :class:`UnreadableFile` (with a problem that never quotes the content).
    """
    if "\x00" in path:
        raise UnreadableFile("has a NUL character in its path")
    try:
        os.fsencode(path)
    except UnicodeError:
        raise UnreadableFile("has a character in its path that the file system cannot encode") from None
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)  # O_NONBLOCK: opening a FIFO does not wait for a writer
    except FileNotFoundError:
        raise UnreadableFile("does not exist") from None
    except IsADirectoryError:
        raise UnreadableFile("is a directory, not a file") from None
    except PermissionError:
        raise UnreadableFile("cannot be read: permission denied") from None
    except (OSError, ValueError) as error:
        reason = getattr(error, "strerror", None) or type(error).__name__
        raise UnreadableFile(f"cannot be read ({reason})") from None
    info = os.fstat(fd)
    problem = None
    if stat.S_ISDIR(info.st_mode):
        problem = "is a directory, not a file"
    elif not stat.S_ISREG(info.st_mode):
        problem = "is not a regular file (a FIFO, device or socket)"
    elif info.st_size > MAX_BYTES:
        problem = f"is too large ({info.st_size} bytes; at most {MAX_BYTES})"
    if problem is not None:
        os.close(fd)
        raise UnreadableFile(problem)
    with os.fdopen(fd, "rb") as file:
        try:
            raw = file.read(MAX_BYTES + 1)
        except OSError as error:
            raise UnreadableFile(f"cannot be read ({error.strerror or type(error).__name__})") from None
    if len(raw) > MAX_BYTES:  # grew since the fstat
        raise UnreadableFile(f"is too large (more than {MAX_BYTES} bytes)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UnreadableFile("is not UTF-8 text") from None
