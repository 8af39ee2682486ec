"""Sign-in through the hosted UI, end to end against the emulator: loopback and paste-back.

The "browser" is plain HTTP (``requests``): GET authorize, GET the login page, POST the form,
then follow the redirect to the loopback listener (or hand the final URL to the paste prompt),
exactly as a person's browser would.
"""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from nb_cognito.auth.oauth import HostedUIClient, check_nonce, code_from_redirect, new_request
from nb_cognito.auth.session import CognitoSession, service_clients
from nb_cognito.clock import ManualClock
from nb_cognito.exceptions import AuthError, NotAuthorizedError, TokenValidationError
from nb_cognito.local import ClientSpec, LocalCognito, LocalSpec, default_test_spec
from nb_cognito.local.oidc_idp import IdpUser, LocalOidcIdp


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def callback() -> str:
    return f"http://localhost:{free_port()}/"


@pytest.fixture
def hosted(make_local: Callable[[LocalSpec], LocalCognito], callback: str) -> LocalCognito:
    spec = replace(default_test_spec(), client=ClientSpec(callback_urls=(callback,)))
    return make_local(spec)


@pytest.fixture
def sso_session(
    new_session: Callable[..., CognitoSession], hosted: LocalCognito, callback: str
) -> CognitoSession:
    return new_session(oauth_domain=hosted.endpoint_url, redirect_uri=callback, oauth_scopes="openid email")


@dataclass
class Browser:
    """A person's browser, as HTTP requests. Records what it saw."""

    local: LocalCognito
    username: str = "alice"
    password: str = "Alice-Passw0rd!"
    idp_password: str | None = None
    follow_to_callback: bool = True
    before_callback: Callable[[str], None] | None = None
    seen: list[str] = field(default_factory=list)
    callback_status: int | None = None

    def _absolute(self, location: str) -> str:
        return location if "://" in location else self.local.endpoint_url + location

    def sign_in(self, url: str) -> str:
        """Everything up to the redirect to the app's callback; returns that final URL."""
        web = requests.Session()
        self.seen.append(url)
        first = web.get(url, allow_redirects=False, timeout=10)
        assert first.status_code == 302, first.text
        page_url = self._absolute(first.headers["Location"])
        page = web.get(page_url, allow_redirects=False, timeout=10)
        assert page.status_code == 200, page.text
        fields = {
            k: v.replace("&amp;", "&") for k, v in re.findall(r"name='([^']+)' value='([^']*)'", page.text)
        }
        if self.idp_password is not None:  # the IdP's page
            fields.update(username=self.username, password=self.idp_password)
            back = web.post(page_url.split("?")[0], data=fields, allow_redirects=False, timeout=10)
            assert back.status_code == 302, back.text
            done = web.get(back.headers["Location"], allow_redirects=False, timeout=10)
        else:
            fields.update(username=self.username, password=self.password)
            done = web.post(
                f"{self.local.endpoint_url}/login", data=fields, allow_redirects=False, timeout=10
            )
        assert done.status_code == 302, done.text
        return str(done.headers["Location"])

    def open(self, url: str) -> bool:
        """``open_browser``: sign in, then let the browser follow to the loopback callback."""
        final = self.sign_in(url)
        if self.before_callback is not None:
            self.before_callback(final)
        if self.follow_to_callback:
            self.callback_status = requests.get(final, timeout=10).status_code
        return True


def no_prompt(text: str) -> str:
    raise AssertionError("the loopback path must not prompt")


def test_loopback_sign_in_feeds_the_session_and_boto3(
    sso_session: CognitoSession, hosted: LocalCognito, clock: ManualClock
) -> None:
    browser = Browser(hosted)
    written: list[str] = []
    sso_session.sign_in_with_redirect(
        method="loopback", open_browser=browser.open, prompt=no_prompt, write=written.append
    )
    assert browser.callback_status == 200
    assert sso_session.is_signed_in and sso_session.get_current_user().username == "alice"
    credentials = sso_session.fetch_auth_session().aws_credentials_result.unwrap()
    s3 = sso_session.boto3_session().client("s3", endpoint_url=hosted.endpoint_url)
    assert s3.get_object(Bucket="nb-cognito-test", Key="hello.txt")["Body"].read().startswith(b"hello")
    assert credentials.access_key_id in hosted.received_access_keys("s3")
    counts = hosted.request_counts()
    assert counts["HostedUI:/oauth2/token"] == 1 and counts["InitiateAuth"] == 0

    clock.advance(3500)  # into the refresh window: refresh goes to /oauth2/token, not InitiateAuth
    sso_session.fetch_auth_session(force_refresh=True)
    counts = hosted.request_counts()
    assert counts["HostedUI:/oauth2/token"] == 2 and counts["InitiateAuth"] == 0

    refresh_token = sso_session.describe().state.tokens.refresh_token
    result = sso_session.sign_out()
    assert result.revoke_token_error is None
    assert hosted.request_counts()["HostedUI:/oauth2/revoke"] == 1
    assert hosted.users.refresh_token_revoked(refresh_token)


def test_paste_back_of_the_redirected_url(sso_session: CognitoSession, hosted: LocalCognito) -> None:
    browser = Browser(hosted)
    written: list[str] = []
    sso_session.sign_in_with_redirect(
        method="paste",
        prompt=lambda _: browser.sign_in(re.search(r"http\S+", written[-1]).group(0)),
        write=written.append,
    )
    assert sso_session.is_signed_in and sso_session.get_current_user().username == "alice"
    assert sso_session.fetch_auth_session().aws_credentials_result.is_success


def test_paste_back_of_the_bare_code(sso_session: CognitoSession, hosted: LocalCognito) -> None:
    browser = Browser(hosted)
    written: list[str] = []

    def paste_code(_: str) -> str:
        final = browser.sign_in(re.search(r"http\S+", written[-1]).group(0))
        return parse_qs(urlsplit(final).query)["code"][0]

    sso_session.sign_in_with_redirect(method="paste", prompt=paste_code, write=written.append)
    assert sso_session.is_signed_in


def test_the_loopback_listener_refuses_a_wrong_state_and_keeps_waiting(
    sso_session: CognitoSession, hosted: LocalCognito, callback: str
) -> None:
    statuses: list[int] = []

    def forge(final: str) -> None:
        code = parse_qs(urlsplit(final).query)["code"][0]
        statuses.append(
            requests.get(callback, params={"code": code, "state": "forged"}, timeout=10).status_code
        )
        statuses.append(requests.get(callback + "other", params={"code": code}, timeout=10).status_code)

    browser = Browser(hosted, before_callback=forge)
    sso_session.sign_in_with_redirect(method="loopback", open_browser=browser.open, write=lambda _: None)
    assert statuses == [400, 404] and browser.callback_status == 200
    assert sso_session.is_signed_in
    with pytest.raises(requests.ConnectionError):
        requests.get(callback, timeout=2)


def test_paste_back_with_a_wrong_state_is_refused(sso_session: CognitoSession, hosted: LocalCognito) -> None:
    browser = Browser(hosted)
    written: list[str] = []

    def tampered(_: str) -> str:
        final = browser.sign_in(re.search(r"http\S+", written[-1]).group(0))
        return re.sub(r"state=[^&]+", "state=someone-elses", final)

    with pytest.raises(NotAuthorizedError, match="state"):
        sso_session.sign_in_with_redirect(method="paste", prompt=tampered, write=written.append)
    assert not sso_session.is_signed_in
    assert hosted.request_counts()["HostedUI:/oauth2/token"] == 0


def test_an_expired_code_is_refused(
    sso_session: CognitoSession, hosted: LocalCognito, clock: ManualClock
) -> None:
    browser = Browser(hosted)
    written: list[str] = []

    def slow(_: str) -> str:
        final = browser.sign_in(re.search(r"http\S+", written[-1]).group(0))
        clock.advance(301)  # the user took more than five minutes to paste
        return final

    with pytest.raises(NotAuthorizedError, match="invalid_grant"):
        sso_session.sign_in_with_redirect(method="paste", prompt=slow, write=written.append)
    assert not sso_session.is_signed_in


def test_a_reused_code_and_a_bad_verifier_are_refused(
    sso_session: CognitoSession, hosted: LocalCognito
) -> None:
    settings = sso_session.settings
    client = HostedUIClient(settings)
    first = new_request(settings)
    code = code_from_redirect(first, Browser(hosted).sign_in(first.url))
    client.exchange(code, first)
    with pytest.raises(NotAuthorizedError, match="invalid_grant"):
        client.exchange(code, first)  # reused
    second = new_request(settings)
    code = code_from_redirect(second, Browser(hosted).sign_in(second.url))
    with pytest.raises(NotAuthorizedError, match="invalid_grant"):
        client.exchange(code, replace(second, verifier=first.verifier))  # another sign-in's verifier


def test_the_nonce_must_match(sso_session: CognitoSession, hosted: LocalCognito) -> None:
    settings = sso_session.settings
    request, other = new_request(settings), new_request(settings)
    tokens = HostedUIClient(settings).exchange(
        code_from_redirect(request, Browser(hosted).sign_in(request.url)), request
    )
    claims = service_clients(sso_session).verifier.verify(tokens.id_token, token_use="id")
    check_nonce(claims, request)
    with pytest.raises(TokenValidationError, match="nonce"):
        check_nonce(claims, other)


def test_an_unregistered_redirect_uri_never_gets_a_code(
    new_session: Callable[..., CognitoSession], hosted: LocalCognito
) -> None:
    session = new_session(oauth_domain=hosted.endpoint_url, redirect_uri="http://localhost:1/not-registered")
    request = new_request(session.settings)
    page = requests.get(request.url, allow_redirects=False, timeout=10)
    assert page.status_code == 400 and "Location" not in page.headers


def test_no_loopback_answer_times_out_on_the_clock(sso_session: CognitoSession, clock: ManualClock) -> None:
    def never_signs_in(url: str) -> bool:
        clock.advance(301)
        return True

    with pytest.raises(AuthError, match="No sign-in came back"):
        sso_session.sign_in_with_redirect(
            method="loopback", open_browser=never_signs_in, timeout=300, write=lambda _: None
        )


def test_a_federated_user_signs_in_and_uses_aws(
    sso_session: CognitoSession, hosted: LocalCognito, clock: ManualClock
) -> None:
    user = IdpUser("erin", "Erin-IdP-Passw0rd!", sub="erin-0001", claims={"email": "erin@corp.example"})
    with LocalOidcIdp([user], clock=clock) as idp:
        idp.register_with(hosted, "CorpIdP")
        browser = Browser(hosted, username="erin", idp_password="Erin-IdP-Passw0rd!")
        sso_session.sign_in_with_redirect(
            "CorpIdP", method="loopback", open_browser=browser.open, write=lambda _: None
        )
    assert sso_session.get_current_user().username == "CorpIdP_erin-0001"
    s3 = sso_session.boto3_session().client("s3", endpoint_url=hosted.endpoint_url)
    assert s3.list_objects_v2(Bucket="nb-cognito-test")["KeyCount"] == 1


@pytest.mark.parametrize("method", ["loopback", "paste"])
def test_canaries_code_verifier_state_and_tokens_never_leak(
    method: str,
    sso_session: CognitoSession,
    hosted: LocalCognito,
    caplog: pytest.LogCaptureFixture,
    capsys: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No code, verifier, nonce or token in logs (DEBUG), outputs, reprs or the status; no
    ``state`` either, except in the authorize URL the paste-back path must show (with the nonce)."""
    caplog.set_level(logging.DEBUG)
    seen: dict[str, str] = {}
    from nb_cognito.auth import oauth

    real_new_request = oauth.new_request

    def spy(settings: Any, provider: Any = None, **kwargs: Any) -> Any:
        request = real_new_request(settings, provider, **kwargs)
        seen.update(state=request.state, nonce=request.nonce, verifier=request.verifier)
        return request

    def remember_code(final: str) -> None:
        seen["code"] = parse_qs(urlsplit(final).query)["code"][0]

    monkeypatch.setattr(oauth, "new_request", spy)
    written: list[str] = []
    browser = Browser(hosted, before_callback=remember_code)

    def paste(_: str) -> str:
        final = browser.sign_in(re.search(r"http\S+", written[-1]).group(0))
        remember_code(final)
        return final

    sso_session.sign_in_with_redirect(
        method=method, open_browser=browser.open, prompt=paste, write=written.append
    )
    tokens = sso_session.describe().state.tokens
    canaries = {**seen, "id": tokens.id_token, "access": tokens.access_token, "refresh": tokens.refresh_token}
    sso_session.fetch_auth_session(force_refresh=True)
    browser_traffic = ("/oauth2/authorize", "/login", "GET /?code=")  # the test's browser (requests)
    logs = "\n".join(
        record.getMessage()
        for record in caplog.records
        if not (record.name.startswith("urllib3") and any(p in record.getMessage() for p in browser_traffic))
    )
    surfaces = {
        "logs": logs,
        "written": "\n".join(written),
        "repr": repr(sso_session),
        "status": str(sso_session.status()),
        "html": sso_session._repr_html_(),
        "settings": repr(sso_session.settings) + sso_session.settings.describe(),
        "stdout/stderr": "".join(capsys.readouterr()),
    }
    for name, value in canaries.items():
        for where, surface in surfaces.items():
            if name in ("state", "nonce") and (where, method) == ("written", "paste"):
                assert surface.count(value) == 1  # in the URL to open, and nowhere else
                continue
            assert value not in surface, f"the {name} leaked into {where}"


def test_a_transient_token_endpoint_failure_keeps_the_session(
    new_session: Callable[..., CognitoSession],
    hosted: LocalCognito,
    callback: str,
    fault_proxy: Any,
) -> None:
    """A 5xx or a refused connection at /oauth2/token during a refresh is retryable, never a sign-out."""
    from nb_cognito.exceptions import ServiceUnavailableError

    session = new_session(oauth_domain=fault_proxy.url, redirect_uri=callback)
    session.sign_in_with_redirect(method="loopback", open_browser=Browser(hosted).open, write=lambda _: None)
    fault_proxy.inject("5xx", times=1)
    session.fetch_auth_session(force_refresh=True)  # the tokens are still valid: served, error kept
    assert isinstance(session.describe().last_error, ServiceUnavailableError)
    assert sum(fault_proxy.fault_counts().values()) == 1
    fault_proxy.set_down(True)
    session.fetch_auth_session(force_refresh=True)
    assert isinstance(session.describe().last_error, ServiceUnavailableError)
    assert session.is_signed_in
    fault_proxy.set_down(False)
    session.fetch_auth_session(force_refresh=True)
    assert session.is_signed_in and hosted.request_counts()["HostedUI:/oauth2/token"] >= 2


def test_a_revoked_refresh_token_ends_the_session(sso_session: CognitoSession, hosted: LocalCognito) -> None:
    """invalid_grant on refresh is definitive: SESSION_EXPIRED, as for the user-pool API."""
    from nb_cognito.exceptions import SessionExpiredError
    from nb_cognito.models import AuthEvent

    ended: list[Any] = []
    sso_session.on(AuthEvent.SESSION_EXPIRED, ended.append)
    sso_session.sign_in_with_redirect(
        method="loopback", open_browser=Browser(hosted).open, write=lambda _: None
    )
    hosted.users.global_sign_out("alice")
    ended_snapshot = sso_session.fetch_auth_session(force_refresh=True)
    assert isinstance(ended_snapshot.user_pool_tokens_result.error, SessionExpiredError)
    assert len(ended) == 1 and not sso_session.is_signed_in


def test_logout_url_ends_the_hosted_ui_browser_session(
    make_local: Callable[[LocalSpec], LocalCognito],
) -> None:
    """The /logout URL goes to an allowed sign-out URL and drops the hosted UI's cookie.
    https://docs.aws.amazon.com/cognito/latest/developerguide/logout-endpoint.html"""
    from nb_cognito.auth.oauth import logout_url
    from nb_cognito.settings.config import Settings

    signed_out = "http://localhost:8765/bye"
    local = make_local(
        replace(
            default_test_spec(), client=ClientSpec(callback_urls=(CALLBACK_8765,), logout_urls=(signed_out,))
        )
    )
    s = local.settings
    settings = Settings(user_pool_id=s.user_pool_id, client_id=s.client_id, oauth_domain=local.endpoint_url)
    answer = requests.get(logout_url(settings, signed_out), allow_redirects=False, timeout=10)
    assert answer.status_code == 302 and answer.headers["Location"] == signed_out
    assert "nb-cognito-hosted-ui=;" in answer.headers.get("Set-Cookie", "").replace('""', "")
    refused = requests.get(logout_url(settings, "http://evil.example/"), allow_redirects=False, timeout=10)
    assert refused.status_code == 400


CALLBACK_8765 = "http://localhost:8765/"
