"""The parts of the sign-in widget and how they are laid out (what they do: ``widget.py``).

Each part carries a ``nb-cognito-*`` CSS class: the stylesheet (:mod:`.widget_look`), the
browser test and the test driver find it by that class. The labels of the fields share one
width and the button rows are indented by it, so fields and buttons line up.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets

from nb_cognito.environment import EnvironmentVariables as Env
from nb_cognito.notebook import widget_look as look

__all__ = ["WidgetParts"]


def _part(widget: widgets.Widget, name: str) -> Any:
    widget.add_class(f"nb-cognito-{name}")
    return widget


def _field(kind: type, name: str, label: str, placeholder: str, **options: Any) -> Any:
    style = {"description_width": look.LABEL_WIDTH}
    layout = widgets.Layout(width="100%")
    field = kind(description=label, placeholder=placeholder, style=style, layout=layout, **options)
    return _part(field, name)


def _button(name: str, label: str, kind: str, icon: str = "") -> Any:
    style = "primary" if kind == "primary" else ""
    button = _part(widgets.Button(description=label, button_style=style, icon=icon), f"{name}-button")
    if kind != "primary":
        button.add_class(f"nb-cognito-{kind}")
    return button


def _actions(*buttons: widgets.Widget, flush: bool = False) -> widgets.HBox:
    row = _part(widgets.HBox(list(buttons)), "actions")
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

    @classmethod
    def build(cls, username: str | None) -> WidgetParts:
        style = widgets.HTML(look.STYLE, layout=widgets.Layout(display="none"))
        title = _part(widgets.HTML("AWS Cognito<span class='nbc-sub'>sign-in</span>"), "title")
        chip = _part(widgets.HTML(look.chip_html("signed_out")), "chip")
        header = _part(widgets.HBox([title, chip]), "header")
        message = _part(widgets.HTML(""), "message")

        # -- signed out: username, password, Sign in
        username = _field(
            widgets.Text,
            "username",
            "Username",
            "username",
            value=username if username is not None else os.environ.get(Env.NB_COGNITO_USERNAME, ""),
        )
        password = _field(widgets.Password, "password", "Password", "password", continuous_update=False)
        sign_in_button = _button("sign-in", "Sign in", "primary", icon="sign-in")
        signed_out_view = widgets.VBox([username, password, _actions(sign_in_button)])

        # -- new password required
        new_password_prompt = _part(widgets.HTML("Choose a new password."), "prompt")
        new_password = _field(
            widgets.Password, "new-password", "New password", "new password", continuous_update=False
        )
        confirm_password = _field(
            widgets.Password, "confirm-password", "Repeat it", "the same again", continuous_update=False
        )
        new_password_button = _button("set-password", "Set password", "primary")
        cancel_button = _button("cancel", "Cancel", "secondary")
        new_password_view = widgets.VBox(
            [
                new_password_prompt,
                new_password,
                confirm_password,
                _actions(new_password_button, cancel_button),
            ]
        )

        # -- MFA selection
        mfa_choice = _part(
            widgets.ToggleButtons(
                options=["TOTP", "SMS"], tooltips=["an authenticator app", "a text message"]
            ),
            "mfa-choice",
        )
        mfa_button = _button("mfa", "Continue", "primary")
        mfa_view = widgets.VBox(
            [
                _part(widgets.HTML("Choose how to confirm your sign-in."), "prompt"),
                mfa_choice,
                _actions(mfa_button, cancel_button, flush=True),
            ]
        )

        # -- a code (TOTP, SMS, or the first TOTP code after setup)
        code_prompt = _part(widgets.HTML(""), "prompt")
        qr = _part(widgets.Image(format="png", layout=widgets.Layout(width="180px", height="180px")), "qr")
        totp_secret_text = _part(widgets.HTML(""), "totp-secret")
        setup_box = _part(widgets.VBox([], layout=widgets.Layout(align_items="center")), "setup")
        code = _field(widgets.Text, "code", "Code", "123456", continuous_update=False)
        code_button = _button("verify", "Verify", "primary")
        code_view = widgets.VBox([code_prompt, setup_box, code, _actions(code_button, cancel_button)])

        # -- signed in
        status = _part(widgets.HTML(""), "status")
        refresh_button = _button("refresh", "Refresh now", "secondary", icon="refresh")
        sign_out_button = _button("sign-out", "Sign out", "danger", icon="sign-out")
        signed_in_view = widgets.VBox([status, _actions(refresh_button, sign_out_button, flush=True)])

        body = _part(widgets.VBox([]), "body")
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
        )
