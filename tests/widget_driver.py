"""A driver for :class:`~nb_cognito.notebook.widget.SignInWidget` that acts as a person would.

It finds the parts the way the browser test does, by their ``nb-cognito-*`` CSS classes, and
only among the parts on screen (a hidden view cannot be typed into). Typing into a field and
pressing Enter (or leaving it) is ``submit``: that is when the frontend sends a field's value,
since the fields do not update continuously. ``click`` presses a button. The tests read what
the widget shows (``view``, ``state``, ``message``, ``status_text``...) and never its private
attributes; the only private call is ``tick()``, the countdown's once-a-second redraw.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

import ipywidgets
from ipywidgets.widgets.widget import _instances

from nb_cognito.notebook.widget import SignInWidget

_TAGS = re.compile(r"<[^>]+>")


def visible_text(markup: str) -> str:
    """What a person reads in ``markup``: no tags, entities decoded, spaces collapsed."""
    markup = re.sub(r"<style>.*?</style>", "", markup, flags=re.S)
    return " ".join(html.unescape(_TAGS.sub(" ", markup)).split())


def all_widget_state() -> str:
    """The state of every live widget, as the frontend (and a saved notebook) would get it."""
    return json.dumps({model_id: w.get_state() for model_id, w in list(_instances.items())}, default=repr)


class WidgetDriver:
    """Type, submit and click in one :class:`SignInWidget`; read what it shows."""

    def __init__(self, widget: SignInWidget) -> None:
        self.widget = widget

    # -- finding parts ------------------------------------------------------------------------

    def on_screen(self) -> list[ipywidgets.Widget]:
        """Every part currently shown (the current view only), depth first."""
        found, stack = [], [self.widget]
        while stack:
            part = stack.pop()
            found.append(part)
            stack.extend(reversed(getattr(part, "children", ())))
        return found

    def parts(self, name: str) -> list[ipywidgets.Widget]:
        css = f"nb-cognito-{name}"
        return [part for part in self.on_screen() if css in getattr(part, "_dom_classes", ())]

    def part(self, name: str) -> Any:
        found = self.parts(name)
        assert len(found) == 1, f"expected one nb-cognito-{name} on screen in view {self.view!r}, got {found}"
        return found[0]

    def shows(self, name: str) -> bool:
        return bool(self.parts(name))

    # -- acting -------------------------------------------------------------------------------

    def type(self, name: str, text: str) -> None:
        """Type into a field that sends every keystroke (the username)."""
        self.part(name).value = text

    def submit(self, name: str, text: str) -> None:
        """Type ``text`` into a field and press Enter (or leave the field): the value is sent."""
        self.part(name).value = text

    def click(self, name: str) -> None:
        self.part(f"{name}-button").click()

    def choose(self, name: str, option: str) -> None:
        self.part(name).value = option

    def sign_in(self, username: str, password: str) -> None:
        """Type the username, then the password, and press Enter."""
        self.type("username", username)
        self.submit("password", password)

    def sign_in_with_the_button(self, username: str, password: str) -> None:
        """As a browser does on a click after typing: the blur sends the password, then the click
        (which still reaches the button when the attempt has already changed the view)."""
        button = self.part("sign-in-button")
        self.sign_in(username, password)
        button.click()

    def set_new_password(self, new: str, again: str | None = None) -> None:
        self.submit("new-password", new)
        self.submit("confirm-password", new if again is None else again)

    def tick(self) -> None:
        """One beat of the countdown (the widget's thread does this once a second)."""
        self.widget.redraw_times()

    # -- reading ------------------------------------------------------------------------------

    @property
    def view(self) -> str:
        return self.widget.view

    @property
    def state(self) -> str:
        return self.widget.state

    @property
    def message(self) -> str:
        return self.widget.message

    @property
    def message_html(self) -> str:
        return self.part("message").value

    @property
    def chip_text(self) -> str:
        return visible_text(self.part("chip").value)

    @property
    def screen_text(self) -> str:
        """Everything a person reads on the card now: HTML parts, labels and button captions."""
        texts = []
        for part in self.on_screen():
            if isinstance(part, ipywidgets.HTML):
                texts.append(visible_text(part.value))
            for name in ("description", "placeholder"):
                texts.append(str(getattr(part, name, "") or ""))
        return " ".join(" ".join(texts).split())

    @property
    def status_html(self) -> str:
        return self.part("status").value

    @property
    def status_text(self) -> str:
        return visible_text(self.status_html)

    def status_row(self, label: str) -> str:
        """The text of one row of the signed-in table."""
        for row in re.findall(r"<tr>(.*?)</tr>", self.status_html, flags=re.S):
            head, _, cell = row.partition("</th>")
            if visible_text(head) == label:
                return visible_text(cell)
        raise AssertionError(f"no {label!r} row in: {self.status_text}")

    @property
    def prompt_text(self) -> str:
        return " ".join(visible_text(part.value) for part in self.parts("prompt"))

    def value(self, name: str) -> str:
        return self.part(name).value

    def button(self, name: str) -> tuple[str, bool]:
        """(label, disabled) of a button on screen."""
        button = self.part(f"{name}-button")
        return button.description, button.disabled

    def options(self, name: str) -> tuple[str, ...]:
        return tuple(self.part(name).options)

    def every_part_state(self) -> str:
        """The state of this widget's parts, shown or not, as a saved notebook would hold it."""
        return all_widget_state()
