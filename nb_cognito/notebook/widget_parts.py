"""The parts of the sign-in widget and how they are laid out (what they do: ``widget.py``).

Each part carries a ``nb-cognito-*`` CSS class: the stylesheet (:mod:`.widget_look`), the
browser test and the test driver find it by that class. The labels of the fields share one
width and the button rows are indented by it, so fields and buttons line up.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets

from nb_cognito.environment import EnvironmentVariables as Env
from nb_cognito.notebook import widget_look as look

__all__ = ["Countdown", "WidgetParts", "action_row", "card_button", "form_field", "tagged"]

log = logging.getLogger("nb_cognito")


def tagged(widget: widgets.Widget, name: str) -> Any:
    """``widget`` with the ``nb-cognito-<name>`` class the look, the driver and the browser test use."""
    widget.add_class(f"nb-cognito-{name}")
    return widget


def form_field(kind: type, name: str, label: str, placeholder: str, **options: Any) -> Any:
    """A labelled field whose label shares the card's label width."""
    style = {"description_width": look.LABEL_WIDTH}
    layout = widgets.Layout(width="100%")
    field = kind(description=label, placeholder=placeholder, style=style, layout=layout, **options)
    return tagged(field, name)


def card_button(name: str, label: str, kind: str, icon: str = "") -> Any:
    """A button of kind ``primary``, ``secondary`` or ``danger``."""
    style = "primary" if kind == "primary" else ""
    button = tagged(widgets.Button(description=label, button_style=style, icon=icon), f"{name}-button")
    if kind != "primary":
        button.add_class(f"nb-cognito-{kind}")
    return button


def action_row(*buttons: widgets.Widget, flush: bool = False) -> widgets.HBox:
    """A row of buttons, indented by the label width (``flush``: not indented)."""
    row = tagged(widgets.HBox(list(buttons)), "actions")
    if flush:
        row.add_class("nbc-flush")
    return row


@dataclass
class WidgetParts:
    """Every widget the card is made of; ``build`` makes and lays them out."""

    style: Any
    title: Any
    chip: Any
    message: Any
    username: Any
    password: Any
    sign_in_button: Any
    signed_out_view: Any
    new_password_prompt: Any
    new_password: Any
    confirm_password: Any
    new_password_button: Any
    cancel_button: Any
    new_password_view: Any
    mfa_choice: Any
    mfa_button: Any
    mfa_view: Any
    code_prompt: Any
    qr: Any
    totp_secret_text: Any
    setup_box: Any
    code: Any
    code_button: Any
    code_view: Any
    status: Any
    refresh_button: Any
    sign_out_button: Any
    signed_in_view: Any
    body: Any
    header: Any
    sso: Any = None  # the "Sign in with <provider>" buttons (nb_cognito.notebook.sso_buttons)

    @classmethod
    def build(cls, username: str | None, sso: Any = None) -> WidgetParts:
        style = widgets.HTML(look.STYLE, layout=widgets.Layout(display="none"))
        title = tagged(widgets.HTML("AWS Cognito<span class='nbc-sub'>sign-in</span>"), "title")
        chip = tagged(widgets.HTML(look.chip_html("signed_out")), "chip")
        header = tagged(widgets.HBox([title, chip]), "header")
        message = tagged(widgets.HTML(""), "message")

        # -- signed out: username, password, Sign in
        username = form_field(
            widgets.Text,
            "username",
            "Username",
            "username",
            value=username if username is not None else os.environ.get(Env.NB_COGNITO_USERNAME, ""),
        )
        password = form_field(widgets.Password, "password", "Password", "password", continuous_update=False)
        sign_in_button = card_button("sign-in", "Sign in", "primary", icon="sign-in")
        signed_out_view = widgets.VBox([username, password, action_row(sign_in_button)])
        if sso is not None and sso.buttons:  # single sign-on, under the password form
            signed_out_view.children = (*signed_out_view.children, sso)

        # -- new password required
        new_password_prompt = tagged(widgets.HTML("Choose a new password."), "prompt")
        new_password = form_field(
            widgets.Password, "new-password", "New password", "new password", continuous_update=False
        )
        confirm_password = form_field(
            widgets.Password, "confirm-password", "Repeat it", "the same again", continuous_update=False
        )
        new_password_button = card_button("set-password", "Set password", "primary")
        cancel_button = card_button("cancel", "Cancel", "secondary")
        new_password_view = widgets.VBox(
            [
                new_password_prompt,
                new_password,
                confirm_password,
                action_row(new_password_button, cancel_button),
            ]
        )

        # -- MFA selection
        mfa_choice = tagged(
            widgets.ToggleButtons(
                options=["TOTP", "SMS"], tooltips=["an authenticator app", "a text message"]
            ),
            "mfa-choice",
        )
        mfa_button = card_button("mfa", "Continue", "primary")
        mfa_view = widgets.VBox(
            [
                tagged(widgets.HTML("Choose how to confirm your sign-in."), "prompt"),
                mfa_choice,
                action_row(mfa_button, cancel_button, flush=True),
            ]
        )

        # -- a code (TOTP, SMS, or the first TOTP code after setup)
        code_prompt = tagged(widgets.HTML(""), "prompt")
        qr = tagged(widgets.Image(format="png", layout=widgets.Layout(width="180px", height="180px")), "qr")
        totp_secret_text = tagged(widgets.HTML(""), "totp-secret")
        setup_box = tagged(widgets.VBox([], layout=widgets.Layout(align_items="center")), "setup")
        code = form_field(widgets.Text, "code", "Code", "123456", continuous_update=False)
        code_button = card_button("verify", "Verify", "primary")
        code_view = widgets.VBox([code_prompt, setup_box, code, action_row(code_button, cancel_button)])

        # -- signed in
        status = tagged(widgets.HTML(""), "status")
        refresh_button = card_button("refresh", "Refresh now", "secondary", icon="refresh")
        sign_out_button = card_button("sign-out", "Sign out", "danger", icon="sign-out")
        signed_in_view = widgets.VBox([status, action_row(refresh_button, sign_out_button, flush=True)])

        body = tagged(widgets.VBox([]), "body")
        return cls(
            style=style,
            title=title,
            chip=chip,
            message=message,
            username=username,
            password=password,
            sign_in_button=sign_in_button,
            signed_out_view=signed_out_view,
            new_password_prompt=new_password_prompt,
            new_password=new_password,
            confirm_password=confirm_password,
            new_password_button=new_password_button,
            cancel_button=cancel_button,
            new_password_view=new_password_view,
            mfa_choice=mfa_choice,
            mfa_button=mfa_button,
            mfa_view=mfa_view,
            code_prompt=code_prompt,
            qr=qr,
            totp_secret_text=totp_secret_text,
            setup_box=setup_box,
            code=code,
            code_button=code_button,
            code_view=code_view,
            status=status,
            refresh_button=refresh_button,
            sign_out_button=sign_out_button,
            signed_in_view=signed_in_view,
            body=body,
            header=header,
            sso=sso,
        )


class Countdown:
    """Redraws a widget's relative times once a second of ``clock``, on a daemon thread that
    holds the widget only weakly (a widget that is gone stops it)."""

    SECONDS = 1.0

    def __init__(self, widget: Any, clock: Any) -> None:
        self._widget = weakref.ref(widget)
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start ticking (idempotent)."""
        if self._thread is not None and self._thread.is_alive() and not self._stop.is_set():
            return
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(self._stop,), name="nb-cognito-widget-countdown", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self, stop: threading.Event) -> None:
        clock = self._clock
        while not clock.wait_until(clock.time() + self.SECONDS, stop):
            alive = self._widget()
            if alive is None:
                return
            try:
                alive.redraw_times()
            except Exception:  # a redraw never kills the countdown
                log.debug("The sign-in widget could not redraw its countdown.", exc_info=True)
            del alive
