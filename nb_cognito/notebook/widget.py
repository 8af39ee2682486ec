"""`SignInWidget`: sign in to Cognito from a notebook cell, answer any challenge, see the session.

>>> import nb_cognito
>>> nb_cognito.SignInWidget()      # or: %cognito_login --widget

A card with a title and a status chip (signed out, signing in, signed in, session expired):
the sign-in form, then whatever Cognito asks, then the session with relative times that count
down live and a thin bar for the lifetime left of the AWS credentials. Its look lives in
:mod:`nb_cognito.notebook.widget_look` and follows JupyterLab's light and dark themes.

The widget drives the kernel-wide session (``nb_cognito.session``), so it agrees with
``%cognito_login``, ``nb_cognito.sign_in()`` and any other widget: it subscribes to the
session's events and redraws itself when they fire. While signed in, a daemon thread redraws
the times once a second (on the session's clock) until the widget is closed or signed out.

Secrets never stay in widget state: the password, new-password and code fields are emptied
as soon as their value is read, and the TOTP setup QR code is removed once setup ends.
Errors are shown in the widget, since ipywidgets swallows exceptions raised in handlers.
Every part carries a ``nb-cognito-*`` CSS class, which the browser test and the test driver
(``tests/widget_driver.py``) use to find it.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import os
import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from nb_cognito.exceptions import AuthError, ConfigurationError, NotAuthorizedError, ServiceUnavailableError
from nb_cognito.models import AuthEvent, AuthEventPayload, SignInResult, SignInStep
from nb_cognito.notebook import widget_look as look

if TYPE_CHECKING:  # pragma: no cover
    from nb_cognito.auth.session import CognitoSession

__all__ = ["SignInWidget"]

log = logging.getLogger("nb_cognito")

# A browser sends a field's value on blur, then the click that caused the blur: the click
# arrives right after the attempt the blur started, and belongs to it. A click later than this
# is the user's own (a click 1.3 s after a failed attempt used to be swallowed).
_QUEUED_CLICK_SECONDS = 0.5
_TICK_SECONDS = 1.0

_VIEWS = ("signed_out", "new_password", "mfa_selection", "code", "totp_setup", "signed_in")
_CHALLENGES = ("new_password", "mfa_selection", "code", "totp_setup")


def _describe(error: BaseException, *, signing_in: bool = False) -> str:
    """Plain words for ``error``; never a secret (AuthError messages are redacted at birth)."""
    if isinstance(error, ServiceUnavailableError) and signing_in:
        # Its default suggestion speaks of a kept session, which a sign-in does not have yet.
        return f"{error.args[0]} Check the network connection and try again."
    if isinstance(error, AuthError):
        return str(error)
    log.error("The sign-in widget hit an unexpected %s.", type(error).__name__, exc_info=error)
    return f"Something went wrong ({type(error).__name__}). The kernel log has the details."


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


class SignInWidget(widgets.VBox):
    """A sign-in card for the kernel-wide Cognito session, with every challenge and a status view.

    ``session`` defaults to ``nb_cognito.session``; ``username`` pre-fills the form (default
    ``NB_COGNITO_USERNAME``). ``view`` names what is shown (``"signed_out"``,
    ``"new_password"``, ``"mfa_selection"``, ``"code"``, ``"totp_setup"``, ``"signed_in"``),
    ``state`` what the chip says (``"signed_out"``, ``"signing_in"``, ``"signed_in"``,
    ``"expired"``) and ``message`` the text of the error or notice under it. ``close()``
    unsubscribes from the session and stops the countdown.
    """

    def __init__(
        self, session: CognitoSession | None = None, *, username: str | None = None, **kwargs: Any
    ) -> None:
        if session is None:
            from nb_cognito.kernel import kernel_session

            session = kernel_session()
        self._session = session
        self._lock = threading.RLock()
        self._view = "signed_out"
        self._state = "signed_out"
        self._message_text = ""
        self._message_is_error = False
        self._busy = False
        self._field_submitted_at: float | None = None
        self._refresh_failure: Exception | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        self._ticker: threading.Thread | None = None
        self._stop_ticking = threading.Event()

        self._style = widgets.HTML(look.STYLE, layout=widgets.Layout(display="none"))
        self._title = _part(widgets.HTML("AWS Cognito<span class='nbc-sub'>sign-in</span>"), "title")
        self._chip = _part(widgets.HTML(look.chip_html("signed_out")), "chip")
        header = _part(widgets.HBox([self._title, self._chip]), "header")
        self._message = _part(widgets.HTML(""), "message")

        # -- signed out: username, password, Sign in
        self._username = _field(
            widgets.Text,
            "username",
            "Username",
            "username",
            value=username if username is not None else os.environ.get("NB_COGNITO_USERNAME", ""),
        )
        self._password = _field(widgets.Password, "password", "Password", "password", continuous_update=False)
        self._sign_in_button = _button("sign-in", "Sign in", "primary", icon="sign-in")
        self._signed_out_view = widgets.VBox([self._username, self._password, _actions(self._sign_in_button)])

        # -- new password required
        self._new_password_prompt = _part(widgets.HTML("Choose a new password."), "prompt")
        self._new_password = _field(
            widgets.Password, "new-password", "New password", "new password", continuous_update=False
        )
        self._confirm_password = _field(
            widgets.Password, "confirm-password", "Repeat it", "the same again", continuous_update=False
        )
        self._new_password_button = _button("set-password", "Set password", "primary")
        self._cancel_button = _button("cancel", "Cancel", "secondary")
        self._new_password_view = widgets.VBox(
            [
                self._new_password_prompt,
                self._new_password,
                self._confirm_password,
                _actions(self._new_password_button, self._cancel_button),
            ]
        )

        # -- MFA selection
        self._mfa_choice = _part(
            widgets.ToggleButtons(
                options=["TOTP", "SMS"], description="Method", style={"description_width": look.LABEL_WIDTH}
            ),
            "mfa-choice",
        )
        self._mfa_button = _button("mfa", "Continue", "primary")
        self._mfa_view = widgets.VBox(
            [
                _part(widgets.HTML("Choose how to confirm your sign-in."), "prompt"),
                self._mfa_choice,
                _actions(self._mfa_button, self._cancel_button),
            ]
        )

        # -- a code (TOTP, SMS, or the first TOTP code after setup)
        self._code_prompt = _part(widgets.HTML(""), "prompt")
        self._qr = _part(
            widgets.Image(format="png", layout=widgets.Layout(width="180px", height="180px")), "qr"
        )
        self._totp_secret_text = _part(widgets.HTML(""), "totp-secret")
        self._setup_box = _part(widgets.VBox([], layout=widgets.Layout(align_items="center")), "setup")
        self._code = _field(widgets.Text, "code", "Code", "123456", continuous_update=False)
        self._code_button = _button("verify", "Verify", "primary")
        self._code_view = widgets.VBox(
            [self._code_prompt, self._setup_box, self._code, _actions(self._code_button, self._cancel_button)]
        )

        # -- signed in
        self._status = _part(widgets.HTML(""), "status")
        self._refresh_button = _button("refresh", "Refresh now", "secondary", icon="refresh")
        self._sign_out_button = _button("sign-out", "Sign out", "danger", icon="sign-out")
        self._signed_in_view = widgets.VBox(
            [self._status, _actions(self._refresh_button, self._sign_out_button, flush=True)]
        )

        self._body = _part(widgets.VBox([]), "body")

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

        kwargs.setdefault("children", [self._style, header, self._body, self._message])
        super().__init__(**kwargs)
        self.add_class("nb-cognito-card")
        self.add_class("nb-cognito-sign-in")
        self._show_session_state()

    def __repr__(self) -> str:
        return f"<SignInWidget view={self._view!r} state={self._state!r}>"

    # -- what is shown ---------------------------------------------------------------------

    @property
    def view(self) -> str:
        """The view shown: one of ``signed_out``, ``new_password``, ``mfa_selection``, ``code``,
        ``totp_setup``, ``signed_in``."""
        return self._view

    @property
    def state(self) -> str:
        """What the status chip says: ``signed_out``, ``signing_in``, ``signed_in`` or ``expired``."""
        return self._state

    @property
    def message(self) -> str:
        """The error or notice shown under the view ('' when none)."""
        return self._message_text

    def _show(self, view: str) -> None:
        assert view in _VIEWS
        with self._lock:
            if view not in _CHALLENGES:
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
            self._set_chip()
        if view == "signed_in":
            self._start_ticking()
        else:
            self._stop_ticking.set()

    def _set_chip(self, busy: bool = False) -> None:
        if busy or self._view in _CHALLENGES:
            state = "signing_in"
        elif self._view == "signed_in":
            state = "signed_in"
        else:
            state = "expired" if self._session.status().expired else "signed_out"
        if state != self._state or not self._chip.value:
            self._state = state
            self._chip.value = look.chip_html(state)

    def _say(self, text: str, *, error: bool = False) -> None:
        with self._lock:
            self._message_text = text
            self._message_is_error = error and bool(text)
            if not text:
                self._message.value = ""
            else:
                kind, role = ("nbc-alert", "alert") if error else ("nbc-note", "status")
                self._message.value = f"<div role='{role}' class='{kind}'>{html.escape(text)}</div>"

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
        """Draw who is signed in and until when, measured from the session's clock."""
        from nb_cognito.integrations import boto3_injection
        from nb_cognito.notebook.report import no_credentials_reason

        status = self._session.status()
        if not status.signed_in or status.user is None:
            return
        now = dt.datetime.fromtimestamp(self._session.clock.time(), dt.timezone.utc)
        identity = html.escape(status.identity_id) if status.identity_id else "-"
        rows = [
            ("User", f"<b>{html.escape(status.user.username)}</b>"),
            ("Identity", f"<span class='nbc-mono'>{identity}</span>"),
            ("Tokens", look.timed(status.tokens_expiration, now, "expire ")),
        ]
        missing = no_credentials_reason(self._session.settings)
        expires = status.credentials_expiration
        if missing is not None:
            rows.append(("AWS credentials", f"<span class='nbc-dim'>none: {html.escape(missing)}</span>"))
        elif expires is None:
            reason = f": {status.last_error}" if status.last_error else ""
            rows.append(("AWS credentials", f"<span class='nbc-dim'>not yet{html.escape(reason)}</span>"))
        else:
            issued = status.last_refresh
            lifetime = (expires - issued).total_seconds() if issued is not None else 3600.0
            key = f" · key <span class='nbc-mono'>{html.escape(status.access_key_hint or '-')}</span>"
            rows.append(
                (
                    "AWS credentials",
                    look.timed(expires, now, "expire ")
                    + key
                    + look.lifetime_bar((expires - now).total_seconds(), lifetime),
                )
            )
        injected = boto3_injection.is_installed()
        rows.append(
            (
                "boto3 injection",
                "on <span class='nbc-dim'>(boto3 clients use these credentials)</span>"
                if injected
                else "off <span class='nbc-dim'>(use nb_cognito.session.boto3_session())</span>"
                if missing is None
                else "off <span class='nbc-dim'>(no AWS credentials)</span>",
            )
        )
        refresh = look.timed(status.next_refresh, now) if status.auto_refresh else "on demand"
        rows.append(("Next refresh", refresh))
        text = look.status_html(rows)
        if self._status.value != text:
            self._status.value = text

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
                prompt += f" The pool also requires {needed}: ask your administrator to set them."
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
            image = look.qr_image(step.totp_setup_uri) if step.totp_setup_uri else None
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
                self._totp_secret_text.value = (
                    f"<code class='nbc-mono' style='user-select:all'>{secret}</code>"
                )
                self._setup_box.children = (self._totp_secret_text,)
        else:  # pragma: no cover - a step added to SignInStep later
            self._say(f"This sign-in step ({kind.value}) is not supported by the widget.", error=True)
            self._show("signed_out")

    # -- the live countdown ------------------------------------------------------------------

    def _start_ticking(self) -> None:
        if self._ticker is not None and self._ticker.is_alive() and not self._stop_ticking.is_set():
            return
        self._stop_ticking = threading.Event()
        self._ticker = threading.Thread(
            target=_tick_until_stopped,
            args=(weakref.ref(self), self._stop_ticking, self._session.clock),
            name="nb-cognito-widget-countdown",
            daemon=True,
        )
        self._ticker.start()

    def _tick(self) -> None:
        """Redraw the relative times (the background thread calls this once a second)."""
        with self._lock:
            if self._view == "signed_in":
                self._render_status()

    # -- actions -----------------------------------------------------------------------------

    def _attempt(self, button: Any, busy_text: str, action: Callable[[], None], *, signing_in: bool) -> None:
        """Run ``action`` with ``button`` disabled and busy; show any error in the widget."""
        if self._busy:
            return
        self._busy = True
        label, icon = button.description, button.icon
        button.disabled, button.description, button.icon = True, busy_text, "spinner"
        if signing_in:
            self._set_chip(busy=True)
        try:
            action()
        except Exception as error:  # ipywidgets would swallow it: show it instead
            self._fail(error)
        finally:
            button.disabled, button.description, button.icon = False, label, icon
            self._busy = False
            self._set_chip()

    def _submitted_by_field(self, submit: Callable[[], None]) -> None:
        """Enter, or the blur before a click, sent a field's value: submit it."""
        try:
            submit()
        finally:
            self._field_submitted_at = self._session.clock.time()

    def _click_belongs_to_the_field(self) -> bool:
        """True for the click whose blur just submitted the (now emptied) field; at most once."""
        submitted, self._field_submitted_at = self._field_submitted_at, None
        return submitted is not None and self._session.clock.time() - submitted < _QUEUED_CLICK_SECONDS

    def _on_password_submit(self, change: dict) -> None:
        if change["new"]:
            self._submitted_by_field(self._sign_in)

    def _on_sign_in_click(self, _button: Any) -> None:
        if not self._password.value and self._click_belongs_to_the_field():
            return
        self._sign_in()

    def _sign_in(self) -> None:
        if self._busy:
            return
        password = self._password.value
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

        self._attempt(self._sign_in_button, "Signing in…", sign_in, signing_in=True)

    def _on_new_password_submit(self, change: dict) -> None:
        if change["new"]:  # Enter in the confirmation field
            self._submitted_by_field(self._set_new_password)

    def _on_new_password_click(self, _button: Any) -> None:
        if not self._confirm_password.value and self._click_belongs_to_the_field():
            return
        self._set_new_password()

    def _set_new_password(self) -> None:
        if self._busy:
            return
        new, again = self._new_password.value, self._confirm_password.value
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
            self._submitted_by_field(self._submit_code)

    def _on_code_click(self, _button: Any) -> None:
        if not self._code.value and self._click_belongs_to_the_field():
            return
        self._submit_code()

    def _submit_code(self) -> None:
        if self._busy:
            return
        code = self._code.value.strip()
        self._code.value = ""
        if not code:
            self._say("Enter the code.", error=True)
            return
        self._answer(self._code_button, "Verifying…", code)

    def _answer(self, button: Any, busy_text: str, answer: str) -> None:
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

        self._attempt(button, busy_text, confirm, signing_in=True)

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
                self._say("Refreshed: new tokens and AWS credentials.")

        self._attempt(self._refresh_button, "Refreshing…", refresh, signing_in=False)

    def _on_sign_out(self, _button: Any) -> None:
        def sign_out() -> None:
            self._session.sign_out()
            self._show_session_state("Signed out.")

        self._attempt(self._sign_out_button, "Signing out…", sign_out, signing_in=False)

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
        """Unsubscribe from the session, stop the countdown, close the widget and its parts."""
        self._stop_ticking.set()
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
            *self.children,
            self._signed_out_view,
            self._new_password_view,
            self._mfa_view,
            self._code_view,
            self._signed_in_view,
            self._qr,
            self._totp_secret_text,
        ]
        while stack:
            part = stack.pop()
            if isinstance(part, widgets.Widget) and part not in found and part is not self:
                found.append(part)
                stack.extend(getattr(part, "children", ()))
        return found


def _tick_until_stopped(widget: weakref.ref[SignInWidget], stop: threading.Event, clock: Any) -> None:
    """Redraw the widget's times every second of ``clock`` until ``stop`` (or the widget is gone)."""
    while not clock.wait_until(clock.time() + _TICK_SECONDS, stop):
        alive = widget()
        if alive is None:
            return
        try:
            alive._tick()
        except Exception:  # a redraw never kills the countdown
            log.debug("The sign-in widget could not redraw its countdown.", exc_info=True)
        del alive
