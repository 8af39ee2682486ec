"""`SignInWidget`: sign in to Cognito from a notebook cell, answer any challenge, see the session.

>>> import nb_cognito
>>> nb_cognito.SignInWidget()      # or: %cognito_login --widget

A card with a title and a status chip: the sign-in form, whatever Cognito asks next, then the
session, whose times count down live (a daemon thread redraws them once a second of the
session's clock while signed in). Its parts are in :mod:`.widget_parts`, its look in
:mod:`.widget_look`, the steps of a sign-in under way in :mod:`.widget_steps`, and how a click
or a field runs an attempt in :mod:`.widget_attempts`. It drives the kernel-wide session, so it
agrees with ``%cognito_login``, ``nb_cognito.sign_in()`` and other widgets: it follows the
session's events, with no polling.

Secrets never stay in widget state: the password, new-password and code fields are emptied as
soon as their value is read, and the TOTP setup QR code is removed once setup ends. Errors are
shown in the widget, since ipywidgets swallows exceptions raised in handlers.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from nb_cognito import forksafe
from nb_cognito.exceptions import AuthError, ConfigurationError
from nb_cognito.models import AuthEvent, AuthEventPayload
from nb_cognito.notebook import sso_buttons
from nb_cognito.notebook import widget_look as look
from nb_cognito.notebook.widget_attempts import Attempts
from nb_cognito.notebook.widget_parts import Countdown, WidgetParts
from nb_cognito.notebook.widget_steps import ChallengeSteps
from nb_cognito.secret import Secret

if TYPE_CHECKING:  # pragma: no cover
    from nb_cognito.auth.session import CognitoSession

__all__ = ["SignInWidget"]

log = logging.getLogger("nb_cognito")

_CHALLENGES = (
    "new_password",
    "mfa_selection",
    "code",
    "totp_setup",
    "first_factor",
    "password",
    "email_setup",
)
_VIEWS = ("signed_out", *_CHALLENGES, "signed_in")


class SignInWidget(widgets.VBox):
    """A sign-in card for the kernel-wide Cognito session, with every challenge and a status view.

    ``session`` defaults to ``nb_cognito.session``; ``username`` pre-fills the form (default
    ``NB_COGNITO_USERNAME``). ``view`` names what is shown (``"signed_out"``,
    ``"new_password"``, ``"mfa_selection"``, ``"code"``, ``"totp_setup"``, ``"first_factor"``,
    ``"password"``, ``"email_setup"``, ``"signed_in"``),
    ``state`` what the chip says (``"signed_out"``, ``"signing_in"``, ``"signed_in"``,
    ``"expired"``) and ``message`` the text of the error or notice under it. ``close()``
    unsubscribes from the session and stops the countdown. Shown signed out, it first checks
    that the pool exists (``check_pool(session)``), so a wrong pool id, region or endpoint is
    said before anyone types a password.
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
        self._state = "signed_out"
        self._message_text = ""
        self._message_is_error = False
        self._refresh_failure: Exception | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        self._countdown = Countdown(self, session.clock)

        ui = self._ui = WidgetParts.build(username, sso_buttons.SsoButtons(session, say=self._say))
        attempts = self._attempts = Attempts(
            session.clock, chip=lambda busy: self._set_chip(busy=busy), fail=self._fail
        )
        self._steps = ChallengeSteps(
            ui,
            session,
            attempts,
            show=self._show,
            say=self._say,
            render_status=self._render_status,
            show_session_state=self._show_session_state,
        )

        # Enter (or the blur before a click) sends the password: sign in; then the click.
        ui.password.observe(attempts.on_field_submit(self._sign_in), names="value")
        ui.sign_in_button.on_click(attempts.on_click(ui.password, self._sign_in))
        ui.cancel_button.on_click(self._on_cancel)
        ui.refresh_button.on_click(self._on_refresh)
        ui.sign_out_button.on_click(self._on_sign_out)

        for event in AuthEvent:
            self._unsubscribe.append(session.on(event, self._on_session_event))

        kwargs.setdefault("children", [ui.style, ui.header, ui.body, ui.message])
        super().__init__(**kwargs)
        self.add_class("nb-cognito-card")
        self.add_class("nb-cognito-sign-in")
        self._show_session_state()
        if not session.is_signed_in:
            self._check_pool()

    def __repr__(self) -> str:
        return f"<SignInWidget view={self._view!r} state={self._state!r}>"

    # -- what is shown ---------------------------------------------------------------------

    @property
    def view(self) -> str:
        """The view shown: one of ``signed_out``, ``new_password``, ``mfa_selection``, ``code``,
        ``totp_setup``, ``first_factor``, ``password``, ``email_setup``, ``signed_in``."""
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
                self._steps.forget()
            elif view != "totp_setup":
                self._steps.forget_totp_setup()
            self._view = view
            panel = {
                "signed_out": self._ui.signed_out_view,
                "signed_in": self._ui.signed_in_view,
                **self._steps.views(),
            }[view]
            if self._ui.body.children != (panel,):
                self._ui.body.children = (panel,)
            self._set_chip()
        if view == "signed_in":
            self._countdown.start()
        else:
            self._countdown.stop()

    def _set_chip(self, busy: bool = False) -> None:
        if busy or self._view in _CHALLENGES:
            state = "signing_in"
        elif self._view == "signed_in":
            state = "signed_in"
        else:
            state = "expired" if self._session.status().expired else "signed_out"
        user = self._session.status().user if state == "signed_in" else None
        chip = look.chip_html(state, user.username if user is not None else None)
        self._state = state
        if self._ui.chip.value != chip:
            self._ui.chip.value = chip

    def _say(self, text: str, *, error: bool = False) -> None:
        with self._lock:
            self._message_text = text
            self._message_is_error = error and bool(text)
            if not text:
                self._ui.message.value = ""
            else:
                kind, role = ("nbc-alert", "alert") if error else ("nbc-note", "status")
                self._ui.message.value = f"<div role='{role}' class='{kind}'>{html.escape(text)}</div>"

    def _fail(self, error: BaseException) -> None:
        signing_in = self._view != "signed_in"
        self._say(look.describe_error(error, signing_in=signing_in), error=True)

    def _check_pool(self) -> None:
        """Before a password is typed: say at once when the pool, region or endpoint is wrong."""
        try:
            from nb_cognito.auth.session import check_pool

            check_pool(self._session)
        except AuthError as error:
            self._say(look.describe_error(error, signing_in=True), error=True)

    def _needs_password(self) -> bool:
        try:
            return self._session.settings.needs_password
        except AuthError:  # bad settings: the sign-in says which
            return True

    def _render_status(self) -> None:
        """Draw who is signed in and until when, measured from the session's clock."""
        from nb_cognito.integrations import boto3_injection
        from nb_cognito.notebook.report import no_credentials_reason

        status = self._session.status()
        if not status.signed_in or status.user is None:
            return
        now = dt.datetime.fromtimestamp(self._session.clock.time(), dt.timezone.utc)
        text = look.signed_in_html(
            status,
            now,
            no_credentials=no_credentials_reason(self._session.settings),
            injected=boto3_injection.is_installed(),
        )
        text += self._steps.device_html()
        if self._session.status().through_hub:  # no password was typed: say where it came from
            who = html.escape(status.user.username)
            text = f"<div class='nbc-hub'>Signed in through JupyterHub as <b>{who}</b></div>{text}"
        if self._ui.status.value != text:
            self._ui.status.value = text

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
                if status.user is not None and not self._ui.username.value:
                    self._ui.username.value = status.user.username
                self._show("signed_out")
                if status.expired:
                    self._say(status.last_error or "Your session has ended; sign in again.", error=True)
                elif notice:
                    self._say(notice)

    def redraw_times(self) -> None:
        """Redraw the relative times (the background thread calls this once a second)."""
        with self._lock:
            if self._view == "signed_in":
                self._render_status()

    # -- actions -----------------------------------------------------------------------------

    def _sign_in(self) -> None:
        if self._attempts.busy:
            return
        password = Secret(self._ui.password.value)  # a Secret from the moment it is read
        self._ui.password.value = ""  # never left in widget state, whatever happens next
        username = self._ui.username.value.strip()
        if not username:
            self._say("Enter your username.", error=True)
            return
        if not password and self._needs_password():
            self._say("Enter your password.", error=True)
            return
        self._say("")

        def sign_in() -> None:
            result = self._session.sign_in(username, password or None)
            self._steps.show_step(result)

        self._attempts.run(self._ui.sign_in_button, "Signing in…", sign_in, signing_in=True)

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

        self._attempts.run(self._ui.refresh_button, "Refreshing…", refresh, signing_in=False)

    def _on_sign_out(self, _button: Any) -> None:
        def sign_out() -> None:
            self._session.sign_out()
            self._show_session_state()  # the chip says "Signed out"; the event cleared the note

        self._attempts.run(self._ui.sign_out_button, "Signing out…", sign_out, signing_in=False)

    # -- session events (may arrive on the background refresher thread) -----------------------

    def _on_session_event(self, payload: AuthEventPayload) -> None:
        try:
            event = payload.event
            if event is AuthEvent.SIGNED_IN:
                self._say("")
                self._show_session_state()
            elif event is AuthEvent.SIGNED_OUT:
                if payload.user is not None and not self._ui.username.value:
                    self._ui.username.value = payload.user.username
                self._say("")  # the chip says "Signed out": a note would say it twice
                self._show_session_state()
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
        self._countdown.stop()
        unsubscribe, self._unsubscribe = self._unsubscribe, []
        for stop in unsubscribe:
            stop()
        with self._lock:
            self._steps.forget()
            self._ui.password.value = ""
        for part in self._parts():
            part.close()
        super().close()

    def _parts(self) -> list[widgets.Widget]:
        """Every widget this one is made of, shown or not (for close())."""
        found: list[widgets.Widget] = []
        stack: list[Any] = [getattr(self._ui, field.name) for field in dataclasses.fields(self._ui)]
        stack += self._steps.parts()
        while stack:
            part = stack.pop()
            if isinstance(part, widgets.Widget) and part not in found and part is not self:
                found.append(part)
                stack.extend(getattr(part, "children", ()))
        return found
