"""The emulator's hosted UI, driven over HTTP as a browser and an app would drive Cognito's.

Each test names the AWS page that documents the behaviour. The login page is driven with
``requests`` (no redirects followed automatically: the test reads each ``Location``).
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from nb_cognito.auth.tokens import TokenVerifier
from nb_cognito.clock import ManualClock
from nb_cognito.local import ClientSpec, LocalCognito, LocalSpec, UserSpec, default_test_spec
from nb_cognito.local.oidc_idp import IdpUser, LocalOidcIdp

CALLBACK = "http://localhost:8765/"
SIGN_OUT = "http://localhost:8765/signed-out"


def hosted_spec(**client: Any) -> LocalSpec:
    base = default_test_spec()
    spec_client = ClientSpec(callback_urls=(CALLBACK,), logout_urls=(SIGN_OUT,), **client)
    return replace(base, client=spec_client)


@pytest.fixture
def hosted(make_local: Callable[[LocalSpec], LocalCognito]) -> LocalCognito:
    return make_local(hosted_spec())


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_params(local: LocalCognito, challenge: str, **extra: str) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": local.settings.client_id,
        "redirect_uri": CALLBACK,
        "scope": "openid email",
        "state": "the-state",
        "nonce": "the-nonce",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    params.update(extra)
    return params


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def browser_login(
    local: LocalCognito,
    challenge: str,
    username: str = "alice",
    password: str = "Alice-Passw0rd!",
    browser: requests.Session | None = None,
    **extra: str,
) -> requests.Response:
    """GET authorize, follow to the login page, POST the form; return the final 302."""
    browser = browser or requests.Session()
    base = local.endpoint_url
    first = browser.get(
        f"{base}/oauth2/authorize",
        params=authorize_params(local, challenge, **extra),
        allow_redirects=False,
        timeout=10,
    )
    assert first.status_code == 302, first.text
    login = browser.get(base + first.headers["Location"], allow_redirects=False, timeout=10)
    assert login.status_code == 200 and "<form" in login.text
    fields = dict(re.findall(r"name='([^']+)' value='([^']*)'", login.text))
    fields = {k: v.replace("&amp;", "&") for k, v in fields.items()}
    fields.update(username=username, password=password)
    return browser.post(f"{base}/login", data=fields, allow_redirects=False, timeout=10)


def redeem(local: LocalCognito, code: str, verifier: str, redirect_uri: str = CALLBACK) -> requests.Response:
    return requests.post(
        f"{local.endpoint_url}/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "client_id": local.settings.client_id,
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        },
        timeout=10,
    )


def signed_in_code(local: LocalCognito) -> tuple[str, str]:
    verifier, challenge = pkce()
    done = browser_login(local, challenge)
    assert done.status_code == 302, done.text
    return query_of(done.headers["Location"])["code"], verifier


def verifier_for(local: LocalCognito) -> TokenVerifier:
    """The verifier a session configured for ``local`` uses."""
    from nb_cognito.settings.config import Settings

    return TokenVerifier.for_settings(Settings(**local.settings.as_config()))


def test_code_grant_returns_the_pools_own_verifiable_tokens(hosted: LocalCognito) -> None:
    """Authorize → login → callback with code and state → token endpoint issues ID, access and
    refresh tokens. https://docs.aws.amazon.com/cognito/latest/developerguide/authorization-endpoint.html
    and https://docs.aws.amazon.com/cognito/latest/developerguide/token-endpoint.html"""
    verifier, challenge = pkce()
    done = browser_login(hosted, challenge)
    assert done.headers["Location"].startswith(CALLBACK)
    query = query_of(done.headers["Location"])
    assert query["state"] == "the-state"
    answer = redeem(hosted, query["code"], verifier)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) >= {"id_token", "access_token", "refresh_token", "expires_in", "token_type"}
    claims = verifier_for(hosted).verify(body["id_token"], token_use="id")
    assert claims["nonce"] == "the-nonce" and claims["cognito:username"] == "alice"
    access = verifier_for(hosted).verify(body["access_token"], token_use="access")
    assert access["scope"] == "openid email"
    assert hosted.request_counts()["HostedUI:/oauth2/token"] == 1


def test_the_code_is_single_use(hosted: LocalCognito) -> None:
    """A consumed code gives invalid_grant.
    https://docs.aws.amazon.com/cognito/latest/developerguide/token-endpoint.html"""
    code, verifier = signed_in_code(hosted)
    assert redeem(hosted, code, verifier).status_code == 200
    again = redeem(hosted, code, verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_a_code_expires_after_five_minutes_on_the_emulator_clock(
    hosted: LocalCognito, clock: ManualClock
) -> None:
    """Codes are short-lived: redeemed within five minutes or invalid_grant. The developer guide's
    https://docs.aws.amazon.com/cognito/latest/developerguide/token-endpoint.html names invalid_grant;
    the five minutes are from AWS's answer on re:Post,
    https://repost.aws/questions/QUDAAkuVB3QPKKnMLWQjSTvw (not stated in the developer guide)."""
    code, verifier = signed_in_code(hosted)
    clock.advance(301)
    late = redeem(hosted, code, verifier)
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant"


def test_a_wrong_verifier_is_refused_and_burns_the_code(hosted: LocalCognito) -> None:
    """PKCE S256: code_verifier must hash to the code_challenge.
    https://docs.aws.amazon.com/cognito/latest/developerguide/using-pkce-in-authorization-code.html"""
    code, verifier = signed_in_code(hosted)
    wrong = redeem(hosted, code, secrets.token_urlsafe(48))
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    assert redeem(hosted, code, verifier).json()["error"] == "invalid_grant"


def test_plain_pkce_is_refused(hosted: LocalCognito) -> None:
    """Cognito supports S256 only. https://docs.aws.amazon.com/cognito/latest/developerguide/authorization-endpoint.html"""
    _, challenge = pkce()
    page = requests.get(
        f"{hosted.endpoint_url}/oauth2/authorize",
        params=authorize_params(hosted, challenge, code_challenge_method="plain"),
        allow_redirects=False,
        timeout=10,
    )
    assert page.status_code == 400


def test_an_unregistered_redirect_uri_is_never_redirected_to(hosted: LocalCognito) -> None:
    """redirect_uri must match a callback URL exactly, else an error page (redirect_mismatch).
    https://docs.aws.amazon.com/cognito/latest/developerguide/authorization-endpoint.html"""
    _, challenge = pkce()
    for uri in ("http://localhost:8765", "http://localhost:8766/", "http://evil.example/"):
        page = requests.get(
            f"{hosted.endpoint_url}/oauth2/authorize",
            params=authorize_params(hosted, challenge, redirect_uri=uri),
            allow_redirects=False,
            timeout=10,
        )
        assert page.status_code == 400 and "Location" not in page.headers
        assert "redirect_mismatch" in page.text


def test_the_token_request_must_repeat_the_redirect_uri(hosted: LocalCognito) -> None:
    """https://docs.aws.amazon.com/cognito/latest/developerguide/token-endpoint.html"""
    code, verifier = signed_in_code(hosted)
    answer = redeem(hosted, code, verifier, redirect_uri="http://localhost:8765/other")
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def test_a_wrong_password_stays_on_the_login_page(hosted: LocalCognito) -> None:
    _, challenge = pkce()
    page = browser_login(hosted, challenge, password="Wrong-Passw0rd!")
    assert page.status_code == 400 and "Incorrect username or password." in page.text
    assert "Location" not in page.headers


def test_refresh_token_grant_and_revoke(hosted: LocalCognito) -> None:
    """grant_type=refresh_token renews; /oauth2/revoke ends the refresh token and its access tokens.
    https://docs.aws.amazon.com/cognito/latest/developerguide/revocation-endpoint.html"""
    code, verifier = signed_in_code(hosted)
    tokens = redeem(hosted, code, verifier).json()
    base, client_id = hosted.endpoint_url, hosted.settings.client_id
    renewed = requests.post(
        f"{base}/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": client_id,
            "refresh_token": tokens["refresh_token"],
        },
        timeout=10,
    )
    assert renewed.status_code == 200 and "refresh_token" not in renewed.json()
    verifier_for(hosted).verify(renewed.json()["id_token"], token_use="id")
    # As Cognito: the renewed access token keeps the scopes granted, so userInfo still answers
    # (oauthenticator's refresh_user calls it with the renewed token).
    renewed_info = requests.get(
        f"{base}/oauth2/userInfo",
        headers={"Authorization": f"Bearer {renewed.json()['access_token']}"},
        timeout=10,
    )
    assert renewed_info.status_code == 200 and renewed_info.json()["username"] == "alice"
    revoked = requests.post(
        f"{base}/oauth2/revoke", data={"token": tokens["refresh_token"], "client_id": client_id}, timeout=10
    )
    assert revoked.status_code == 200
    assert hosted.users.refresh_token_revoked(tokens["refresh_token"])
    again = requests.post(
        f"{base}/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": client_id,
            "refresh_token": tokens["refresh_token"],
        },
        timeout=10,
    )
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    info = requests.get(
        f"{base}/oauth2/userInfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=10
    )
    assert info.status_code == 401


def test_user_info_needs_the_openid_scope(hosted: LocalCognito) -> None:
    """userInfo returns the user's attributes for an access token with the openid scope.
    https://docs.aws.amazon.com/cognito/latest/developerguide/userinfo-endpoint.html"""
    code, verifier = signed_in_code(hosted)
    tokens = redeem(hosted, code, verifier).json()
    info = requests.get(
        f"{hosted.endpoint_url}/oauth2/userInfo",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=10,
    )
    assert info.status_code == 200
    assert info.json()["email"] == "alice@example.com" and info.json()["username"] == "alice"
    api_tokens = hosted.admin().initiate_auth(
        ClientId=hosted.settings.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "alice", "PASSWORD": "Alice-Passw0rd!"},
    )["AuthenticationResult"]
    refused = requests.get(
        f"{hosted.endpoint_url}/oauth2/userInfo",
        headers={"Authorization": f"Bearer {api_tokens['AccessToken']}"},
        timeout=10,
    )
    assert refused.status_code == 401 and "WWW-Authenticate" in refused.headers


def test_the_browser_session_skips_the_login_until_logout(hosted: LocalCognito) -> None:
    """The hosted UI keeps a session cookie; /logout ends it and redirects to an allowed sign-out
    URL only. https://docs.aws.amazon.com/cognito/latest/developerguide/logout-endpoint.html"""
    browser = requests.Session()
    _, challenge = pkce()
    assert browser_login(hosted, challenge, browser=browser).status_code == 302
    again = browser.get(
        f"{hosted.endpoint_url}/oauth2/authorize",
        params=authorize_params(hosted, challenge),
        allow_redirects=False,
        timeout=10,
    )
    assert again.headers["Location"].startswith(CALLBACK)  # no login page: the cookie signed in
    bad = browser.get(
        f"{hosted.endpoint_url}/logout",
        params={"client_id": hosted.settings.client_id, "logout_uri": "http://evil.example/"},
        allow_redirects=False,
        timeout=10,
    )
    assert bad.status_code == 400
    out = browser.get(
        f"{hosted.endpoint_url}/logout",
        params={"client_id": hosted.settings.client_id, "logout_uri": SIGN_OUT},
        allow_redirects=False,
        timeout=10,
    )
    assert out.status_code == 302 and out.headers["Location"] == SIGN_OUT
    after = browser.get(
        f"{hosted.endpoint_url}/oauth2/authorize",
        params=authorize_params(hosted, challenge),
        allow_redirects=False,
        timeout=10,
    )
    assert after.headers["Location"].startswith("/login")


def test_a_client_with_a_secret_must_authenticate(make_local: Callable[[LocalSpec], LocalCognito]) -> None:
    """https://docs.aws.amazon.com/cognito/latest/developerguide/token-endpoint.html"""
    local = make_local(hosted_spec(generate_secret=True))
    code, verifier = signed_in_code(local)
    refused = redeem(local, code, verifier)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_client"
    code, verifier = signed_in_code(local)
    s = local.settings
    ok = requests.post(
        f"{local.endpoint_url}/oauth2/token",
        auth=(s.client_id, s.client_secret or ""),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "code_verifier": verifier,
        },
        timeout=10,
    )
    assert ok.status_code == 200


# -- federation ---------------------------------------------------------------------------------


@pytest.fixture
def idp(hosted: LocalCognito, clock: ManualClock) -> Iterator[LocalOidcIdp]:
    user = IdpUser("erin", "Erin-IdP-Passw0rd!", sub="erin-0001", claims={"email": "erin@corp.example"})
    with LocalOidcIdp([user], clock=clock) as provider:
        provider.register_with(hosted, "CorpIdP")
        yield provider


def federated_login(
    local: LocalCognito, challenge: str, password: str = "Erin-IdP-Passw0rd!"
) -> requests.Response:
    """authorize?identity_provider= → IdP form → IdP redirect → /oauth2/idpresponse → callback."""
    browser = requests.Session()
    first = browser.get(
        f"{local.endpoint_url}/oauth2/authorize",
        params=authorize_params(local, challenge, identity_provider="CorpIdP"),
        allow_redirects=False,
        timeout=10,
    )
    assert first.status_code == 302, first.text
    form = browser.get(first.headers["Location"], allow_redirects=False, timeout=10)
    assert form.status_code == 200, form.text
    fields = dict(re.findall(r"name='([^']+)' value='([^']*)'", form.text))
    fields = {k: v.replace("&amp;", "&") for k, v in fields.items()}
    fields.update(username="erin", password=password)
    idp_base = first.headers["Location"].split("/authorize")[0]
    back = browser.post(f"{idp_base}/authorize", data=fields, allow_redirects=False, timeout=10)
    if back.status_code != 302:
        return back
    return browser.get(back.headers["Location"], allow_redirects=False, timeout=10)


def test_a_user_known_only_at_the_idp_is_federated(hosted: LocalCognito, idp: LocalOidcIdp) -> None:
    """identity_provider= skips the hosted page; the user is created as <Provider>_<sub>.
    https://docs.aws.amazon.com/cognito/latest/developerguide/authorization-endpoint.html and
    https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-oidc-idp.html
    (the pool authenticates to the IdP with client_secret_post)"""
    verifier, challenge = pkce()
    done = federated_login(hosted, challenge)
    assert done.status_code == 302 and done.headers["Location"].startswith(CALLBACK), done.text
    query = query_of(done.headers["Location"])
    assert query["state"] == "the-state"
    tokens = redeem(hosted, query["code"], verifier).json()
    claims = verifier_for(hosted).verify(tokens["id_token"], token_use="id")
    assert claims["cognito:username"] == "CorpIdP_erin-0001" and claims["email"] == "erin@corp.example"
    user = hosted.admin().admin_get_user(
        UserPoolId=hosted.settings.user_pool_id, Username="CorpIdP_erin-0001"
    )
    assert user["UserStatus"] == "EXTERNAL_PROVIDER"
    assert idp.token_requests == 1 and idp.token_auth_methods == ["client_secret_post"]


def test_a_wrong_idp_password_never_reaches_the_pool(hosted: LocalCognito, idp: LocalOidcIdp) -> None:
    _, challenge = pkce()
    page = federated_login(hosted, challenge, password="nope")
    assert page.status_code == 400 and idp.token_requests == 0
    users = hosted.admin().list_users(UserPoolId=hosted.settings.user_pool_id)["Users"]
    assert [u["Username"] for u in users] == ["alice"]


def test_an_unknown_identity_provider_is_an_error_page(hosted: LocalCognito, idp: LocalOidcIdp) -> None:
    _, challenge = pkce()
    page = requests.get(
        f"{hosted.endpoint_url}/oauth2/authorize",
        params=authorize_params(hosted, challenge, identity_provider="Nope"),
        allow_redirects=False,
        timeout=10,
    )
    assert page.status_code == 400 and "Location" not in page.headers


def test_a_client_without_callback_urls_has_no_hosted_ui(local: LocalCognito) -> None:
    assert local.settings.oauth_domain is None and "oauth_domain" not in local.settings.as_config()
    _, challenge = pkce()
    page = requests.get(
        f"{local.endpoint_url}/oauth2/authorize",
        params=authorize_params(local, challenge),
        allow_redirects=False,
        timeout=10,
    )
    assert page.status_code == 400


def test_users_are_checked_against_the_pool(make_local: Callable[[LocalSpec], LocalCognito]) -> None:
    spec = hosted_spec()
    spec = replace(spec, users=(*spec.users, UserSpec("bob", "Bob-Passw0rd!")))
    local = make_local(spec)
    local.users.disable("bob")
    _, challenge = pkce()
    page = browser_login(local, challenge, username="bob", password="Bob-Passw0rd!")
    assert page.status_code == 400 and "disabled" in page.text


def test_the_emulator_s_settings_name_its_hosted_ui(hosted: LocalCognito) -> None:
    """With callback URLs, ``local.settings`` (and ``nb-cognito local``'s exports) carry
    ``oauth_domain`` (the emulator itself) and ``redirect_uri``; without, neither."""
    assert hosted.settings.oauth_domain == hosted.endpoint_url
    assert hosted.settings.redirect_uri == CALLBACK
    assert hosted.settings.as_env()["NB_COGNITO_OAUTH_DOMAIN"] == hosted.endpoint_url
