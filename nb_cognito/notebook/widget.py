"""`SignInWidget`: sign in to Cognito from a notebook cell, answer any challenge, see the session.

>>> import nb_cognito
>>> nb_cognito.SignInWidget()      # or: %cognito_login --widget

The widget drives the kernel-wide session (``nb_cognito.session``), so it agrees with
``%cognito_login``, ``nb_cognito.sign_in()`` and any other widget: it subscribes to the
session's events and redraws itself when they fire, with no polling.

Secrets never stay in widget state: the password, new-password and code fields are emptied
as soon as their value is read, and the TOTP setup QR code is removed once setup ends.
Errors are shown in the widget, since ipywidgets swallows exceptions raised in handlers.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import logging
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from nb_cognito import forksafe
from nb_cognito.environment import EnvironmentVariables as Env
from nb_cognito.exceptions import AuthError, ConfigurationError, NotAuthorizedError, ServiceUnavailableError
from nb_cognito.models import AuthEvent, AuthEventPayload, SignInResult, SignInStep
from nb_cognito.secret import Secret

if TYPE_CHECKING:  # pragma: no cover
    from nb_cognito.auth.session import CognitoSession

__all__ = ["SignInWidget"]

log = logging.getLogger("nb_cognito")

# A click that arrives this soon after a field submitted (Enter, or the blur that precedes the
# click) belongs to that same attempt, whose secret field has already been emptied.
_SAME_ATTEMPT_SECONDS = 2.0

_VIEWS = ("signed_out", "new_password", "mfa_selection", "code", "totp_setup", "signed_in")


def _qr_image(uri: str) -> tuple[bytes, str] | None:
    """The QR code of ``uri`` as (image bytes, ipywidgets Image format), if a QR package is installed."""
    try:
        import segno
    except ImportError:
        pass
    else:
        buffer = io.BytesIO()
        segno.make(uri, error="m").save(buffer, kind="png", scale=5, border=2)
        return buffer.getvalue(), "png"
    try:
        import qrcode
        import qrcode.image.svg
    except ImportError:
        return None
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage)
    return image.to_string(), "svg+xml"


def _when(moment: dt.datetime | None) -> str:
    if moment is None:
        return "-"
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _table(rows: list[tuple[str, str]]) -> str:
    cells = "".join(
        f"<tr><th style='text-align:left;padding-right:1em'>{html.escape(k)}</th>"
        f"<td style='text-align:left'>{html.escape(v)}</td></tr>"
        for k, v in rows
    )
    return f"<table class='nb-cognito-widget-status'>{cells}</table>"


def _describe(error: BaseException, *, signing_in: bool = False) -> str:
    """Plain words for ``error``; never a secret (AuthError messages are redacted at birth)."""
    if isinstance(error, ServiceUnavailableError) and signing_in:
        # Its default suggestion speaks of a kept session, which a sign-in does not have yet.
        return f"{error.args[0]} Check the network connection and try again."
    if isinstance(error, AuthError):
        return str(error)
    log.error("The sign-in widget hit an unexpected %s.", type(error).__name__, exc_info=error)
    return f"Something went wrong ({type(error).__name__}). The kernel log has the details."


class SignInWidget(widgets.VBox):
    """A sign-in form for the kernel-wide Cognito session, with every challenge and a status view.

    ``session`` defaults to ``nb_cognito.session``; ``username`` pre-fills the form (default
    ``NB_COGNITO_USERNAME``). ``view`` names what is shown (``"signed_out"``,
    ``"new_password"``, ``"mfa_selection"``, ``"code"``, ``"totp_setup"``, ``"signed_in"``) and
    ``message`` the text of the error or notice under it. ``close()`` unsubscribes from the session.
    """

    def __init__(
        self, session: CognitoSession | None = None, *, username: str | None = None, **kwargs: Any
    ) -> None:
        if session is None:
            from nb_cognito.kernel import kernel_session

            session = kernel_session()
        self._session = session
        self._lock = forksafe.RLock()
        self._view = "signed_out"
        self._message_text = ""
        self._message_is_error = False
        self._busy = False
        self._last_submit = -float("inf")
        self._refresh_failure: Exception | None = None
        self._unsubscribe: list[Callable[[], None]] = []

        wide = widgets.Layout(width="22em")
        self._title = widgets.HTML("<b>AWS Cognito</b>")
        self._message = widgets.HTML("")

        # -- signed out: username, password, Sign in
        self._username = widgets.Text(
            value=username if username is not None else os.environ.get(Env.NB_COGNITO_USERNAME, ""),
            description="Username",
            placeholder="username",
            layout=wide,
        )
        self._password = widgets.Password(
            description="Password", placeholder="password", continuous_update=False, layout=wide
        )
        self._sign_in_button = widgets.Button(description="Sign in", button_style="primary", icon="sign-in")
        self._signed_out_view = widgets.VBox([self._username, self._password, self._sign_in_button])
        self._sso = self._add_sso_buttons(session)

        # -- new password required
        self._new_password_prompt = widgets.HTML("Choose a new password.")
        self._new_password = widgets.Password(
            description="New", placeholder="new password", continuous_update=False, layout=wide
        )
        self._confirm_password = widgets.Password(
            description="Again", placeholder="repeat it", continuous_update=False, layout=wide
        )
        self._new_password_button = widgets.Button(description="Set password", button_style="primary")
        self._cancel_button = widgets.Button(description="Cancel")
        self._new_password_view = widgets.VBox(
            [
                self._new_password_prompt,
                self._new_password,
                self._confirm_password,
                widgets.HBox([self._new_password_button, self._cancel_button]),
            ]
        )

        # -- MFA selection
        self._mfa_choice = widgets.ToggleButtons(options=["TOTP", "SMS"], description="MFA")
        self._mfa_button = widgets.Button(description="Continue", button_style="primary")
        self._mfa_view = widgets.VBox(
            [
                widgets.HTML("Choose how to confirm your sign-in."),
                self._mfa_choice,
                widgets.HBox([self._mfa_button, self._cancel_button]),
            ]
        )

        # -- a code (TOTP, SMS, or the first TOTP code after setup)
        self._code_prompt = widgets.HTML("")
        self._qr = widgets.Image(format="png", layout=widgets.Layout(width="200px", height="200px"))
        self._totp_secret_text = widgets.HTML("")
        self._setup_box = widgets.VBox([])
        self._code = widgets.Text(
            description="Code", placeholder="123456", continuous_update=False, layout=wide
        )
        self._code_button = widgets.Button(description="Verify", button_style="primary")
        self._code_view = widgets.VBox(
            [
                self._code_prompt,
                self._setup_box,
                self._code,
                widgets.HBox([self._code_button, self._cancel_button]),
            ]
        )

        # -- signed in
        self._status = widgets.HTML("")
        self._refresh_button = widgets.Button(description="Refresh now", icon="refresh")
        self._sign_out_button = widgets.Button(description="Sign out", icon="sign-out")
        self._signed_in_view = widgets.VBox(
            [self._status, widgets.HBox([self._refresh_button, self._sign_out_button])]
        )

        self._body = widgets.Box([])

        self._password.observe(self._on_password_submit, names="value")
        self._sign_in_button.on_click(self._on_sign_in_click)
        self._confirm_password.observe(self._on_new_password_submit, names="value")
        self._new_password_button.on_click(self._on_new_password_click)
        self._cancel_button.on_click(self._on_cancel)
        self._mfa_button.on_click(self._on_mfa_click)
        self._code.observe(self._on_code_submit, names="value")
        self._code_button.on_click(self._on_code_click)
        self._refresh_button.on_click(self._on_refresh)
        self._sign_out_button.on_click(self._on_sign_out)

        for event in AuthEvent:
            self._unsubscribe.append(session.on(event, self._on_session_event))

        self._show_session_state()
        kwargs.setdefault("children", [self._title, self._body, self._message])
        super().__init__(**kwargs)
        self.add_class("nb-cognito-sign-in")

    def __repr__(self) -> str:
        return f"<SignInWidget view={self._view!r}>"

    def _add_sso_buttons(self, session: CognitoSession) -> Any:
        """ "Sign in with <provider>" buttons (hosted UI) under the password form, when configured."""
        from nb_cognito.notebook.sso_buttons import SsoButtons

        sso = SsoButtons(session, say=self._say)
        if sso.buttons:
            self._signed_out_view.children = (*self._signed_out_view.children, sso)
        return sso

    # -- what is shown ---------------------------------------------------------------------

    @property
    def view(self) -> str:
        """The view shown: one of ``signed_out``, ``new_password``, ``mfa_selection``, ``code``,
        ``totp_setup``, ``signed_in``."""
        return self._view

    @property
    def message(self) -> str:
        """The error or notice shown under the view ('' when none)."""
        return self._message_text

    def _show(self, view: str) -> None:
        assert view in _VIEWS
        with self._lock:
            if view not in ("code", "totp_setup", "new_password"):
                self._forget_challenge()
            elif view != "totp_setup":
                self._forget_totp_setup()
            self._view = view
            panel = {
                "signed_out": self._signed_out_view,
                "new_password": self._new_password_view,
                "mfa_selection": self._mfa_view,
                "code": self._code_view,
                "totp_setup": self._code_view,
                "signed_in": self._signed_in_view,
            }[view]
            if self._body.children != (panel,):
                self._body.children = (panel,)

    def _say(self, text: str, *, error: bool = False) -> None:
        with self._lock:
            self._message_text = text
            self._message_is_error = error and bool(text)
            if not text:
                self._message.value = ""
            else:
                color = "var(--jp-error-color1, #c62828)" if error else "var(--jp-ui-font-color2, #555)"
                role = "alert" if error else "status"
                self._message.value = f"<div role='{role}' style='color:{color}'>{html.escape(text)}</div>"

    def _fail(self, error: BaseException) -> None:
        signing_in = self._view != "signed_in"
        self._say(_describe(error, signing_in=signing_in), error=True)

    def _forget_challenge(self) -> None:
        """Empty every field that held a secret of a challenge, and the TOTP setup secret."""
        self._new_password.value = ""
        self._confirm_password.value = ""
        self._code.value = ""
        self._forget_totp_setup()

    def _forget_totp_setup(self) -> None:
        self._setup_box.children = ()
        self._qr.value = b""
        self._totp_secret_text.value = ""

    def _render_status(self) -> None:
        status = self._session.status()
        if not status.signed_in or status.user is None:
            return
        rows = [
            ("user", status.user.username),
            ("identity id", status.identity_id or "-"),
            ("tokens expire", _when(status.tokens_expiration)),
            ("AWS credentials expire", _when(status.credentials_expiration)),
        ]
        if status.access_key_hint:
            rows.append(("access key", status.access_key_hint))
        self._status.value = _table(rows)

    def _show_session_state(self, notice: str = "") -> None:
        """Show what the session says now: signed in, signed out, or expired."""
        status = self._session.status()
        with self._lock:
            if status.signed_in:
                self._render_status()
                self._show("signed_in")
                if notice or not self._message_is_error:
                    self._say(notice)
            else:
                if status.user is not None and not self._username.value:
                    self._username.value = status.user.username
                self._show("signed_out")
                if status.expired:
                    self._say(status.last_error or "Your session has ended; sign in again.", error=True)
                elif notice:
                    self._say(notice)

    def _show_step(self, result: SignInResult) -> None:
        if result.is_signed_in:
            self._show_session_state()
            return
        step = result.next_step
        kind = step.sign_in_step
        self._say("")
        if kind is SignInStep.CONFIRM_SIGN_IN_WITH_NEW_PASSWORD:
            needed = ", ".join(step.missing_attributes)
            prompt = "Your password must be changed. Choose a new password."
            if needed:
                prompt += f" (The pool also requires: {needed}; ask your administrator to set them.)"
            self._new_password_prompt.value = html.escape(prompt)
            self._show("new_password")
        elif kind is SignInStep.CONTINUE_SIGN_IN_WITH_MFA_SELECTION:
            options = list(step.allowed_mfa_types) or ["TOTP", "SMS"]
            self._mfa_choice.options = options
            self._mfa_choice.value = options[0]
            self._show("mfa_selection")
        elif kind is SignInStep.CONFIRM_SIGN_IN_WITH_TOTP_CODE:
            self._code_prompt.value = "Enter the 6-digit code from your authenticator app."
            self._show("code")
        elif kind is SignInStep.CONFIRM_SIGN_IN_WITH_SMS_CODE:
            where = html.escape(step.code_destination or "your phone")
            self._code_prompt.value = f"Enter the code sent by SMS to {where}."
            self._show("code")
        elif kind is SignInStep.CONTINUE_SIGN_IN_WITH_TOTP_SETUP:
            self._show("totp_setup")
            image = _qr_image(step.totp_setup_uri) if step.totp_setup_uri else None
            if image is not None:
                self._qr.format, self._qr.value = image[1], image[0]
                self._code_prompt.value = (
                    "Set up your authenticator app: scan this QR code, then enter the first code it shows."
                )
                self._setup_box.children = (self._qr,)
            else:
                secret = html.escape(step.totp_shared_secret or "")
                self._code_prompt.value = (
                    "Set up your authenticator app: add this secret key, then enter the first code it shows."
                )
                self._totp_secret_text.value = f"<code style='user-select:all'>{secret}</code>"
                self._setup_box.children = (self._totp_secret_text,)
        else:  # pragma: no cover - a step added to SignInStep later
            self._say(f"This sign-in step ({kind.value}) is not supported by the widget.", error=True)
            self._show("signed_out")

    # -- actions -----------------------------------------------------------------------------

    def _attempt(self, button: Any, busy_text: str, action: Callable[[], None]) -> None:
        """Run ``action`` with ``button`` disabled and busy; show any error in the widget."""
        if self._busy:
            return
        self._busy = True
        label, icon = button.description, button.icon
        button.disabled, button.description, button.icon = True, busy_text, "spinner"
        try:
            action()
        except Exception as error:  # ipywidgets would swallow it: show it instead
            self._fail(error)
        finally:
            button.disabled, button.description, button.icon = False, label, icon
            self._busy = False
            self._last_submit = time.monotonic()

    def _same_attempt(self) -> bool:
        return time.monotonic() - self._last_submit < _SAME_ATTEMPT_SECONDS

    def _on_password_submit(self, change: dict) -> None:
        if change["new"]:
            self._sign_in()

    def _on_sign_in_click(self, _button: Any) -> None:
        if not self._password.value and self._same_attempt():
            return  # the Enter/blur that came first already submitted this attempt
        self._sign_in()

    def _sign_in(self) -> None:
        if self._busy:
            return
        self._last_submit = time.monotonic()
        password = Secret(self._password.value)  # a Secret from the moment it is read
        self._password.value = ""  # never left in widget state, whatever happens next
        username = self._username.value.strip()
        if not username:
            self._say("Enter your username.", error=True)
            return
        if not password:
            self._say("Enter your password.", error=True)
            return
        self._say("")

        def sign_in() -> None:
            result = self._session.sign_in(username, password)
            self._show_step(result)

        self._attempt(self._sign_in_button, "Signing in…", sign_in)

    def _on_new_password_submit(self, change: dict) -> None:
        if change["new"]:  # Enter in the confirmation field
            self._set_new_password()

    def _on_new_password_click(self, _button: Any) -> None:
        if not self._confirm_password.value and self._same_attempt():
            return
        self._set_new_password()

    def _set_new_password(self) -> None:
        if self._busy:
            return
        self._last_submit = time.monotonic()
        new, again = Secret(self._new_password.value), Secret(self._confirm_password.value)
        self._new_password.value = ""
        self._confirm_password.value = ""
        if not new:
            self._say("Enter a new password.", error=True)
            return
        if new != again:
            self._say("The two passwords do not match; enter them again.", error=True)
            return
        self._answer(self._new_password_button, "Setting…", new)

    def _on_mfa_click(self, _button: Any) -> None:
        choice = self._mfa_choice.value
        if choice:
            self._answer(self._mfa_button, "Continuing…", str(choice))

    def _on_code_submit(self, change: dict) -> None:
        if change["new"]:
            self._submit_code()

    def _on_code_click(self, _button: Any) -> None:
        if not self._code.value and self._same_attempt():
            return
        self._submit_code()

    def _submit_code(self) -> None:
        if self._busy:
            return
        self._last_submit = time.monotonic()
        code = Secret(self._code.value).strip()
        self._code.value = ""
        if not code:
            self._say("Enter the code.", error=True)
            return
        self._answer(self._code_button, "Verifying…", code)

    def _answer(self, button: Any, busy_text: str, answer: str | Secret) -> None:
        self._say("")

        def confirm() -> None:
            try:
                result = self._session.confirm_sign_in(answer)
            except NotAuthorizedError as error:
                # Cognito ended this sign-in attempt (its session expired, too many tries), and
                # so did the session; other errors leave the same step open to answer again.
                self._show_session_state()
                self._say(f"{error} Sign in again.", error=True)
                return
            self._show_step(result)

        self._attempt(button, busy_text, confirm)

    def _on_cancel(self, _button: Any) -> None:
        self._say("")
        self._show_session_state()

    def _on_refresh(self, _button: Any) -> None:
        def refresh() -> None:
            self._refresh_failure = None
            snapshot = self._session.fetch_auth_session(force_refresh=True)
            self._show_session_state()
            # A failed refresh leaves still-valid values SUCCESS; its event says what went wrong.
            failure = self._refresh_failure
            for result in (snapshot.user_pool_tokens_result, snapshot.aws_credentials_result):
                if result.error is not None and not isinstance(result.error, ConfigurationError):
                    failure = result.error
                    break
            if failure is not None:
                self._fail(failure)
            elif snapshot.is_signed_in:
                self._say("Refreshed.")

        self._attempt(self._refresh_button, "Refreshing…", refresh)

    def _on_sign_out(self, _button: Any) -> None:
        def sign_out() -> None:
            self._session.sign_out()
            self._show_session_state("Signed out.")

        self._attempt(self._sign_out_button, "Signing out…", sign_out)

    # -- session events (may arrive on the background refresher thread) -----------------------

    def _on_session_event(self, payload: AuthEventPayload) -> None:
        try:
            event = payload.event
            if event is AuthEvent.SIGNED_IN:
                self._say("")
                self._show_session_state()
            elif event is AuthEvent.SIGNED_OUT:
                if payload.user is not None and not self._username.value:
                    self._username.value = payload.user.username
                self._show_session_state("Signed out.")
            elif event is AuthEvent.SESSION_EXPIRED:
                self._show_session_state()  # shows why, from the session's status
            elif event is AuthEvent.TOKEN_REFRESH_FAILURE:
                self._refresh_failure = payload.error
                if self._view == "signed_in":
                    self._render_status()
                if payload.error is not None:
                    self._fail(payload.error)
            elif self._view == "signed_in":  # TOKEN_REFRESH, CREDENTIALS_REFRESH
                self._render_status()
                if self._message_is_error:
                    self._say("")
        except Exception:  # a widget never breaks the session's event delivery
            log.exception("The sign-in widget could not show a session event.")

    def close(self) -> None:
        """Unsubscribe from the session and close the widget and its parts."""
        unsubscribe, self._unsubscribe = self._unsubscribe, []
        for stop in unsubscribe:
            stop()
        with self._lock:
            self._forget_challenge()
            self._password.value = ""
        for part in self._parts():
            part.close()
        super().close()

    def _parts(self) -> list[widgets.Widget]:
        """Every widget this one is made of (for close())."""
        found: list[widgets.Widget] = []
        stack: list[Any] = [
            self._signed_out_view,
            self._new_password_view,
            self._mfa_view,
            self._code_view,
            self._signed_in_view,
            self._title,
            self._body,
            self._message,
            self._qr,
            self._totp_secret_text,
            self._sso,
        ]
        while stack:
            part = stack.pop()
            if isinstance(part, widgets.Widget) and part not in found:
                found.append(part)
                stack.extend(getattr(part, "children", ()))
        return found
