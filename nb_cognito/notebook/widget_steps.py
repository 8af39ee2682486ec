"""The sign-in widget's challenge steps: what Cognito asks after the password, and device tracking.

:class:`ChallengeSteps` is held by :class:`~nb_cognito.notebook.widget.SignInWidget`, which
keeps the form, the status and the session's events; here is every step of a sign-in under way:
a new password (with the attributes Cognito requires with it), the MFA to choose or set up,
SMS, email and TOTP codes and TOTP setup, the first factor to choose
(``CONTINUE_SIGN_IN_WITH_FIRST_FACTOR_SELECTION``), the password asked after choosing it
(``CONFIRM_SIGN_IN_WITH_PASSWORD``), the address email codes go to
(``CONTINUE_SIGN_IN_WITH_EMAIL_SETUP``), and "Forget this device". The parts built here use
:mod:`.widget_parts`' helpers and carry ``nb-cognito-*`` classes as the others do. As everywhere
in the widget, secret fields are emptied as soon as they are read.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from nb_cognito.exceptions import NotAuthorizedError
from nb_cognito.models import SignInResult, SignInStep
from nb_cognito.notebook import widget_look as look
from nb_cognito.notebook.widget_parts import action_row, card_button, form_field, tagged
from nb_cognito.secret import Secret

if TYPE_CHECKING:  # pragma: no cover
    from nb_cognito.auth.session import CognitoSession
    from nb_cognito.notebook.widget_attempts import Attempts
    from nb_cognito.notebook.widget_parts import WidgetParts

__all__ = ["ChallengeSteps"]

#: How each first factor is offered (the USER_AUTH flow).
_FACTOR_LABELS = {
    "PASSWORD_SRP": "Password",
    "PASSWORD": "Password (sent)",
    "EMAIL_OTP": "Email code",
    "SMS_OTP": "SMS code",
}


class ChallengeSteps:
    """The views and handlers of the steps of a sign-in under way.

    The widget gives what it owns as callables: ``show(view)`` switches the view, ``say(text,
    error=)`` shows a note or an error, ``render_status()`` redraws the signed-in status and
    ``show_session_state()`` shows what the session says now.
    """

    def __init__(
        self,
        ui: WidgetParts,
        session: CognitoSession,
        attempts: Attempts,
        *,
        show: Callable[[str], None],
        say: Callable[..., None],
        render_status: Callable[[], None],
        show_session_state: Callable[[], None],
    ) -> None:
        self._ui = ui
        self._session = session
        self._attempts = attempts
        self._show = show
        self._say = say
        self._render_status = render_status
        self._show_session_state = show_session_state

        cancel = ui.cancel_button
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
        view = ui.new_password_view
        view.children = (*view.children[:-1], self._attributes_box, view.children[-1])
        # -- "Forget this device", beside Refresh and Sign out, when the pool tracks devices
        self._forget_device_button = card_button(
            "forget-device", "Forget this device", "secondary", icon="unlink"
        )
        self._forget_device_button.layout.display = "none"
        actions = ui.signed_in_view.children[-1]
        actions.children = (*actions.children, self._forget_device_button)

        # Enter (or the blur before a click) sends a field's value: submit it; then the click.
        for field, button, submit in (
            (ui.confirm_password, ui.new_password_button, self._set_new_password),
            (ui.code, ui.code_button, self._submit_code),
            (self._factor_password, self._factor_password_button, self._submit_factor_password),
        ):
            field.observe(attempts.on_field_submit(submit), names="value")
            button.on_click(attempts.on_click(field, submit))
        ui.mfa_button.on_click(self._on_mfa_click)
        self._factor_button.on_click(self._on_factor_click)
        self._email_button.on_click(self._on_email_click)
        self._forget_device_button.on_click(self._on_forget_device)

    def views(self) -> dict[str, Any]:
        """The panel of each challenge view, by the view's name."""
        ui = self._ui
        return {
            "new_password": ui.new_password_view,
            "mfa_selection": ui.mfa_view,
            "code": ui.code_view,
            "totp_setup": ui.code_view,
            "first_factor": self._first_factor_view,
            "password": self._password_view,
            "email_setup": self._email_setup_view,
        }

    def parts(self) -> list[Any]:
        """The parts built here (for close())."""
        extra = [self._first_factor_view, self._password_view, self._email_setup_view]
        return [*extra, self._attributes_box, self._forget_device_button]

    def forget(self) -> None:
        """Empty every field that held a secret of a challenge, and the TOTP setup secret."""
        self._ui.new_password.value = ""
        self._ui.confirm_password.value = ""
        self._ui.code.value = ""
        self._factor_password.value = ""
        self._attributes_box.children = ()
        self.forget_totp_setup()

    def forget_totp_setup(self) -> None:
        """Remove the TOTP setup QR code or secret key."""
        self._ui.setup_box.children = ()
        self._ui.qr.value = b""
        self._ui.totp_secret_text.value = ""

    def device_html(self) -> str:
        """A line under the status about the tracked device; shows "Forget this device" with it."""
        device = self._session.device
        can_forget = device is not None and device.can_prove
        self._forget_device_button.layout.display = "" if can_forget else "none"
        if device is None:
            return ""
        text = "remembered: sign-ins from it skip MFA" if device.remembered else "tracked, not remembered"
        return f"<div class='nbc-note nb-cognito-device'>This device: {html.escape(text)}</div>"

    # -- showing a step ----------------------------------------------------------------------

    def show_step(self, result: SignInResult) -> None:
        """Show what ``result`` asks for next (or the session, once signed in)."""
        if result.is_signed_in:
            self._show_session_state()
            return
        step = result.next_step
        kind = step.sign_in_step
        ui = self._ui
        self._say("")
        if kind is SignInStep.CONFIRM_SIGN_IN_WITH_NEW_PASSWORD:
            prompt = "Your password must be changed. Choose a new password."
            if step.missing_attributes:
                prompt += f" The pool also requires: {', '.join(step.missing_attributes)}."
            ui.new_password_prompt.value = html.escape(prompt)
            self._show("new_password")
            fields = (form_field(widgets.Text, "attribute", n, n) for n in step.missing_attributes)
            self._attributes_box.children = tuple(fields)
        elif kind is SignInStep.CONTINUE_SIGN_IN_WITH_MFA_SELECTION:
            options = list(step.allowed_mfa_types) or ["TOTP", "SMS"]
            ui.mfa_choice.options = options
            ui.mfa_choice.value = options[0]
            self._show("mfa_selection")
        elif kind is SignInStep.CONFIRM_SIGN_IN_WITH_TOTP_CODE:
            ui.code_prompt.value = "Enter the 6-digit code from your authenticator app."
            self._show("code")
        elif kind is SignInStep.CONFIRM_SIGN_IN_WITH_SMS_CODE:
            where = html.escape(step.code_destination or "your phone")
            ui.code_prompt.value = f"Enter the code sent by SMS to {where}."
            self._show("code")
        elif kind is SignInStep.CONTINUE_SIGN_IN_WITH_TOTP_SETUP:
            self._show_totp_setup(step)
        elif not self._show_choice_step(step):  # pragma: no cover - a step added to SignInStep later
            self._say(f"This sign-in step ({kind.value}) is not supported by the widget.", error=True)
            self._show("signed_out")

    def _show_totp_setup(self, step: Any) -> None:
        ui = self._ui
        self._show("totp_setup")
        image = look.qr_image(step.totp_setup_uri) if step.totp_setup_uri else None
        if image is not None:
            ui.qr.format, ui.qr.value = image[1], image[0]
            ui.code_prompt.value = (
                "Set up your authenticator app: scan this QR code, then enter the first code it shows."
            )
            ui.setup_box.children = (ui.qr,)
        else:
            secret = html.escape(step.totp_shared_secret or "")
            ui.code_prompt.value = (
                "Set up your authenticator app: add this secret key, then enter the first code it shows."
            )
            ui.totp_secret_text.value = f"<code class='nbc-mono' style='user-select:all'>{secret}</code>"
            ui.setup_box.children = (ui.totp_secret_text,)

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

    # -- answering a step --------------------------------------------------------------------

    def _answer(
        self, button: Any, busy_text: str, answer: str | Secret, attributes: dict[str, str] | None = None
    ) -> None:
        self._say("")

        def confirm() -> None:
            try:
                result = self._session.confirm_sign_in(answer, attributes)
            except NotAuthorizedError as error:
                # Cognito ended this sign-in attempt (its session expired, too many tries), and
                # so did the session; other errors leave the same step open to answer again.
                self._show_session_state()
                self._say(f"{error} Sign in again.", error=True)
                return
            self.show_step(result)

        self._attempts.run(button, busy_text, confirm, signing_in=True)

    def _set_new_password(self) -> None:
        if self._attempts.busy:
            return
        new, again = Secret(self._ui.new_password.value), Secret(self._ui.confirm_password.value)
        self._ui.new_password.value = ""
        self._ui.confirm_password.value = ""
        if not new:
            self._say("Enter a new password.", error=True)
            return
        if new != again:
            self._say("The two passwords do not match; enter them again.", error=True)
            return
        fields = self._attributes_box.children
        attributes = {f.description: f.value.strip() for f in fields} if fields else None
        self._answer(self._ui.new_password_button, "Setting…", new, attributes)

    def _on_mfa_click(self, _button: Any) -> None:
        choice = self._ui.mfa_choice.value
        if choice:
            self._answer(self._ui.mfa_button, "Continuing…", str(choice))

    def _submit_code(self) -> None:
        if self._attempts.busy:
            return
        code = Secret(self._ui.code.value).strip()
        self._ui.code.value = ""
        if not code:
            self._say("Enter the code.", error=True)
            return
        self._answer(self._ui.code_button, "Verifying…", code)

    def _on_factor_click(self, _button: Any) -> None:
        choice = self._factor_choice.value
        if choice:
            self._answer(self._factor_button, "Continuing…", str(choice))

    def _submit_factor_password(self) -> None:
        if self._attempts.busy:
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

        self._attempts.run(self._forget_device_button, "Forgetting…", forget, signing_in=False)
