"""A password or code that cannot be shown by accident: ``repr``/``str`` hide it.

``%xmode Verbose`` (and debuggers, ``cgitb``, error reporters) print the local variables of
every frame in a traceback. A password held in a plain ``str`` local of any frame between
where it is read and where it is sent would be printed there. So from the moment nb_cognito
reads a password or a code (``getpass``, the widget, ``NB_COGNITO_PASSWORD``, or the caller's
argument, wrapped on entry) it is a :class:`Secret`; only the expression that hands it to
botocore or pycognito calls :meth:`Secret.reveal`, inline, so that no frame a traceback can
show keeps the plain text in a variable.
"""

from __future__ import annotations

import hmac
from typing import Any, NoReturn

__all__ = ["OpaqueBytes", "Secret", "reveal_all"]


class Secret:
    """A secret text. ``repr``, ``str`` and ``format`` show ``Secret('***')``; never pickled."""

    __slots__ = ("_value",)

    def __init__(self, value: str | Secret) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str):
            raise TypeError(f"A Secret holds text, not {type(value).__name__}.")
        self._value = value

    @classmethod
    def of(cls, value: str | Secret | None) -> Secret | None:
        """``value`` as a Secret (None stays None; other types are left for the checks)."""
        if value is None or isinstance(value, Secret) or not isinstance(value, str):
            return value
        return cls(value)

    def reveal(self) -> str:
        """The plain text: call it only where the value is sent, inline in the call."""
        return self._value

    def strip(self) -> Secret:
        return Secret(self._value.strip())

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __len__(self) -> int:
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(
            self._value.encode("utf-8", "surrogatepass"), other._value.encode("utf-8", "surrogatepass")
        )

    def __hash__(self) -> int:
        return hash((Secret, len(self._value)))

    def __reduce__(self) -> NoReturn:
        raise TypeError("A Secret cannot be pickled.")


def reveal_all(value: Any) -> Any:
    """``value`` with every Secret in it (in dicts, lists, tuples) revealed: for the AWS call."""
    if isinstance(value, Secret):
        return value.reveal()
    if isinstance(value, dict):
        return {key: reveal_all(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(reveal_all(item) for item in value)
    return value


class OpaqueBytes(bytes):
    """An encoded request body that holds a secret: plain ``bytes`` to the socket, hidden in
    ``repr`` (the HTTP libraries' frames hold it as a local while they send it)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<request body, {len(self)} bytes>"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("A request body that holds a secret cannot be pickled.")
