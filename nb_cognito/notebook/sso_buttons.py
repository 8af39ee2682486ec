"""The sign-in widget's "Sign in with <provider>" buttons (hosted UI, single sign-on).

One button per identity provider named by the ``identity_provider`` setting, or one
"Sign in with SSO" button (the hosted page, which lists the providers) when none is named.
No button at all unless ``oauth_domain`` is set.

A click signs in through the hosted UI in a background thread, so the notebook stays usable:

* in JupyterLab / Notebook 7 with the popup bridge (:mod:`nb_cognito.notebook.sso_popup`), the
  hosted UI opens in a popup and the Jupyter server's callback page hands the code back;
* else, when the kernel's machine has a browser and ``redirect_uri`` is a loopback URL, the
  kernel opens the browser and its loopback listener takes the code;
* else the widget says to use ``%cognito_login --hosted-ui`` (paste-back).

Nothing secret is put in widget state: the authorize URL (it holds the sign-in's ``state``)
travels to the popup as a one-off custom message, never as a trait.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from nb_cognito import forksafe
from nb_cognito.exceptions import AuthError

if TYPE_CHECKING:  # pragma: no cover
    from nb_cognito.auth.session import CognitoSession

__all__ = ["SsoButtons", "sso_choices"]

log = logging.getLogger("nb_cognito")

Say = Callable[..., None]


def sso_choices(session: CognitoSession) -> list[str | None]:
    """The buttons to show: provider names, ``[None]`` for the hosted page, ``[]`` for none."""
    from nb_cognito.settings.oauth import provider_names

    try:
        settings = session.settings
    except AuthError:
        return []
    if settings.oauth_domain is None:
        return []
    return list(provider_names(settings.identity_provider)) or [None]


class SsoButtons(widgets.VBox):
    """The SSO buttons. ``say(text, error=False)`` shows a message in the owning widget."""

    def __init__(self, session: CognitoSession, say: Say, **kwargs: Any) -> None:
        self._session = session
        self._say = say
        self._running = forksafe.Lock()  # one sign-in at a time
        self.buttons: list[widgets.Button] = []
        for provider in sso_choices(session):
            button = widgets.Button(description=f"Sign in with {provider or 'SSO'}", icon="external-link")
            button.add_class("nb-cognito-sso-button")
            button.add_class("nb-cognito-secondary")  # the card's look (widget_look)
            button.on_click(lambda _b, p=provider: self.click(p))
            self.buttons.append(button)
        self.popup: Any = None
        if self.buttons:
            from nb_cognito.notebook.sso_popup import popup_bridge

            self.popup = popup_bridge(session, say)
        row = widgets.HBox(self.buttons)
        row.add_class("nb-cognito-actions")
        children = [row] if self.buttons else []
        if self.popup is not None:
            children.append(self.popup)
        super().__init__(children, **kwargs)

    def click(self, provider: str | None) -> threading.Thread | None:
        """Start the sign-in for ``provider`` (None: the hosted page); returns its thread, if any."""
        from nb_cognito.auth.oauth_callback import browser_available

        if self.popup is not None and self.popup.ready:
            self.popup.start(provider)
            return None
        try:
            redirect_uri = self._session.settings.redirect_uri
        except AuthError as error:
            self._say(str(error), error=True)
            return None
        from nb_cognito.settings.oauth import is_loopback

        if not (redirect_uri and is_loopback(redirect_uri) and browser_available()):
            self._say(
                "This kernel cannot open a browser for you: run %cognito_login --hosted-ui in a cell "
                "and paste the address your browser ends on.",
                error=True,
            )
            return None
        if not self._running.acquire(blocking=False):
            return None  # one sign-in at a time
        thread = threading.Thread(target=self._loopback, args=(provider,), name="nb-cognito-sso", daemon=True)
        thread.start()
        return thread

    def _loopback(self, provider: str | None) -> None:
        try:
            self._say("Sign in in the browser window that opened…")
            self._session.sign_in_with_redirect(provider, method="loopback", write=lambda _text: None)
        except Exception as error:  # shown in the widget: a thread has nowhere else to report
            self._say(str(error), error=True)
        finally:
            self._running.release()

    def close(self) -> None:
        for part in [*self.buttons, *(self.children or ())]:
            part.close()
        if self.popup is not None:
            self.popup.close()
        super().close()
