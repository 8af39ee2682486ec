"""The sign-in widget's views for email MFA setup and the ``USER_AUTH`` flow, and device tracking.

A mixin of :class:`~nb_cognito.notebook.widget.SignInWidget`, kept apart so the widget's own
module stays about the form, the codes and the status: here are the first factor to choose
(``CONTINUE_SIGN_IN_WITH_FIRST_FACTOR_SELECTION``), the password asked after choosing it
(``CONFIRM_SIGN_IN_WITH_PASSWORD``), the address email codes go to
(``CONTINUE_SIGN_IN_WITH_EMAIL_SETUP``), the choice of MFA to set up, email codes, the fields of
attributes Cognito requires with a new password, and "Forget this device". The parts are built
with :mod:`.widget_parts`' helpers and carry ``nb-cognito-*`` classes as the others do. As
everywhere in the widget, secret fields are emptied as soon as they are read.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from nb_cognito.models import SignInStep
from nb_cognito.notebook.widget_parts import action_row, card_button, form_field, tagged
from nb_cognito.secret import Secret

if TYPE_CHECKING:  # pragma: no cover
    from nb_cognito.auth.session import CognitoSession
    from nb_cognito.notebook.widget_parts import WidgetParts

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
        _ui: WidgetParts

        def _show(self, view: str) -> None: ...
        def _say(self, text: str, *, error: bool = False) -> None: ...
        def _render_status(self) -> None: ...
        def _attempt(
            self, button: Any, busy_text: str, action: Callable[[], None], *, signing_in: bool
        ) -> None: ...
        def _answer(
            self,
            button: Any,
            busy_text: str,
            answer: str | Secret,
            attributes: dict[str, str] | None = None,
        ) -> None: ...
        def _on_field_submit(self, submit: Callable[[], None]) -> Callable[[dict], None]: ...
        def _on_click(self, field: Any, submit: Callable[[], None]) -> Callable[[Any], None]: ...

    def _build_choice_views(self) -> None:
        cancel = self._ui.cancel_button
        # -- a first factor to choose (USER_AUTH)
        self._factor_choice = tagged(widgets.ToggleButtons(options=[]), "factor-choice")
        self._factor_button = card_button("factor", "Continue", "primary")
        self._first_factor_view = widgets.VBox(
            [
                tagged(widgets.HTML("Choose how to sign in."), "prompt"),
                self._factor_choice,
                action_row(self._factor_button, cancel, flush=True),
            ]
        )
        # -- the password, after choosing a password factor
        self._factor_password = form_field(
            widgets.Password, "factor-password", "Password", "password", continuous_update=False
        )
        self._factor_password_button = card_button("factor-password", "Sign in", "primary")
        self._password_view = widgets.VBox(
            [self._factor_password, action_row(self._factor_password_button, cancel)]
        )
        # -- the address email codes go to (email MFA setup)
        self._email = form_field(widgets.Text, "email", "Email", "you@example.com", continuous_update=False)
        self._email_button = card_button("email", "Send code", "primary")
        self._email_setup_view = widgets.VBox(
            [
                tagged(widgets.HTML("Set up email MFA: the address sign-in codes are sent to."), "prompt"),
                self._email,
                action_row(self._email_button, cancel),
            ]
        )
        # -- a Text per attribute Cognito requires with the new password (in the new-password view)
        self._attributes_box = tagged(widgets.VBox([]), "attributes")
        view = self._ui.new_password_view
        view.children = (*view.children[:-1], self._attributes_box, view.children[-1])
        # -- "Forget this device", beside Refresh and Sign out, when the pool tracks devices
        self._forget_device_button = card_button(
            "forget-device", "Forget this device", "secondary", icon="unlink"
        )
        self._forget_device_button.layout.display = "none"
        actions = self._ui.signed_in_view.children[-1]
        actions.children = (*actions.children, self._forget_device_button)

        self._factor_button.on_click(self._on_factor_click)
        submit = self._submit_factor_password
        self._factor_password.observe(self._on_field_submit(submit), names="value")
        self._factor_password_button.on_click(self._on_click(self._factor_password, submit))
        self._email_button.on_click(self._on_email_click)
        self._forget_device_button.on_click(self._on_forget_device)

    def _choice_views(self) -> dict[str, Any]:
        return {
            "first_factor": self._first_factor_view,
            "password": self._password_view,
            "email_setup": self._email_setup_view,
        }

    def _choice_parts(self) -> list[Any]:
        """The parts built here (for close())."""
        return [*self._choice_views().values(), self._attributes_box, self._forget_device_button]

    def _forget_choice_fields(self) -> None:
        self._factor_password.value = ""
        self._attributes_box.children = ()

    def _device_html(self) -> str:
        """A line under the status about the tracked device; shows "Forget this device" with it."""
        device = self._session.device
        can_forget = device is not None and device.can_prove
        self._forget_device_button.layout.display = "" if can_forget else "none"
        if device is None:
            return ""
        text = "remembered: sign-ins from it skip MFA" if device.remembered else "tracked, not remembered"
        return f"<div class='nbc-note nb-cognito-device'>This device: {html.escape(text)}</div>"

    def _show_attribute_fields(self, names: tuple[str, ...]) -> None:
        fields = (form_field(widgets.Text, "attribute", name, name) for name in names)
        self._attributes_box.children = tuple(fields)

    def _read_attributes(self) -> dict[str, str] | None:
        fields = self._attributes_box.children
        return {f.description: f.value.strip() for f in fields} if fields else None

    def _show_choice_step(self, step: Any) -> bool:
        """The steps of email MFA and the USER_AUTH flow; False for a step it does not know."""
        kind = step.sign_in_step
        if kind is SignInStep.CONFIRM_SIGN_IN_WITH_EMAIL_CODE:
            where = html.escape(step.code_destination or "your email address")
            self._ui.code_prompt.value = f"Enter the code sent by email to {where}."
            self._show("code")
        elif kind is SignInStep.CONTINUE_SIGN_IN_WITH_MFA_SETUP_SELECTION:
            options = list(step.allowed_mfa_types)
            self._ui.mfa_choice.options = options
            self._ui.mfa_choice.value = options[0]
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

    def _submit_factor_password(self) -> None:
        if self._busy:
            return
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

        self._attempt(self._forget_device_button, "Forgetting…", forget, signing_in=False)
