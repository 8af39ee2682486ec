"""Single sign-on from JupyterLab in headless Chromium: the widget's popup and the callback page.

A user who exists only at the emulator's external OIDC IdP clicks "Sign in with CorpIdP" in the
widget, signs in at the IdP's page in the popup, and the popup ends on the Jupyter server's
callback page (the server extension, enabled by the same config file ``pip install`` ships),
which hands the code back to the widget. Then boto3 works in the next cell.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import jupyter_dirs
from lab_server import ARTIFACTS, CHROMIUM, ROOT, free_port, jupyter_lab, write_notebook

from nb_cognito.clock import SYSTEM_CLOCK
from nb_cognito.local import ClientSpec, LocalSpec
from nb_cognito.local.oidc_idp import IdpUser, LocalOidcIdp

BUCKET = "nb-cognito-sso-test"
IDP_PASSWORD = "Erin-IdP-Passw0rd!"


@contextlib.contextmanager
def lab_with_the_callback_page(root: Path, env: dict[str, str], tmp: Path, port: int) -> Iterator[str]:
    """JupyterLab on ``port`` with the package's server-extension config file; yields its token."""
    config_d = Path(env["JUPYTER_CONFIG_DIR"]) / "jupyter_server_config.d"
    config_d.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "jupyter-config" / "jupyter_server_config.d" / "nb_cognito.json", config_d)
    with jupyter_lab(root, env, tmp, port=port) as (_, token):
        log = (tmp / "jupyterlab.log").read_text()
        assert "nb_cognito: hosted UI callback page" in log, "the server extension is not loaded"
        yield token


def run_cell(page: Any, cell: Any, expect: Any) -> None:
    """Select ``cell`` (again, if the first click only gave the window the focus back) and run
    it from the Run menu."""
    for _ in range(3):
        cell.locator(".jp-InputPrompt").click()
        try:
            expect(cell).to_have_class(re.compile(r"\bjp-mod-active\b"), timeout=5_000)
        except AssertionError:
            continue
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator("[data-command='notebook:run-cell']").first.click()
        return
    raise AssertionError("JupyterLab did not select the cell")


@pytest.mark.browser
@pytest.mark.timeout(300)
def test_federated_sign_in_through_the_widget_popup(make_local, tmp_path, monkeypatch) -> None:
    import anywidget  # noqa: F401  (the test extra installs it)
    from playwright import sync_api as playwright_api

    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is not installed (make test installs Debian's chromium)")
        pytest.skip(f"{CHROMIUM} is not installed: apt-get install chromium (make test does)")
    port = free_port()
    callback = f"http://127.0.0.1:{port}/nb-cognito/callback"
    local = make_local(
        LocalSpec(client=ClientSpec(callback_urls=(callback,)), buckets={BUCKET: {"hello.txt": b"hello\n"}})
    )
    local.use_clock(SYSTEM_CLOCK)  # the kernel lives on the real clock
    user = IdpUser("erin", IDP_PASSWORD, sub="erin-0001", claims={"email": "erin@corp.example"})
    env = {
        **local.settings.as_env(),
        "NB_COGNITO_OAUTH_DOMAIN": local.endpoint_url,
        "NB_COGNITO_IDENTITY_PROVIDER": "CorpIdP",
        "AWS_ENDPOINT_URL": local.endpoint_url,
        "AWS_DEFAULT_REGION": local.settings.region,
        **jupyter_dirs(tmp_path),
    }
    root = tmp_path / "notebooks"
    root.mkdir()
    write_notebook(
        root / "sso.ipynb",
        [
            "import nb_cognito; nb_cognito.SignInWidget()",
            "import boto3; print(boto3.client('s3').list_buckets()['Buckets'][0]['Name'])",
        ],
    )
    ARTIFACTS.mkdir(exist_ok=True)
    with (
        LocalOidcIdp([user], clock=SYSTEM_CLOCK) as idp,
        lab_with_the_callback_page(root, {**os.environ, **env}, tmp_path, port) as token,
        playwright_api.sync_playwright() as pw,
    ):
        idp.register_with(local, "CorpIdP")
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.set_default_timeout(60_000)
            expect = playwright_api.expect
            page.goto(f"http://127.0.0.1:{port}/lab/tree/sso.ipynb?token={token}", timeout=60_000)
            kernel_status = page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\|\s*Idle$"))
            expect(kernel_status.first).to_be_visible(timeout=90_000)
            cells = page.locator(".jp-Notebook .jp-Cell")
            run_cell(page, cells.nth(0), playwright_api.expect)  # the widget only: boto3 runs once signed in

            button = page.locator("button.jupyter-button", has_text="Sign in with CorpIdP")
            expect(button).to_be_visible(timeout=60_000)
            page.screenshot(path=str(ARTIFACTS / "sso-popup-buttons.png"))
            with page.expect_popup(timeout=30_000) as popup_info:
                button.click()
            popup = popup_info.value
            popup.wait_for_load_state()
            assert popup.url.startswith(idp.issuer + "/authorize")  # straight to the IdP: no hosted page
            popup.locator("input[name='username']").fill("erin")
            popup.locator("input[name='password']").fill(IDP_PASSWORD)
            popup.locator("button", has_text="Sign in to the IdP").click()
            popup.wait_for_event("close", timeout=30_000)  # the callback page closes itself

            status = page.locator("table.nb-cognito-widget-status")
            expect(status).to_be_visible(timeout=30_000)
            expect(status).to_contain_text("CorpIdP_erin-0001")
            page.bring_to_front()  # the popup had the focus
            second = cells.nth(1)
            run_cell(page, second, expect)
            expect(second.locator(".jp-OutputArea-output")).to_contain_text(BUCKET, timeout=30_000)
            page.screenshot(path=str(ARTIFACTS / "sso-popup-signed-in.png"))
            assert "code=" not in page.content()
        except BaseException:
            with contextlib.suppress(Exception):
                page.screenshot(path=str(ARTIFACTS / "sso-popup-failure.png"))
            raise
        finally:
            browser.close()
