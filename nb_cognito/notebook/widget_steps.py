"""The sign-in widget's views for email MFA setup and the ``USER_AUTH`` flow, and device tracking.

A mixin of :class:`~nb_cognito.notebook.widget.SignInWidget`, kept apart so the widget's own
module stays about the form, the codes and the status: here are the first factor to choose
(``CONTINUE_SIGN_IN_WITH_FIRST_FACTOR_SELECTION``), the password asked after choosing it
(``CONFIRM_SIGN_IN_WITH_PASSWORD``), the address email codes go to
(``CONTINUE_SIGN_IN_WITH_EMAIL_SETUP``), the choice of MFA to set up, email codes, the fields of
attributes Cognito requires with a new password, and "Forget this device". As everywhere in the
widget, secret fields are emptied as soon as they are read.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from nb_cognito.models import SignInStep
from nb_cognito.secret import Secret

if TYPE_CHECKING:  # pragma: no cover
    from nb_cognito.auth.session import CognitoSession

__all__ = ["ChoiceSteps"]

#: How each first factor is offered (the USER_AUTH flow).
_FACTOR_LABELS = {
    "PASSWORD_SRP": "Password",
    "PASSWORD": "Password (sent)",
    "EMAIL_OTP": "Email code",
    "SMS_OTP": "SMS code",
}


class ChoiceSteps:
    """The views and handlers of the steps beyond password, codes and TOTP setup."""

    if TYPE_CHECKING:  # owned by SignInWidget
        _session: CognitoSession
        _busy: bool
        _last_submit: float
        _cancel_button: widgets.Button
        _code_prompt: widgets.HTML
        _mfa_choice: widgets.ToggleButtons
        _attributes_box: widgets.VBox
        _forget_device_button: widgets.Button

        def _show(self, view: str) -> None: ...
        def _say(self, text: str, *, error: bool = False) -> None: ...
        def _same_attempt(self) -> bool: ...
        def _render_status(self) -> None: ...
        def _attempt(self, button: Any, busy_text: str, action: Callable[[], None]) -> None: ...
        def _answer(
            self,
            button: Any,
            busy_text: str,
            answer: str | Secret,
            attributes: dict[str, str] | None = None,
        ) -> None: ...

    def _build_choice_views(self, wide: widgets.Layout) -> None:
        """The views of the USER_AUTH flow and email MFA setup: a first factor to choose, the
        password after choosing it, and the address email codes go to."""
        self._factor_choice = widgets.ToggleButtons(options=[], description="Sign in with")
        self._factor_button = widgets.Button(description="Continue", button_style="primary")
        self._first_factor_view = widgets.VBox(
            [
                widgets.HTML("Choose how to sign in."),
                self._factor_choice,
                widgets.HBox([self._factor_button, self._cancel_button]),
            ]
        )
        self._factor_password = widgets.Password(
            description="Password", placeholder="password", continuous_update=False, layout=wide
        )
        self._factor_password_button = widgets.Button(description="Sign in", button_style="primary")
        self._password_view = widgets.VBox(
            [self._factor_password, widgets.HBox([self._factor_password_button, self._cancel_button])]
        )
        self._email = widgets.Text(
            description="Email", placeholder="you@example.com", continuous_update=False, layout=wide
        )
        self._email_button = widgets.Button(description="Send code", button_style="primary")
        self._email_setup_view = widgets.VBox(
            [
                widgets.HTML("Set up email MFA: the address sign-in codes are sent to."),
                self._email,
                widgets.HBox([self._email_button, self._cancel_button]),
            ]
        )
        self._factor_button.on_click(self._on_factor_click)
        self._factor_password.observe(self._on_factor_password_submit, names="value")
        self._factor_password_button.on_click(self._on_factor_password_click)
        self._email_button.on_click(self._on_email_click)

    def _show_attribute_fields(self, names: tuple[str, ...]) -> None:
        """A Text field per attribute Cognito requires with the new password."""
        self._attributes_box.children = tuple(
            widgets.Text(description=name, placeholder=name, layout=widgets.Layout(width="22em"))
            for name in names
        )

    def _read_attributes(self) -> dict[str, str] | None:
        fields = self._attributes_box.children
        return {f.description: f.value.strip() for f in fields} if fields else None

    def _show_choice_step(self, step: Any) -> bool:
        """The steps of email MFA and the USER_AUTH flow; False for a step it does not know."""
        kind = step.sign_in_step
        if kind is SignInStep.CONFIRM_SIGN_IN_WITH_EMAIL_CODE:
            where = html.escape(step.code_destination or "your email address")
            self._code_prompt.value = f"Enter the code sent by email to {where}."
            self._show("code")
        elif kind is SignInStep.CONTINUE_SIGN_IN_WITH_MFA_SETUP_SELECTION:
            options = list(step.allowed_mfa_types)
            self._mfa_choice.options = options
            self._mfa_choice.value = options[0]
            self._show("mfa_selection")
            self._say("Your account needs MFA: choose the method to set up.")
        elif kind is SignInStep.CONTINUE_SIGN_IN_WITH_EMAIL_SETUP:
            self._show("email_setup")
        elif kind is SignInStep.CONTINUE_SIGN_IN_WITH_FIRST_FACTOR_SELECTION:
            options = [(_FACTOR_LABELS.get(f, f), f) for f in step.available_challenges]
            self._factor_choice.options = options
            self._factor_choice.value = options[0][1]
            self._show("first_factor")
        elif kind is SignInStep.CONFIRM_SIGN_IN_WITH_PASSWORD:
            self._show("password")
        else:
            return False
        return True

    def _on_factor_click(self, _button: Any) -> None:
        choice = self._factor_choice.value
        if choice:
            self._answer(self._factor_button, "Continuing…", str(choice))

    def _on_factor_password_submit(self, change: dict) -> None:
        if change["new"]:
            self._submit_factor_password()

    def _on_factor_password_click(self, _button: Any) -> None:
        if not self._factor_password.value and self._same_attempt():
            return
        self._submit_factor_password()

    def _submit_factor_password(self) -> None:
        if self._busy:
            return
        self._last_submit = time.monotonic()
        password = Secret(self._factor_password.value)  # a Secret from the moment it is read
        self._factor_password.value = ""
        if not password:
            self._say("Enter your password.", error=True)
            return
        self._answer(self._factor_password_button, "Signing in…", password)

    def _on_email_click(self, _button: Any) -> None:
        address = self._email.value.strip()
        if not address:
            self._say("Enter your email address.", error=True)
            return
        self._answer(self._email_button, "Sending…", address)

    def _on_forget_device(self, _button: Any) -> None:
        def forget() -> None:
            self._session.forget_device()
            self._render_status()
            self._say("Cognito forgot this device; the next sign-in asks for MFA.")

        self._attempt(self._forget_device_button, "Forgetting…", forget)
