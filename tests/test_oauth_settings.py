"""The hosted-UI settings: checks, precedence, describe(), and the three Amplify file formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nb_cognito.auth.oauth import new_request
from nb_cognito.exceptions import ConfigurationError
from nb_cognito.settings.config import CognitoConfig, Settings

POOL = {"user_pool_id": "us-east-1_AbC123", "client_id": "1example23456789"}


def test_domain_without_a_scheme_means_https_and_scopes_are_normalised() -> None:
    settings = Settings(
        **POOL,
        oauth_domain="myapp.auth.us-east-1.amazoncognito.com",
        oauth_scopes="openid, email  profile",
        redirect_uri="http://localhost:8765/",
        identity_provider="Google, CorpOkta",
    )
    assert settings.oauth_domain == "https://myapp.auth.us-east-1.amazoncognito.com"
    assert settings.oauth_scopes == "openid email profile"
    assert settings.identity_provider == "Google,CorpOkta"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("oauth_domain", "https://myapp.example/path"),
        ("oauth_domain", "not a domain"),
        ("redirect_uri", "localhost:8765"),
        ("redirect_uri", "http://localhost:8765/#fragment"),
        ("oauth_scopes", 'openid "email"'),
        ("identity_provider", "a b"),
    ],
)
def test_bad_values_name_the_setting_and_its_source(name: str, value: str) -> None:
    config = CognitoConfig()
    with pytest.raises(ConfigurationError, match=rf"{name} from configure\(\)"):
        config.update(**{name: value})


def test_precedence_and_describe(tmp_path: Path) -> None:
    config = CognitoConfig()
    config.update(**POOL, redirect_uri="http://localhost:9000/")
    environ = {
        "NB_COGNITO_OAUTH_DOMAIN": "env.auth.us-east-1.amazoncognito.com",
        "NB_COGNITO_REDIRECT_URI": "http://localhost:1111/",
    }
    settings = config.resolve(environ)
    assert settings.redirect_uri == "http://localhost:9000/"
    assert settings.sources["oauth_domain"] == "environment (NB_COGNITO_OAUTH_DOMAIN)"
    described = settings.describe()
    assert "oauth_domain" in described and "NB_COGNITO_OAUTH_DOMAIN" in described


def write(tmp_path: Path, data: dict) -> str:
    path = tmp_path / "amplify.json"
    path.write_text(json.dumps(data))
    return str(path)


def test_gen2_auth_oauth(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "version": "1.3",
            "auth": {
                "aws_region": "us-east-1",
                "user_pool_id": POOL["user_pool_id"],
                "user_pool_client_id": POOL["client_id"],
                "oauth": {
                    "domain": "gen2.auth.us-east-1.amazoncognito.com",
                    "scopes": ["openid", "email"],
                    "redirect_sign_in_uri": ["https://app.example/", "http://localhost:8765/"],
                    "identity_providers": ["GOOGLE", "CorpOIDC"],
                    "response_type": "code",
                },
            },
        },
    )
    settings = CognitoConfig(amplify_config=path).resolve({})
    assert settings.oauth_domain == "https://gen2.auth.us-east-1.amazoncognito.com"
    assert settings.oauth_scopes == "openid email"
    assert settings.redirect_uri == "http://localhost:8765/"  # the loopback one is preferred
    assert settings.identity_provider == "Google,CorpOIDC"
    assert settings.sources["redirect_uri"].endswith("(auth.oauth.redirect_sign_in_uri)")


def test_gen1_oauth(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "auth": {
                "plugins": {
                    "awsCognitoAuthPlugin": {
                        "CognitoUserPool": {
                            "Default": {
                                "PoolId": POOL["user_pool_id"],
                                "AppClientId": POOL["client_id"],
                                "Region": "us-east-1",
                            }
                        },
                        "Auth": {
                            "Default": {
                                "OAuth": {
                                    "WebDomain": "gen1.auth.us-east-1.amazoncognito.com",
                                    "AppClientId": POOL["client_id"],
                                    "SignInRedirectURI": "https://app.example/,http://localhost:7000/cb",
                                    "Scopes": ["openid", "profile"],
                                }
                            }
                        },
                    }
                }
            }
        },
    )
    settings = CognitoConfig(amplify_config=path).resolve({})
    assert settings.oauth_domain == "https://gen1.auth.us-east-1.amazoncognito.com"
    assert settings.redirect_uri == "http://localhost:7000/cb"
    assert settings.oauth_scopes == "openid profile"


def test_aws_exports_oauth(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "aws_user_pools_id": POOL["user_pool_id"],
            "aws_user_pools_web_client_id": POOL["client_id"],
            "oauth": {
                "domain": "exports.auth.us-east-1.amazoncognito.com",
                "scope": ["openid"],
                "redirectSignIn": "http://localhost:3000/",
                "responseType": "code",
            },
        },
    )
    settings = CognitoConfig(amplify_config=path).resolve({})
    assert settings.oauth_domain == "https://exports.auth.us-east-1.amazoncognito.com"
    assert settings.redirect_uri == "http://localhost:3000/"


def test_the_authorize_url_and_a_missing_setting() -> None:
    settings = Settings(
        **POOL,
        oauth_domain="d.auth.us-east-1.amazoncognito.com",
        redirect_uri="http://localhost:8765/",
        identity_provider="CorpOkta",
    )
    request = new_request(settings)
    assert request.url.startswith("https://d.auth.us-east-1.amazoncognito.com/oauth2/authorize?")
    assert "identity_provider=CorpOkta" in request.url and "code_challenge_method=S256" in request.url
    assert request.verifier not in request.url and request.state in request.url
    with pytest.raises(ConfigurationError, match="oauth_domain"):
        new_request(Settings(**POOL, redirect_uri="http://localhost:8765/"))
    several = Settings(
        **POOL, oauth_domain="d.example", redirect_uri="http://localhost:8765/", identity_provider="A,B"
    )
    assert "identity_provider" not in new_request(several).url  # several: the hosted page chooses
