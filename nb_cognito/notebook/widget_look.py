"""How the sign-in widget looks: its stylesheet and the HTML of its chip and status.

Kept apart from :mod:`nb_cognito.notebook.widget` (what the widget does). Everything here is
plain text in, escaped HTML out, so it is tested without a browser. The stylesheet is scoped
to ``.nb-cognito-card`` and uses JupyterLab's CSS variables (``--jp-*``), so the card follows
the light and dark themes; every variable has a fallback for frontends without them (classic
Notebook, VS Code). It reaches the page as a ``<style>`` element inside an HTML widget: styles
in ``innerHTML`` apply, and no script runs.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import logging
from typing import TYPE_CHECKING

from nb_cognito.exceptions import AuthError, ServiceUnavailableError

if TYPE_CHECKING:  # pragma: no cover
    from nb_cognito.models import SessionStatus

__all__ = [
    "CHIPS",
    "LABEL_GAP",
    "LABEL_WIDTH",
    "STYLE",
    "chip_html",
    "countdown",
    "lifetime_bar",
    "qr_image",
    "signed_in_html",
    "status_html",
    "timed",
]

log = logging.getLogger("nb_cognito")

#: The chip's states: (CSS modifier, text).
CHIPS = {
    "signed_out": ("out", "Signed out"),
    "signing_in": ("busy", "Signing in"),
    "signed_in": ("in", "Signed in"),
    "expired": ("expired", "Session expired"),
}

#: The width of every label: the form's field labels and the status table's row labels, so
#: that fields and values start at one column in every view ("AWS credentials" fits).
LABEL_WIDTH = "9em"
#: The gap between a label and its field or value, the same in every view.
LABEL_GAP = "8px"

STYLE = f"""
<style>
.nb-cognito-card {{
  --nbc-radius: 8px;
  --nbc-border: var(--jp-border-color2, #e0e0e0);
  --nbc-muted: var(--jp-ui-font-color2, #616161);
  --nbc-ok: var(--jp-success-color1, #388e3c);
  --nbc-warn: var(--jp-warn-color1, #f57c00);
  --nbc-error: var(--jp-error-color1, #d32f2f);
  --nbc-brand: var(--jp-brand-color1, #1976d2);
  box-sizing: border-box;
  width: 37em;
  max-width: 100%;
  margin: 4px 0;
  border: 1px solid var(--nbc-border);
  border-radius: var(--nbc-radius);
  background: var(--jp-layout-color1, #fff);
  color: var(--jp-ui-font-color1, rgba(0, 0, 0, 0.87));
  font-family: var(--jp-ui-font-family, system-ui, sans-serif);
  font-size: var(--jp-ui-font-size1, 13px);
  box-shadow: 0 1px 3px rgba(0, 0, 0, 0.08), 0 1px 2px rgba(0, 0, 0, 0.12);
  overflow: hidden;
}}
.nb-cognito-card .nb-cognito-header {{
  align-items: center;
  justify-content: space-between;
  padding: 10px 14px;
  border-bottom: 1px solid var(--nbc-border);
  background: var(--jp-layout-color2, #f5f5f5);
}}
.nb-cognito-card .nb-cognito-title {{
  font-weight: 600;
  font-size: var(--jp-ui-font-size2, 15px);
  letter-spacing: 0.01em;
}}
.nb-cognito-card .nb-cognito-title .nbc-sub {{
  font-weight: 400;
  color: var(--nbc-muted);
  margin-left: 6px;
  font-size: var(--jp-ui-font-size1, 13px);
}}
.nb-cognito-card .nbc-chip {{
  display: inline-flex;
  align-items: center;
  gap: 6px;
  padding: 1px 10px;
  border-radius: 999px;
  font-size: 11.5px;
  font-weight: 600;
  line-height: 20px;
  white-space: nowrap;
  border: 1px solid currentColor;
}}
.nb-cognito-card .nbc-chip::before {{
  content: "";
  width: 7px;
  height: 7px;
  border-radius: 50%;
  background: currentColor;
}}
.nb-cognito-card .nbc-chip .nbc-who {{
  display: inline-block;
  max-width: 14em;
  overflow: hidden;
  text-overflow: ellipsis;
  vertical-align: bottom;
}}
.nb-cognito-card .nbc-chip-out {{ color: var(--nbc-muted); }}
.nb-cognito-card .nbc-chip-busy {{ color: var(--nbc-brand); }}
.nb-cognito-card .nbc-chip-busy::before {{ animation: nbc-pulse 1s ease-in-out infinite; }}
.nb-cognito-card .nbc-chip-in {{ color: var(--nbc-ok); }}
.nb-cognito-card .nbc-chip-expired {{ color: var(--nbc-error); }}
@keyframes nbc-pulse {{ 50% {{ opacity: 0.25; }} }}
.nb-cognito-card .nb-cognito-body {{
  box-sizing: border-box;
  width: 100%;
  padding: 12px 14px 6px 14px;
  gap: 2px;
}}
.nb-cognito-card .nb-cognito-body .widget-vbox {{ width: 100%; }}
.nb-cognito-card .nb-cognito-body .widget-text,
.nb-cognito-card .nb-cognito-body .widget-password {{
  box-sizing: border-box;
  width: 100%;
  margin: 2px 0;
}}
.nb-cognito-card .nb-cognito-mfa-choice .widget-toggle-buttons {{ gap: 6px; }}
.nb-cognito-card .nb-cognito-mfa-choice .jupyter-button {{
  border-radius: 4px;
  width: 8em;
  margin: 0;
}}
.nb-cognito-card .nb-cognito-mfa-choice .jupyter-button.mod-active {{
  background: var(--nbc-brand);
  color: var(--jp-ui-inverse-font-color1, #fff);
}}
.nb-cognito-card .nb-cognito-body .widget-label,
.nb-cognito-card .nb-cognito-body .widget-label-basic {{
  color: var(--nbc-muted);
}}
.nb-cognito-card .nb-cognito-body .widget-inline-hbox > .widget-label {{
  box-sizing: border-box;
  text-align: left;
  margin: 0 {LABEL_GAP} 0 0;
  padding: 0;
  flex: 0 0 {LABEL_WIDTH};
}}
.nb-cognito-card .nb-cognito-body .widget-inline-hbox > input {{ margin-left: 0; }}
.nb-cognito-card .nb-cognito-prompt {{
  margin: 0 0 6px 0;
  line-height: 1.45;
}}
.nb-cognito-card .nb-cognito-actions {{
  padding-left: calc({LABEL_WIDTH} + {LABEL_GAP});
  margin-top: 8px;
  gap: 8px;
}}
.nb-cognito-card .nb-cognito-actions .jupyter-button {{
  margin: 0;
  border-radius: 4px;
  padding: 0 14px;
  min-width: 7em;
  width: auto;
}}
.nb-cognito-card .nb-cognito-actions.nbc-flush {{ padding-left: 0; }}
.nb-cognito-card .jupyter-button.nb-cognito-secondary {{
  background: transparent;
  color: var(--jp-ui-font-color1, #333);
  border: 1px solid var(--jp-border-color1, #bdbdbd);
  box-shadow: none;
}}
.nb-cognito-card .jupyter-button.nb-cognito-secondary:hover:enabled {{
  background: var(--jp-layout-color2, #eee);
}}
.nb-cognito-card .jupyter-button.nb-cognito-danger {{
  background: transparent;
  color: var(--nbc-error);
  border: 1px solid var(--nbc-error);
  box-shadow: none;
}}
.nb-cognito-card .jupyter-button.nb-cognito-danger:hover:enabled {{
  background: var(--nbc-error);
  color: var(--jp-ui-inverse-font-color1, #fff);
}}
.nb-cognito-card .nb-cognito-message {{ padding: 0 14px 12px 14px; }}
.nb-cognito-card .nbc-alert, .nb-cognito-card .nbc-note {{
  margin-top: 4px;
  padding: 7px 10px;
  border-radius: 4px;
  line-height: 1.4;
}}
.nb-cognito-card .nbc-alert {{
  color: var(--nbc-error);
  border-left: 3px solid var(--nbc-error);
  background: color-mix(in srgb, var(--nbc-error) 9%, transparent);
}}
.nb-cognito-card .nbc-note {{
  color: var(--nbc-muted);
  border-left: 3px solid var(--nbc-border);
  background: var(--jp-layout-color2, #f5f5f5);
}}
.nb-cognito-card table.nb-cognito-widget-status {{
  border-collapse: collapse;
  table-layout: fixed;
  width: 100%;
  margin: 0 0 4px 0;
  line-height: 1.45;
}}
.nb-cognito-card .nb-cognito-status.widget-html,
.nb-cognito-card .nb-cognito-prompt.widget-html,
.nb-cognito-card .nb-cognito-message.widget-html {{
  line-height: 1.45;
  height: auto;
  margin-left: 0;
  margin-right: 0;
}}
.nb-cognito-card .nb-cognito-status .widget-html-content,
.nb-cognito-card .nb-cognito-prompt .widget-html-content,
.nb-cognito-card .nb-cognito-message .widget-html-content {{
  line-height: 1.45;
  width: 100%;
}}
.nb-cognito-card table.nb-cognito-widget-status th {{
  box-sizing: content-box;
  width: {LABEL_WIDTH};
  text-align: left;
  font-weight: 400;
  color: var(--nbc-muted);
  padding: 3px {LABEL_GAP} 3px 0;
  overflow: hidden;
  text-overflow: ellipsis;
  vertical-align: top;
  white-space: nowrap;
}}
.nb-cognito-card table.nb-cognito-widget-status td {{
  text-align: left;
  padding: 3px 0;
  overflow-wrap: anywhere;
}}
.nb-cognito-card .nbc-mono {{
  font-family: var(--jp-code-font-family, monospace);
  font-size: 0.9em;
}}
.nb-cognito-card .nbc-dim {{ color: var(--nbc-muted); }}
.nb-cognito-card .nbc-bar {{
  height: 4px;
  margin-top: 4px;
  border-radius: 2px;
  background: var(--jp-layout-color3, #e0e0e0);
  overflow: hidden;
}}
.nb-cognito-card .nbc-bar > div {{
  height: 100%;
  border-radius: 2px;
  background: var(--nbc-ok);
  transition: width 1s linear;
}}
.nb-cognito-card .nbc-bar.nbc-low > div {{ background: var(--nbc-warn); }}
.nb-cognito-card .nbc-bar.nbc-out > div {{ background: var(--nbc-error); }}
.nb-cognito-card .nb-cognito-qr img {{ border-radius: 4px; background: #fff; }}
</style>
"""


def chip_html(state: str, user: str | None = None) -> str:
    """The status chip for ``state`` (a key of :data:`CHIPS`); signed in, it names ``user``
    (cut short with an ellipsis when long; the whole name is its tooltip)."""
    modifier, text = CHIPS[state]
    if state == "signed_in" and user:
        who = html.escape(user)
        text = f"<span>{text} as <b class='nbc-who' title='{who}'>{who}</b></span>"  # one flex item
    return f"<span class='nbc-chip nbc-chip-{modifier}' data-state='{state}'>{text}</span>"


def countdown(moment: dt.datetime | None, now: dt.datetime) -> str:
    """``moment`` relative to ``now`` in whole minutes, seconds only in the last minute:
    "in 54 min", "in 1 h 05 min", "in 42 s", "2 min ago"."""
    if moment is None:
        return "-"
    seconds = int((moment - now).total_seconds())
    span = abs(seconds)
    if span >= 3600:
        text = f"{span // 3600} h {span % 3600 // 60:02d} min"
    elif span >= 60:
        text = f"{span // 60} min"
    else:
        text = f"{span} s"
    return f"in {text}" if seconds > 0 else "now" if seconds == 0 else f"{text} ago"


def lifetime_bar(remaining: float, lifetime: float) -> str:
    """A thin bar showing the ``remaining`` share of ``lifetime`` (seconds)."""
    share = 0.0 if lifetime <= 0 else max(0.0, min(1.0, remaining / lifetime))
    level = "nbc-out" if remaining <= 0 else "nbc-low" if share < 0.2 else ""
    return (
        f"<div class='nbc-bar {level}' role='progressbar' aria-label='AWS credentials lifetime left' "
        f"aria-valuemin='0' aria-valuemax='100' aria-valuenow='{share * 100:.0f}'>"
        f"<div style='width:{share * 100:.1f}%'></div></div>"
    )


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def timed(moment: dt.datetime | None, now: dt.datetime, prefix: str = "") -> str:
    """A relative time, with the absolute UTC time as its tooltip."""
    if moment is None:
        return "<span class='nbc-dim'>-</span>"
    text = html.escape(prefix + countdown(moment, now))
    return f"<span title='{_utc(moment)}' data-utc='{_utc(moment)}'>{text}</span>"


def status_html(rows: list[tuple[str, str]]) -> str:
    """The signed-in status table; ``rows`` are (label, HTML already escaped) pairs."""
    cells = "".join(f"<tr><th>{html.escape(label)}</th><td>{value}</td></tr>" for label, value in rows)
    return f"<table class='nb-cognito-widget-status'>{cells}</table>"


def qr_image(uri: str) -> tuple[bytes, str] | None:
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


def signed_in_html(
    status: SessionStatus, now: dt.datetime, *, no_credentials: str | None, injected: bool
) -> str:
    """The signed-in table: who, the identity, relative expiries with the credentials' lifetime
    bar, boto3 injection and the next refresh. ``no_credentials`` says why there are none."""
    assert status.user is not None
    identity = html.escape(status.identity_id) if status.identity_id else "-"
    rows = [
        ("User", f"<b>{html.escape(status.user.username)}</b>"),
        ("Identity", f"<span class='nbc-mono'>{identity}</span>"),
        ("Tokens", timed(status.tokens_expiration, now, "expire ")),
    ]
    expires = status.credentials_expiration
    if no_credentials is not None:
        rows.append(("AWS credentials", f"<span class='nbc-dim'>none: {html.escape(no_credentials)}</span>"))
    elif expires is None:
        reason = f": {status.last_error}" if status.last_error else ""
        rows.append(("AWS credentials", f"<span class='nbc-dim'>not yet{html.escape(reason)}</span>"))
    else:
        # Credentials and tokens are refreshed together: the last refresh is when these began.
        issued = status.last_refresh
        lifetime = (expires - issued).total_seconds() if issued is not None else 3600.0
        key = f" · key <span class='nbc-mono'>{html.escape(status.access_key_hint or '-')}</span>"
        bar = lifetime_bar((expires - now).total_seconds(), lifetime)
        rows.append(("AWS credentials", timed(expires, now, "expire ") + key + bar))
    if injected:
        injection = "on <span class='nbc-dim'>· boto3 signs with these credentials</span>"
    elif no_credentials is None:
        injection = "off <span class='nbc-dim'>· use nb_cognito.session.boto3_session()</span>"
    else:
        injection = "off <span class='nbc-dim'>· no AWS credentials</span>"
    rows.append(("boto3 injection", injection))
    rows.append(("Next refresh", timed(status.next_refresh, now) if status.auto_refresh else "on demand"))
    return status_html(rows)


def describe_error(error: BaseException, *, signing_in: bool = False) -> str:
    """Plain words for ``error``; never a secret (AuthError messages are redacted at birth)."""
    if isinstance(error, ServiceUnavailableError) and signing_in:
        # Its default suggestion speaks of a kept session, which a sign-in does not have yet.
        return f"{error.args[0]} Check the network connection and try again."
    if isinstance(error, AuthError):
        return str(error)
    log.error("The sign-in widget hit an unexpected %s.", type(error).__name__, exc_info=error)
    return f"Something went wrong ({type(error).__name__}). The kernel log has the details."
