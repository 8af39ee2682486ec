"""How the sign-in widget runs what a button or a field asks for: one attempt at a time.

An attempt disables its button and shows it busy, and any error is handed to the widget to
show, since ipywidgets swallows exceptions raised in handlers. A field sends its value on Enter
or on blur; a browser then delivers the click that caused the blur, which belongs to the attempt
the blur started and is dropped (see :data:`QUEUED_CLICK_SECONDS`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["QUEUED_CLICK_SECONDS", "Attempts"]

# A browser sends a field's value on blur, then the click that caused the blur: the click
# arrives right after the attempt the blur started, and belongs to it. A click later than this
# is the user's own (a click 1.3 s after a failed attempt used to be swallowed).
QUEUED_CLICK_SECONDS = 0.5


class Attempts:
    """Runs the widget's actions one at a time.

    ``chip(busy)`` redraws the status chip (busy while signing in, then as the view says);
    ``fail(error)`` shows an error; ``clock`` is the session's clock.
    """

    def __init__(
        self, clock: Any, *, chip: Callable[[bool], None], fail: Callable[[BaseException], None]
    ) -> None:
        self._clock = clock
        self._chip = chip
        self._fail = fail
        self._busy = False
        self._field_submitted_at: float | None = None

    @property
    def busy(self) -> bool:
        """Whether an attempt is running (a second one is not started)."""
        return self._busy

    def run(self, button: Any, busy_text: str, action: Callable[[], None], *, signing_in: bool) -> None:
        """Run ``action`` with ``button`` disabled and busy; show any error in the widget."""
        if self._busy:
            return
        self._busy = True
        label, icon = button.description, button.icon
        button.disabled, button.description, button.icon = True, busy_text, "spinner"
        if signing_in:
            self._chip(True)
        try:
            action()
        except Exception as error:  # ipywidgets would swallow it: show it instead
            self._fail(error)
        finally:
            button.disabled, button.description, button.icon = False, label, icon
            self._busy = False
            self._chip(False)

    def on_field_submit(self, submit: Callable[[], None]) -> Callable[[dict], None]:
        """An observer of a field's value: a value sent (Enter or blur) is submitted."""

        def on_change(change: dict) -> None:
            if change["new"]:
                try:
                    submit()
                finally:
                    self._field_submitted_at = self._clock.time()

        return on_change

    def on_click(self, field: Any, submit: Callable[[], None]) -> Callable[[Any], None]:
        """A click handler that submits ``field``, unless the click belongs to the blur's attempt."""

        def on_click(_button: Any) -> None:
            # The click whose blur just submitted the (now emptied) field belongs to that attempt.
            submitted, self._field_submitted_at = self._field_submitted_at, None
            now = self._clock.time()
            if not field.value and submitted is not None and now - submitted < QUEUED_CLICK_SECONDS:
                return
            submit()

        return on_click
