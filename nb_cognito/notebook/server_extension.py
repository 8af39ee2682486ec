"""The Jupyter server extension: the hosted UI's callback page, ``<base_url>nb-cognito/callback``.

``pip install nb-cognito`` enables it (``etc/jupyter/jupyter_server_config.d/nb_cognito.json``).
The sign-in widget opens the hosted UI in a popup; Cognito sends the popup back here with
``?code=...&state=...``. This page, served by the same Jupyter server as JupyterLab, removes the
query from the address bar and history, and posts it to ``window.opener`` with the target origin
set to its own origin, which is the origin of the JupyterLab page that opened it (any other
opener gets nothing). The widget's front end checks the ``state`` against the sign-in it
started and hands the query to the kernel over the widget's comm; the kernel checks it again.

Only a signed-in Jupyter user gets the page (the Jupyter server's own authentication). Register
``http(s)://<jupyter host>[:port]<base_url>nb-cognito/callback`` as a callback URL of the app
client; behind JupyterHub, ``https://<hub host>/hub/user-redirect/nb-cognito/callback`` (one URI
for every user: the Hub redirects it to the user's own server).
"""

from __future__ import annotations

from typing import Any

from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import web

__all__ = ["CALLBACK_PATH", "CallbackHandler"]

CALLBACK_PATH = "nb-cognito/callback"

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">
<title>nb_cognito sign-in</title></head>
<body><p id="nb-cognito-status">Finishing the sign-in…</p>
<script>
(function () {
  var query = window.location.search.replace(/^\\?/, "");
  history.replaceState(null, "", window.location.pathname);
  var status = document.getElementById("nb-cognito-status");
  var params = new URLSearchParams(query);
  if (!params.get("state") || !(params.get("code") || params.get("error"))) {
    status.textContent = "Refused: this is not the answer to an nb_cognito sign-in.";
    return;
  }
  if (!window.opener) {
    status.textContent = "Start the sign-in from the nb_cognito widget in JupyterLab.";
    return;
  }
  window.opener.postMessage({type: "nb-cognito-callback", query: query}, window.location.origin);
  status.textContent = "Signed in. This window closes itself.";
  window.close();
})();
</script></body></html>
"""


class CallbackHandler(JupyterHandler):
    """Serves the callback page; the code stays in the browser until the widget sends it."""

    @web.authenticated
    def get(self) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header("Referrer-Policy", "no-referrer")
        self.finish(PAGE)


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "nb_cognito.notebook.server_extension"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    web_app = serverapp.web_app
    route = url_path_join(web_app.settings["base_url"], CALLBACK_PATH)
    web_app.add_handlers(".*$", [(route, CallbackHandler)])
    serverapp.log.info("nb_cognito: hosted UI callback page at %s", route)
