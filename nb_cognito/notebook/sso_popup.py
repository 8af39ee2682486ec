"""The popup bridge: the hosted UI in a browser popup, the code back over the widget's comm.

Works in JupyterLab and Notebook 7, local or remote (JupyterHub), with ``anywidget`` installed
(``pip install 'nb-cognito[sso]'``) and the server extension enabled (``pip install`` does it).

1. When displayed, the front end works out the callback page's URL from the page's Jupyter
   config (``<base_url>nb-cognito/callback``; behind JupyterHub
   ``<hub_prefix>user-redirect/nb-cognito/callback``), and sets ``ready``.
2. A "Sign in with ..." click makes the kernel start a sign-in with that URL as
   ``redirect_uri`` and send the authorize URL to the front end as a one-off custom message
   (never a trait: it holds the ``state``), which opens it in a popup.
3. The callback page (:mod:`nb_cognito.notebook.server_extension`) posts the query to its opener
   with the exact origin; the front end accepts it only from that popup, from its own origin,
   with the ``state`` it opened, and sends it to the kernel, which checks the state again,
   redeems the code and signs the session in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import traitlets

from nb_cognito.exceptions import AuthError

if TYPE_CHECKING:  # pragma: no cover
    from nb_cognito.auth.oauth import AuthorizationRequest, HostedUIClient
    from nb_cognito.auth.session import CognitoSession

__all__ = ["popup_bridge"]

log = logging.getLogger("nb_cognito")

_ESM = r"""
function callbackUrl() {
  const node = document.getElementById("jupyter-config-data");
  if (!node) return "";
  let config;
  try { config = JSON.parse(node.textContent); } catch (e) { return ""; }
  const origin = window.location.origin;
  if (config.hubPrefix) {
    const hub = config.hubHost || origin;
    return hub + config.hubPrefix.replace(/\/?$/, "/") + "user-redirect/nb-cognito/callback";
  }
  const base = (config.baseUrl || "/").replace(/\/?$/, "/");
  return origin + base + "nb-cognito/callback";
}

function render({ model, el }) {
  let popup = null;
  let expectedState = null;
  const url = callbackUrl();
  if (url) {
    model.set("callback_url", url);
    model.set("ready", true);
    model.save_changes();
  }
  el.classList.add("nb-cognito-sso-popup");
  model.on("msg:custom", (msg) => {
    if (!msg || msg.type !== "open" || typeof msg.url !== "string") return;
    expectedState = new URL(msg.url).searchParams.get("state");
    popup = window.open(msg.url, "nb-cognito-sign-in", "popup,width=520,height=720");
    if (!popup) model.send({ type: "blocked" });
  });
  const onMessage = (event) => {
    if (event.origin !== window.location.origin || popup === null || event.source !== popup) return;
    const data = event.data;
    if (!data || data.type !== "nb-cognito-callback" || typeof data.query !== "string") return;
    const state = new URLSearchParams(data.query).get("state");
    if (!expectedState || state !== expectedState) return;  // not the sign-in we opened
    expectedState = null;
    popup = null;
    model.send({ type: "callback", query: data.query });
  };
  window.addEventListener("message", onMessage);
  return () => window.removeEventListener("message", onMessage);
}
export default { render };
"""


def popup_bridge(session: CognitoSession, say: Callable[..., None]) -> Any:
    """A :class:`PopupBridge` for ``session``, or None without ``anywidget``."""
    try:
        import anywidget
    except ImportError:
        return None

    class PopupBridge(anywidget.AnyWidget):
        """Invisible: opens the hosted UI in a popup and takes the code back (see the module doc)."""

        _esm = _ESM
        ready = traitlets.Bool(False).tag(sync=True)
        callback_url = traitlets.Unicode("").tag(sync=True)

        def __init__(self) -> None:
            super().__init__()
            self._pending: tuple[AuthorizationRequest, HostedUIClient] | None = None
            self._started_at = 0.0
            self.on_msg(self._on_front_end_message)

        def start(self, provider: str | None) -> None:
            """Open the hosted UI (straight to ``provider`` when given) in a popup."""
            from nb_cognito.auth.oauth import HostedUIClient, new_request

            try:
                settings = session.settings
                request = new_request(settings, provider, redirect_uri=self.callback_url)
                self._pending = (request, HostedUIClient(settings))
            except AuthError as error:
                say(str(error), error=True)
                return
            self._started_at = session.clock.time()
            say("Sign in in the popup window…")
            self.send({"type": "open", "url": request.url})

        def _on_front_end_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
            kind = content.get("type") if isinstance(content, dict) else None
            if kind == "blocked":
                say(
                    "The browser blocked the sign-in popup: allow popups for this page and click again.",
                    error=True,
                )
            elif kind == "callback":
                self._finish(str(content.get("query", "")))

        def _finish(self, query: str) -> None:
            from nb_cognito.auth.oauth import code_from_redirect, complete

            pending, self._pending = self._pending, None
            if pending is None or session.clock.time() - self._started_at > 600:
                say("No sign-in is waiting for that answer; click the button again.", error=True)
                return
            request, client = pending
            try:
                complete(session.redirect_sign_in, client, request, code_from_redirect(request, "?" + query))
            except AuthError as error:
                say(str(error), error=True)

    return PopupBridge()
