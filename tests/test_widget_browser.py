"""The widget in a real kernel: JupyterLab in headless Chromium, and an nbclient run.

The emulator runs in this test process on the real clock; the kernel is another process, so it
gets the emulator's settings as ``NB_COGNITO_*`` variables and ``AWS_ENDPOINT_URL`` (for S3).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from pathlib import Path

import pytest
from helpers import jupyter_dirs
from lab_server import ARTIFACTS, CHROMIUM, ROOT, jupyter_lab, write_notebook

from nb_cognito.clock import SYSTEM_CLOCK
from nb_cognito.local import LocalSpec, PoolSpec, UserSpec

CANARY = "Canary-Passw0rd!-b8Wy"
GINA = "Gina-Passw0rd!-4kQe"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
BUCKET = "nb-cognito-widget-test"


@pytest.fixture
def kernel_env(make_local, tmp_path, monkeypatch) -> dict[str, str]:
    """Start the emulator with alice (whose password is the canary) and a bucket; the kernel's env."""
    local = make_local(
        LocalSpec(
            pool=PoolSpec(mfa="OPTIONAL", mfa_types=("TOTP", "SMS")),
            users=(
                UserSpec("alice", CANARY, attributes={"email": "alice@example.com"}),
                UserSpec("carol", "Temp-Passw0rd!", must_change_password=True),
                UserSpec("gina", GINA, totp_secret=TOTP_SECRET, phone_number="+15555550124", sms_mfa=True),
            ),
            buckets={BUCKET: {"hello.txt": b"hello\n"}},
        )
    )
    local.use_clock(SYSTEM_CLOCK)  # the kernel lives on the real clock
    env = {
        **local.settings.as_env(),
        "AWS_ENDPOINT_URL": local.endpoint_url,
        "AWS_DEFAULT_REGION": local.settings.region,
        **jupyter_dirs(tmp_path),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)  # nbclient's kernel inherits this process's environment
    return {**os.environ, **env}


THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}


def set_theme(page, theme: str) -> None:
    """Switch JupyterLab's theme and wait until its variables apply to the page."""
    page.evaluate(
        "name => window.jupyterapp.commands.execute('apputils:change-theme', {theme: name})", THEMES[theme]
    )
    page.wait_for_function(
        "light => document.body.dataset.jpThemeLight === light", arg="true" if theme == "light" else "false"
    )
    page.wait_for_timeout(400)  # the theme's stylesheet repaints the page (not a timing check)


def shoot(page, name: str) -> None:
    """A screenshot of the widget's card in both themes: test-artifacts/widget-<name>-<theme>.png."""
    card = page.locator(".nb-cognito-card")
    for theme in ("light", "dark"):
        set_theme(page, theme)
        card.screenshot(path=str(ARTIFACTS / f"widget-{name}-{theme}.png"), animations="disabled")
    set_theme(page, "light")


def column_edges(row, label: str, value: str) -> tuple[int, int, str]:
    """Where ``row``'s label and value start (CSS px, rounded) and how the label's text aligns."""
    label_box = row.locator(label).first.bounding_box()
    value_box = row.locator(value).first.bounding_box()
    assert label_box and value_box
    align = row.locator(label).first.evaluate("e => getComputedStyle(e).textAlign")
    return round(label_box["x"]), round(value_box["x"]), "left" if align in ("left", "start") else align


@pytest.mark.browser
@pytest.mark.timeout(300)
def test_sign_in_through_the_widget_in_jupyterlab(kernel_env, emulator, tmp_path):
    from playwright import sync_api as playwright_api

    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):  # `make test` installs it; in CI a missing browser is a failure
            pytest.fail(f"{CHROMIUM} is not installed (make test installs Debian's chromium)")
        pytest.skip(f"{CHROMIUM} is not installed: apt-get install chromium (make test does)")
    from nb_cognito.local.srp import totp_code

    root = tmp_path / "notebooks"
    root.mkdir()
    write_notebook(
        root / "widget.ipynb",
        [
            "import nb_cognito; nb_cognito.SignInWidget()",
            "import boto3; print(boto3.client('s3').list_buckets()['Buckets'][0]['Name'])",
        ],
    )
    ARTIFACTS.mkdir(exist_ok=True)

    with jupyter_lab(root, kernel_env, tmp_path) as (base, token), playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900}, device_scale_factor=2)
        try:
            page.set_default_timeout(60_000)
            expect = playwright_api.expect
            page.goto(f"{base}/lab/tree/widget.ipynb?token={token}", timeout=60_000)

            # The kernel status in the status bar ("Python 3 (ipykernel) | Idle"); the toolbar
            # indicator says idle before any kernel exists, so it is no signal.
            kernel_status = page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\|\s*Idle$"))
            expect(kernel_status.first).to_be_visible(timeout=90_000)

            page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
            page.locator("[data-command='runmenu:run-all']").click()

            card = page.locator(".nb-cognito-card")
            chip = card.locator(".nbc-chip")
            alert = card.locator("[role='alert']")
            username = card.locator("input[placeholder='username']")
            password = card.locator(".nb-cognito-password input")
            expect(username).to_be_visible(timeout=60_000)
            expect(chip).to_have_text("Signed out")
            shoot(page, "signed-out")
            form_edges = column_edges(card.locator(".nb-cognito-username"), ".widget-label", "input")
            assert form_edges == column_edges(card.locator(".nb-cognito-password"), ".widget-label", "input")

            username.fill("alice")
            password.fill("Wrong-Passw0rd!")
            password.press("Enter")  # Enter submits; the error shows and the field is emptied
            expect(alert).to_contain_text("Incorrect username or password", timeout=30_000)
            expect(password).to_have_value("")
            shoot(page, "error")

            # A challenge: a new password; the chip says "Signing in" until it is answered.
            username.fill("carol")
            password.fill("Temp-Passw0rd!")
            card.locator("button", has_text="Sign in").click()
            expect(card.locator(".nb-cognito-new-password input")).to_be_visible(timeout=30_000)
            expect(chip).to_have_text("Signing in")
            shoot(page, "new-password")
            card.locator("button", has_text="Cancel").click()

            # MFA: choose TOTP, then the code view.
            username.fill("gina")
            password.fill(GINA)
            password.press("Enter")
            expect(card.locator(".nb-cognito-mfa-choice")).to_be_visible(timeout=30_000)
            shoot(page, "mfa-selection")
            card.locator(".nb-cognito-mfa-choice button", has_text="TOTP").click()
            card.locator("button", has_text="Continue").click()
            code = card.locator(".nb-cognito-code input")
            expect(code).to_be_visible(timeout=30_000)
            shoot(page, "code")
            code.fill(totp_code(TOTP_SECRET, time.time()))
            code.press("Enter")
            expect(chip).to_have_text("Signed in as gina", timeout=30_000)
            card.locator("button", has_text="Sign out").click()
            expect(chip).to_have_text("Signed out", timeout=30_000)
            expect(card).not_to_contain_text("Signed out.")  # the chip says it, once

            username.fill("alice")
            password.fill(CANARY)
            card.locator("button", has_text="Sign in").click()

            status = card.locator("table.nb-cognito-widget-status")
            expect(status).to_be_visible(timeout=30_000)
            expect(chip).to_have_text("Signed in as alice")  # the header says who
            expect(status).to_contain_text("alice")
            expect(status).to_contain_text("Identity")
            expect(status).to_contain_text("boto3 injection")
            expect(status.locator("[role='progressbar']")).to_be_visible()
            expect(alert).to_have_count(0)
            # The countdown is live: the credentials' bar shrinks without any click (the text
            # reads whole minutes: "expire in 59 min").
            expect(status.locator("tr", has_text="AWS credentials")).to_contain_text(
                re.compile(r"expire in (1 h 00 min|59 min) ·")
            )
            bar = status.locator("[role='progressbar'] > div")
            first = bar.get_attribute("style")
            expect(bar).not_to_have_attribute("style", first or "", timeout=15_000)
            shoot(page, "signed-in")
            # Labels align the same way in every view: the status table's row labels and values
            # start where the form's field labels and fields did.
            assert column_edges(status.locator("tr").first, "th", "td") == form_edges

            second = page.locator(".jp-Notebook .jp-Cell").nth(1)
            second.locator(".cm-content").click()
            page.keyboard.press("Shift+Enter")
            expect(second.locator(".jp-OutputArea-output")).to_contain_text(BUCKET, timeout=30_000)

            # Revoked elsewhere: Refresh ends the session; the chip says why.
            emulator.users.global_sign_out("alice")
            card.locator("button", has_text="Refresh now").click()
            expect(chip).to_have_text("Session expired", timeout=30_000)
            expect(alert).to_contain_text("ign in again")
            shoot(page, "expired")

            page.locator(".jp-Notebook .jp-Cell").nth(0).scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "widget-page.png"))
            assert CANARY not in page.content() and GINA not in page.content()
        except BaseException:
            with contextlib.suppress(Exception):
                page.screenshot(path=str(ARTIFACTS / "widget-failure.png"))
            raise
        finally:
            browser.close()


@pytest.mark.kernel
@pytest.mark.timeout(180)
def test_nbclient_run_of_the_example_notebook_saves_no_password(kernel_env, tmp_path, monkeypatch):
    """Run nb_cognito/examples/widget.ipynb, signing in through its widget, and read what would be saved."""
    import nbformat
    from nbclient import NotebookClient
    from nbformat.v4 import new_code_cell

    monkeypatch.setenv("WIDGET_TEST_PASSWORD", CANARY)  # so that the canary is in no cell source
    nb = nbformat.read(str(ROOT / "nb_cognito" / "examples" / "widget.ipynb"), as_version=4)
    first = next(i for i, cell in enumerate(nb.cells) if cell.cell_type == "code")
    assert "%cognito_login --widget" in nb.cells[first].source  # the test's settings are set
    monkeypatch.setenv("WIDGET_DRIVER_DIR", str(Path(__file__).resolve().parent))
    nb.cells.insert(
        first + 1,
        new_code_cell(
            "import gc, os, sys\n"
            "from nb_cognito import SignInWidget\n"
            "w = [o for o in gc.get_objects() if isinstance(o, SignInWidget)][-1]  # the one shown above\n"
            "sys.path.insert(0, os.environ['WIDGET_DRIVER_DIR'])\n"
            "from widget_driver import WidgetDriver\n"
            "WidgetDriver(w).sign_in('alice', os.environ.pop('WIDGET_TEST_PASSWORD'))  # then Enter\n"
            "assert w.view == 'signed_in', w.message\n"
            "print(w.view)"
        ),
    )

    NotebookClient(
        nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    saved = tmp_path / "executed.ipynb"
    nbformat.write(nb, str(saved))

    text = saved.read_text()
    outputs = json.dumps([cell.get("outputs", []) for cell in nb.cells])
    assert "signed_in" in outputs
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert BUCKET in outputs  # boto3 signed with the Cognito credentials
    assert "data-state='signed_in'" in json.dumps(state)  # the notebook ends signed in (nothing signs out)
    passwords = [m["state"] for m in state.values() if m["model_name"] == "PasswordModel"]
    assert passwords and all(p.get("value", "") == "" for p in passwords)
    assert CANARY not in json.dumps(state)
    assert CANARY not in text
    assert not any(CANARY in path.read_text(errors="replace") for path in tmp_path.rglob("*.ipynb"))
