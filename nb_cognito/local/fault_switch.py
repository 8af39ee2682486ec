"""``LocalCognito.faults``: turning the emulator's :class:`FaultMode` s on and off.

>>> with local.faults.mode(FaultMode.TOKENS_BAD_SIGNATURE):   # or "tokens_bad_signature"
...     ...
>>> local.faults.enable(mode); ...; local.faults.clear()

The modes live in the emulator's state (the patches read them there); ``LocalCognito.reset``
also turns them all off.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from .fault_modes import FaultMode
from .state import EmulatorState

__all__ = ["FaultSwitch"]


class FaultSwitch:
    """The fault modes of one emulator: which are on, and the switches."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state

    @contextlib.contextmanager
    def mode(self, *modes: FaultMode | str) -> Iterator[None]:
        """Misbehave as ``modes`` say (see :class:`FaultMode`) while the ``with`` block runs."""
        parsed = [FaultMode.parse(mode) for mode in modes]
        for mode in parsed:
            self.enable(mode)
        try:
            yield
        finally:
            for mode in parsed:
                self.disable(mode)

    def enable(self, mode: FaultMode | str) -> None:
        """Turn ``mode`` on until :meth:`disable`, :meth:`clear` or the emulator's reset."""
        with self._state.lock:
            self._state.fault_modes.add(FaultMode.parse(mode))

    def disable(self, mode: FaultMode | str) -> None:
        with self._state.lock:
            self._state.fault_modes.discard(FaultMode.parse(mode))

    def clear(self) -> None:
        """Behave again: every fault mode off."""
        with self._state.lock:
            self._state.fault_modes.clear()

    @property
    def active(self) -> frozenset[FaultMode]:
        """The modes on now."""
        with self._state.lock:
            return frozenset(self._state.fault_modes)

    def __repr__(self) -> str:
        return f"FaultSwitch({sorted(mode.value for mode in self.active)})"
