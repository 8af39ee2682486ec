"""Where settings come from: configure() > IPython config > environment > Amplify file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from traitlets.config import Config, Configurable

from nb_cognito.exceptions import ConfigurationError
from nb_cognito.settings.config import SETTING_NAMES, CognitoConfig, Settings, env_var

POOL = "us-east-1_AbC123"
CLIENT = "1example23456789abcdefghij"
IDENTITY = "us-east-1:0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
ROLE = "arn:aws:iam::123456789012:role/NotebookUsers"
# Short on purpose: redact_text() hides 40+ character runs, which would hide a leak from the test.
CANARY = "canary-7f3a"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("NB_COGNITO_", "AWS_")):
            monkeypatch.delenv(name)


def ipython_config(**values: object) -> Config:
    cfg = Config()
    for name, value in values.items():
        setattr(cfg.CognitoConfig, name, value)
    return cfg


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def gen2(path: Path, **auth: object) -> Path:
    body = {"aws_region": "us-east-1", "user_pool_id": POOL, "user_pool_client_id": CLIENT}
    return write_json(path, {"version": "1.3", "auth": {**body, **auth}})


def raises(match_all: list[str], fn, *args, **kwargs) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as info:
        fn(*args, **kwargs)
    message = str(info.value)
    for text in match_all:
        assert text in message, f"{text!r} not in {message!r}"
    return info.value


# ---------------------------------------------------------------------------
# Precedence


def test_each_source_wins_over_the_ones_below(tmp_path, monkeypatch):
    amplify = gen2(tmp_path / "amplify_outputs.json", user_pool_client_id="fromamplify")
    monkeypatch.setenv("NB_COGNITO_AMPLIFY_CONFIG", str(amplify))
    monkeypatch.setenv("NB_COGNITO_CLIENT_ID", "fromenv")
    config = CognitoConfig(config=ipython_config(client_id="fromipython"))
    config.update(client_id="fromconfigure")

    settings = config.resolve()
    assert (settings.client_id, settings.sources["client_id"]) == ("fromconfigure", "configure()")

    config.update(client_id=None)
    settings = config.resolve()
    assert settings.client_id == "fromipython"
    assert settings.sources["client_id"] == "IPython config (c.CognitoConfig.client_id)"

    settings = CognitoConfig().resolve()
    assert settings.client_id == "fromenv"
    assert settings.sources["client_id"] == "environment (NB_COGNITO_CLIENT_ID)"

    monkeypatch.delenv("NB_COGNITO_CLIENT_ID")
    settings = CognitoConfig().resolve()
    assert settings.client_id == "fromamplify"
    assert settings.sources["client_id"] == (f"Amplify file {amplify} (auth.user_pool_client_id)")
    assert settings.sources["amplify_config"] == "environment (NB_COGNITO_AMPLIFY_CONFIG)"


def test_sources_mix_setting_by_setting(monkeypatch):
    monkeypatch.setenv("NB_COGNITO_USER_POOL_ID", POOL)
    config = CognitoConfig(config=ipython_config(client_id=CLIENT))
    config.update(network_timeout=3)
    settings = config.resolve()
    assert settings.sources == {
        **{name: "not set" for name in SETTING_NAMES},
        "region": "derived from user_pool_id (environment (NB_COGNITO_USER_POOL_ID))",
        "user_pool_id": "environment (NB_COGNITO_USER_POOL_ID)",
        "client_id": "IPython config (c.CognitoConfig.client_id)",
        "network_timeout": "configure()",
        **{
            name: "default"
            for name in (
                "auth_flow",
                "allow_guest",
                "inject_boto3",
                "subprocess_credentials",
                "export_env",
                "remember",
                "remember_device",
                "hub_sign_in",
            )
        },
    }
    assert settings.network_timeout == 3.0


def test_ipython_config_set_to_the_default_still_beats_the_environment(monkeypatch):
    monkeypatch.setenv("NB_COGNITO_ALLOW_GUEST", "1")
    monkeypatch.setenv("NB_COGNITO_NETWORK_TIMEOUT", "30")
    config = CognitoConfig(config=ipython_config(allow_guest=False, network_timeout=10.0))
    settings = config.resolve()
    assert settings.allow_guest is False
    assert settings.sources["allow_guest"] == "IPython config (c.CognitoConfig.allow_guest)"
    assert settings.network_timeout == 10.0


def test_trait_defaults_do_not_hide_the_environment(monkeypatch):
    monkeypatch.setenv("NB_COGNITO_ALLOW_GUEST", "yes")
    monkeypatch.setenv("NB_COGNITO_AUTH_FLOW", "USER_PASSWORD_AUTH")
    config = CognitoConfig()
    assert config.allow_guest is False and config.auth_flow == "USER_SRP_AUTH"
    settings = config.resolve()
    assert settings.allow_guest is True
    assert settings.auth_flow == "USER_PASSWORD_AUTH"


def test_ipython_config_reaches_the_object_through_its_parent_and_percent_config():
    class Shell(Configurable):
        pass

    shell = Shell(config=ipython_config(user_pool_id=POOL))
    config = CognitoConfig(parent=shell)
    assert config.resolve().user_pool_id == POOL

    config.update_config(ipython_config(client_id=CLIENT))  # what %config does
    settings = config.resolve()
    assert settings.client_id == CLIENT
    assert settings.sources["client_id"] == "IPython config (c.CognitoConfig.client_id)"


def test_values_assigned_in_code_sit_at_the_ipython_level_with_their_own_label(monkeypatch):
    monkeypatch.setenv("NB_COGNITO_REMEMBER", "true")
    config = CognitoConfig(remember=False, client_id=CLIENT)
    config.region = "us-east-1"
    settings = config.resolve()
    assert settings.remember is False
    assert settings.sources["remember"] == "CognitoConfig.remember attribute"
    assert settings.sources["region"] == "CognitoConfig.region attribute"
    config.update(region="us-west-2")
    assert config.resolve().region == "us-west-2"


def test_none_means_not_set_at_that_level(monkeypatch):
    monkeypatch.setenv("NB_COGNITO_REGION", "eu-west-1")
    config = CognitoConfig(config=ipython_config(region=None))
    assert config.resolve().sources["region"] == "environment (NB_COGNITO_REGION)"
    config.update(region=None)
    assert config.resolve().region == "eu-west-1"


def test_update_none_clears_the_configure_level():
    config = CognitoConfig()
    config.update(user_pool_id=POOL, client_id=CLIENT)
    config.update(None, region="us-east-1")
    settings = config.resolve()
    assert (settings.user_pool_id, settings.client_id, settings.region) == (None, None, "us-east-1")
    config.update(None)
    assert config.resolve().region is None


def test_update_keeps_settings_it_does_not_name():
    config = CognitoConfig()
    config.update(user_pool_id=POOL)
    config.update(client_id=CLIENT)
    settings = config.resolve()
    assert (settings.user_pool_id, settings.client_id) == (POOL, CLIENT)


def test_update_rejects_unknown_names_and_lists_the_valid_ones():
    config = CognitoConfig()
    error = raises(["userpool_id", "Valid settings"], config.update, userpool_id=POOL)
    for name in SETTING_NAMES:
        assert name in str(error)


def test_update_with_a_bad_value_changes_nothing():
    config = CognitoConfig()
    config.update(client_id=CLIENT)
    raises(["user_pool_id", "configure()"], config.update, client_id="other", user_pool_id="x")
    assert config.resolve().client_id == CLIENT


def test_update_checks_types():
    config = CognitoConfig()
    raises(["allow_guest", "configure()", "True or False"], config.update, allow_guest="yes")
    raises(["network_timeout", "configure()"], config.update, network_timeout=True)
    raises(["region", "configure()", "string"], config.update, region=1)
    raises(["inject_boto3"], config.update, inject_boto3="sometimes")
    config.update(inject_boto3="Always", amplify_config=Path("x.json"))
    assert config._overrides["inject_boto3"][0] == "always"
    assert config._overrides["amplify_config"][0] == "x.json"


def test_merge_from_adopts_another_config_at_the_configure_level(monkeypatch):
    monkeypatch.setenv("NB_COGNITO_IDENTITY_POOL_ID", IDENTITY)
    mine = CognitoConfig(config=ipython_config(user_pool_id="eu-west-1_Old", client_id="old"))
    mine.update(remember=True)
    other = CognitoConfig(user_pool_id=POOL, config=ipython_config(client_id=CLIENT))
    other.update(allow_guest=True)

    mine.merge_from(other)
    settings = mine.resolve()
    assert (settings.user_pool_id, settings.client_id) == (POOL, CLIENT)
    assert settings.sources["user_pool_id"].startswith("configure(CognitoConfig)")
    assert settings.sources["client_id"] == (
        "configure(CognitoConfig) <- IPython config (c.CognitoConfig.client_id)"
    )
    assert settings.allow_guest is True and settings.sources["allow_guest"] == "configure()"
    assert settings.remember is True  # not set by other: kept
    assert settings.identity_pool_id == IDENTITY  # other's environment is not adopted as a value
    assert settings.sources["identity_pool_id"].startswith("environment")
    with pytest.raises(TypeError):
        mine.merge_from({"region": "us-east-1"})  # type: ignore[arg-type]


def test_merge_from_checks_the_other_configs_values():
    other = CognitoConfig(user_pool_id="nope")
    raises(["user_pool_id", "CognitoConfig.user_pool_id attribute"], CognitoConfig().merge_from, other)


def test_copy_is_independent_and_keeps_every_level():
    original = CognitoConfig(config=ipython_config(client_id=CLIENT), remember=True)
    original.update(user_pool_id=POOL)
    copy = original.copy()
    assert copy.resolve() == original.resolve()
    assert copy.resolve().sources == original.resolve().sources

    copy.update(user_pool_id="eu-west-1_Other")
    copy.client_id = "changed"
    assert original.resolve().user_pool_id == POOL
    assert original.resolve().client_id == CLIENT


# ---------------------------------------------------------------------------
# The environment


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("region", "eu-central-1", "eu-central-1"),
        ("user_pool_id", POOL, POOL),
        ("client_id", CLIENT, CLIENT),
        ("client_secret", CANARY, CANARY),
        ("identity_pool_id", IDENTITY, IDENTITY),
        ("endpoint_url", "http://127.0.0.1:9229", "http://127.0.0.1:9229"),
        ("auth_flow", "user_password_auth", "USER_PASSWORD_AUTH"),
        ("role_arn", ROLE, ROLE),
        ("allow_guest", "1", True),
        ("inject_boto3", "always", "always"),
        ("inject_boto3", "no", False),
        ("subprocess_credentials", "true", True),
        ("export_env", "YES", True),
        ("remember", " yes ", True),
        ("network_timeout", "2.5", 2.5),
    ],
)
def test_each_environment_variable(monkeypatch, name, raw, expected):
    monkeypatch.setenv(env_var(name), raw)
    settings = CognitoConfig().resolve()
    assert getattr(settings, name) == expected
    assert settings.sources[name] == f"environment (NB_COGNITO_{name.upper()})"


@pytest.mark.parametrize("raw", ["0", "false", "no", "False", "NO"])
def test_false_booleans_in_the_environment(monkeypatch, raw):
    monkeypatch.setenv("NB_COGNITO_INJECT_BOTO3", raw)
    monkeypatch.setenv("NB_COGNITO_EXPORT_ENV", raw)
    settings = CognitoConfig().resolve()
    assert settings.inject_boto3 is False and settings.export_env is False
    assert settings.sources["export_env"] == "environment (NB_COGNITO_EXPORT_ENV)"


def test_empty_environment_variables_are_not_set(monkeypatch):
    monkeypatch.setenv("NB_COGNITO_USER_POOL_ID", "")
    monkeypatch.setenv("NB_COGNITO_ALLOW_GUEST", " ")
    settings = CognitoConfig().resolve()
    assert settings.user_pool_id is None and settings.allow_guest is False


@pytest.mark.parametrize(
    "name", ["allow_guest", "subprocess_credentials", "export_env", "remember", "inject_boto3"]
)
def test_a_bad_boolean_in_the_environment(monkeypatch, name):
    monkeypatch.setenv(env_var(name), "maybe")
    raises([name, f"environment ({env_var(name)})", "maybe", "true/false"], CognitoConfig().resolve)


def test_a_bad_timeout_in_the_environment(monkeypatch):
    monkeypatch.setenv("NB_COGNITO_NETWORK_TIMEOUT", "soon")
    raises(["network_timeout", "NB_COGNITO_NETWORK_TIMEOUT", "number"], CognitoConfig().resolve)


def test_resolve_reads_the_environment_it_is_given():
    settings = CognitoConfig().resolve({"NB_COGNITO_USER_POOL_ID": POOL})
    assert settings.user_pool_id == POOL


def test_a_bad_environment_value_hidden_by_a_higher_source_is_ignored(monkeypatch):
    monkeypatch.setenv("NB_COGNITO_ALLOW_GUEST", "maybe")
    config = CognitoConfig()
    config.update(allow_guest=True)
    assert config.resolve().allow_guest is True


# ---------------------------------------------------------------------------
# Amplify files


def test_amplify_gen2_outputs(tmp_path):
    path = gen2(
        tmp_path / "amplify_outputs.json",
        identity_pool_id=IDENTITY,
        unauthenticated_identities_enabled=True,
        mfa_methods=["TOTP"],
    )
    config = CognitoConfig()
    config.update(amplify_config=path)
    settings = config.resolve()
    assert (settings.region, settings.user_pool_id, settings.client_id) == ("us-east-1", POOL, CLIENT)
    assert settings.identity_pool_id == IDENTITY
    assert settings.allow_guest is True
    assert settings.sources["user_pool_id"] == f"Amplify file {path} (auth.user_pool_id)"
    assert settings.sources["region"] == f"Amplify file {path} (auth.aws_region)"
    assert settings.sources["allow_guest"] == (
        f"Amplify file {path} (auth.unauthenticated_identities_enabled)"
    )
    assert settings.amplify_config == str(path)


def test_amplify_gen1_configuration(tmp_path):
    plugin = {
        "UserAgent": "aws-amplify-cli/0.1.0",
        "Version": "0.1.0",
        "CredentialsProvider": {"CognitoIdentity": {"Default": {"PoolId": IDENTITY, "Region": "us-east-1"}}},
        "CognitoUserPool": {
            "Default": {
                "PoolId": POOL,
                "AppClientId": CLIENT,
                "AppClientSecret": CANARY,
                "Region": "us-east-1",
            }
        },
        "Auth": {"Default": {"authenticationFlowType": "USER_PASSWORD_AUTH"}},
    }
    path = write_json(
        tmp_path / "amplifyconfiguration.json",
        {"UserAgent": "x", "Version": "1.0", "auth": {"plugins": {"awsCognitoAuthPlugin": plugin}}},
    )
    settings = CognitoConfig(config=ipython_config(amplify_config=str(path))).resolve()
    assert (settings.user_pool_id, settings.client_id, settings.client_secret) == (
        POOL,
        CLIENT,
        CANARY,
    )
    assert settings.identity_pool_id == IDENTITY
    assert settings.auth_flow == "USER_PASSWORD_AUTH"
    assert settings.sources["user_pool_id"] == (
        f"Amplify file {path} (auth.plugins.awsCognitoAuthPlugin.CognitoUserPool.Default.PoolId)"
    )
    assert settings.sources["amplify_config"] == "IPython config (c.CognitoConfig.amplify_config)"
    assert CANARY not in repr(settings)


def test_amplify_gen1_ignores_flows_nb_cognito_does_not_implement(tmp_path):
    plugin = {
        "CognitoUserPool": {"Default": {"PoolId": POOL, "AppClientId": CLIENT}},
        "Auth": {"Default": {"authenticationFlowType": "CUSTOM_AUTH"}},
    }
    path = write_json(tmp_path / "a.json", {"auth": {"plugins": {"awsCognitoAuthPlugin": plugin}}})
    settings = CognitoConfig(amplify_config=str(path)).resolve()
    assert settings.auth_flow == "USER_SRP_AUTH" and settings.sources["auth_flow"] == "default"
    assert settings.region == "us-east-1"  # derived: the file gave no region


def test_amplify_aws_exports_json(tmp_path):
    path = write_json(
        tmp_path / "aws-exports.json",
        {
            "aws_project_region": "eu-west-1",
            "aws_cognito_region": "us-east-1",
            "aws_user_pools_id": POOL,
            "aws_user_pools_web_client_id": CLIENT,
            "aws_cognito_identity_pool_id": IDENTITY,
            "oauth": {},
        },
    )
    settings = CognitoConfig(amplify_config=str(path)).resolve()
    assert (settings.region, settings.user_pool_id, settings.client_id) == ("us-east-1", POOL, CLIENT)
    assert settings.identity_pool_id == IDENTITY
    assert settings.sources["client_id"] == f"Amplify file {path} (aws_user_pools_web_client_id)"
    assert settings.sources["region"] == f"Amplify file {path} (aws_cognito_region)"


def test_amplify_generated_aws_exports_js(tmp_path):
    body = json.dumps({"aws_project_region": "us-east-1", "aws_user_pools_id": POOL}, indent=4)
    path = tmp_path / "aws-exports.js"
    path.write_text(
        "/* eslint-disable */\n// WARNING: DO NOT EDIT.\n\n"
        f"const awsmobile = {body};\n\n\nexport default awsmobile;\n",
        encoding="utf-8",
    )
    settings = CognitoConfig(amplify_config=str(path)).resolve()
    assert settings.user_pool_id == POOL
    # the project region is a guess; the pool id decides
    assert settings.sources["region"].startswith("derived from user_pool_id")


def test_amplify_file_from_the_environment_relative_to_the_working_directory(tmp_path, monkeypatch):
    gen2(tmp_path / "amplify_outputs.json")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NB_COGNITO_AMPLIFY_CONFIG", "amplify_outputs.json")
    settings = CognitoConfig().resolve()
    assert settings.user_pool_id == POOL
    assert str(tmp_path / "amplify_outputs.json") in settings.sources["user_pool_id"]


def test_amplify_values_are_the_lowest_priority(tmp_path, monkeypatch):
    path = gen2(tmp_path / "amplify_outputs.json")
    monkeypatch.setenv("NB_COGNITO_USER_POOL_ID", "eu-west-1_FromEnv")
    monkeypatch.setenv("NB_COGNITO_REGION", "eu-west-1")
    settings = CognitoConfig(amplify_config=str(path)).resolve()
    assert settings.user_pool_id == "eu-west-1_FromEnv"
    assert settings.client_id == CLIENT


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "does not exist"),
        ("{not json " + CANARY, "is not valid JSON"),
        ('["a", "list"]', "holds a JSON list"),
        (json.dumps({"storage": {"bucket_name": CANARY}}), "not in a recognised format"),
        (json.dumps({"version": "1", "storage": {}}), "has no 'auth' section"),
        (json.dumps({"auth": {"plugins": {"other": {}}}}), "awsCognitoAuthPlugin"),
        (json.dumps({"auth": {"user_pool_id": 12}}), "has a int at auth.user_pool_id"),
        (
            json.dumps({"auth": {"plugins": {"awsCognitoAuthPlugin": {"CognitoUserPool": []}}}}),
            "has a list at auth.plugins.awsCognitoAuthPlugin.CognitoUserPool",
        ),
    ],
)
def test_unusable_amplify_files(tmp_path, monkeypatch, content, problem):
    monkeypatch.chdir(tmp_path)
    if content is not None:
        Path("outputs.json").write_text(content, encoding="utf-8")
    config = CognitoConfig()
    config.update(amplify_config="outputs.json")
    error = raises(["'outputs.json'", "amplify_config from configure()", problem], config.resolve)
    assert CANARY not in str(error)


def test_an_amplify_path_that_is_a_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("outputs").mkdir()
    monkeypatch.setenv("NB_COGNITO_AMPLIFY_CONFIG", "outputs")
    raises(
        ["'outputs'", "environment (NB_COGNITO_AMPLIFY_CONFIG)", "is a directory"],
        CognitoConfig().resolve,
    )


def test_an_amplify_file_that_is_not_utf8(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("outputs.json").write_bytes(b"\xff\xfe{}")
    raises(["'outputs.json'", "UTF-8"], CognitoConfig(amplify_config="outputs.json").resolve)


def test_an_absolute_amplify_path_is_named_in_full(tmp_path):
    directory = tmp_path / "a-long-project-directory-name-for-notebooks"
    directory.mkdir()
    path = directory / "amplify_outputs.json"
    error = raises([], CognitoConfig(amplify_config=str(path)).resolve)
    assert str(path) in str(error)


def test_a_bad_value_in_an_amplify_file_names_the_file_and_key(tmp_path):
    path = gen2(tmp_path / "amplify_outputs.json", user_pool_id="not-a-pool")
    error = raises(
        ["user_pool_id", "Amplify file", "(auth.user_pool_id)", "'not-a-pool'"],
        CognitoConfig(amplify_config=str(path)).resolve,
    )
    assert "Regenerate the Amplify outputs file" in str(error)


# ---------------------------------------------------------------------------
# Bad values name the setting and the source

BAD_VALUES = [
    ("user_pool_id", "us-east-1-AbC123"),
    ("user_pool_id", "_AbC123"),
    ("user_pool_id", "us east 1_AbC123"),
    ("user_pool_id", "us-east-1_Ab-C"),
    ("region", "Mars"),
    ("region", "us-east"),
    ("client_id", "has space"),
    ("client_id", "x" * 129),
    ("client_id", "id-with-dash"),
    ("identity_pool_id", "us-east-1:not-a-uuid"),
    ("identity_pool_id", "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"),
    ("identity_pool_id", "moon-1:0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"),
    ("endpoint_url", "ftp://127.0.0.1:9229"),
    ("endpoint_url", "localhost:9229"),
    ("endpoint_url", "http://"),
    ("endpoint_url", "http://host:port"),
    ("auth_flow", "CUSTOM_AUTH"),
    ("role_arn", "arn:aws:iam::123456789012:user/alice"),
    ("role_arn", "arn:aws:s3:::bucket"),
    ("role_arn", "arn:aws:iam::12345:role/Short"),
    ("network_timeout", "0"),
    ("network_timeout", "-1"),
    ("network_timeout", "nan"),
    ("network_timeout", "inf"),
]


def _as_python(name: str, raw: str) -> object:
    return float(raw) if name == "network_timeout" else raw


@pytest.mark.parametrize(("name", "raw"), BAD_VALUES)
def test_bad_value_from_configure(name, raw):
    error = raises([name, "configure()"], CognitoConfig().update, **{name: _as_python(name, raw)})
    assert f"nb_cognito.configure({name}=" in error.recovery_suggestion


@pytest.mark.parametrize(("name", "raw"), BAD_VALUES)
def test_bad_value_from_ipython_config(name, raw):
    config = CognitoConfig(config=ipython_config(**{name: _as_python(name, raw)}))
    error = raises([name, f"IPython config (c.CognitoConfig.{name})"], config.resolve)
    assert "ipython_config.py" in error.recovery_suggestion


@pytest.mark.parametrize(("name", "raw"), BAD_VALUES)
def test_bad_value_from_the_environment(monkeypatch, name, raw):
    monkeypatch.setenv(env_var(name), raw)
    error = raises([name, f"environment ({env_var(name)})"], CognitoConfig().resolve)
    assert f"unset the environment variable {env_var(name)}" in error.recovery_suggestion


def test_bad_value_messages_say_what_is_expected():
    config = CognitoConfig()
    raises(["'<prefix>_<id>'", "us-east-1_AbC123"], config.update, user_pool_id="bad")
    raises(["'<region>:<uuid>'"], config.update, identity_pool_id="bad")
    raises(["USER_SRP_AUTH", "USER_PASSWORD_AUTH"], config.update, auth_flow="SMS")
    raises(["1 to 128"], config.update, client_id="a.b")
    raises(["IAM role ARN"], config.update, role_arn="arn")
    raises(["http(s) URL"], config.update, endpoint_url="file:///tmp/x")
    raises(["positive number of seconds"], config.update, network_timeout=0)


def test_empty_strings_are_rejected_not_ignored_outside_the_environment():
    raises(["client_id", "configure()", "is empty"], CognitoConfig().update, client_id="  ")


def test_an_explicit_region_wins_over_the_pool_prefix_for_a_replica(monkeypatch):
    """A Multi-Region replica keeps the pool id (its prefix is the primary region) and is
    reached in the replica's region, which only an explicit ``region`` can say.
    https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-multi-region.html
    """
    monkeypatch.setenv("NB_COGNITO_USER_POOL_ID", POOL)
    settings = CognitoConfig(config=ipython_config(region="eu-west-1")).resolve()
    assert settings.region == "eu-west-1"
    assert settings.sources["region"] == "IPython config (c.CognitoConfig.region)"
    assert settings.primary_region == "us-east-1"


def test_a_pool_id_without_a_region_prefix_takes_the_explicit_region():
    """cognito-local's pools are ``local_<id>``: the region cannot come from the prefix."""
    settings = CognitoConfig(user_pool_id="local_AbC123", client_id=CLIENT, region="eu-west-2").resolve()
    assert (settings.region, settings.primary_region) == ("eu-west-2", "eu-west-2")
    assert settings.require_sign_in_settings() is settings


def test_a_pool_id_without_a_region_prefix_and_no_region_says_to_set_region():
    settings = CognitoConfig(user_pool_id="local_AbC123", client_id=CLIENT).resolve()
    assert settings.region is None
    raises(
        ["needs region", "'local_AbC123'", "does not start with an AWS region", "NB_COGNITO_REGION"],
        settings.require_sign_in_settings,
    )


def test_per_service_endpoints_override_endpoint_url_each_for_its_service():
    settings = CognitoConfig(
        user_pool_id=POOL,
        endpoint_url="http://127.0.0.1:1",
        sts_endpoint_url="https://sts-fips.us-east-1.amazonaws.com",
    ).resolve()
    assert settings.cognito_idp_endpoint == settings.cognito_identity_endpoint == "http://127.0.0.1:1"
    assert settings.sts_endpoint == "https://sts-fips.us-east-1.amazonaws.com"
    assert "endpoint_url 'http://127.0.0.1:1' from" in settings.endpoint_setting()


def test_botocore_per_service_endpoint_variables_are_the_last_source(monkeypatch):
    """botocore's ``AWS_ENDPOINT_URL_<SERVICE>`` fill a per-service setting nb_cognito's own
    sources leave unset, and only while ``endpoint_url`` (nb_cognito's shortcut) is unset.
    https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html
    """
    monkeypatch.setenv("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", "https://idp.vpce.example")
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", "https://sts.vpce.example")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")  # the global one is never read
    settings = CognitoConfig(user_pool_id=POOL, sts_endpoint_url="https://mine.example").resolve()
    assert settings.cognito_idp_endpoint == "https://idp.vpce.example"
    assert settings.sources["cognito_idp_endpoint_url"] == (
        "environment (AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER, botocore's per-service endpoint)"
    )
    assert settings.sts_endpoint == "https://mine.example"
    assert settings.cognito_identity_endpoint is None
    with_shortcut = CognitoConfig(user_pool_id=POOL, endpoint_url="http://127.0.0.1:1").resolve()
    assert with_shortcut.cognito_idp_endpoint == "http://127.0.0.1:1"
    monkeypatch.setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
    assert CognitoConfig(user_pool_id=POOL).resolve().cognito_idp_endpoint is None


def test_auth_flow_is_case_insensitive_and_normalised():
    config = CognitoConfig()
    config.update(auth_flow="user_password_auth")
    assert config.resolve().auth_flow == "USER_PASSWORD_AUTH"


def test_valid_edge_values_are_accepted():
    config = CognitoConfig()
    config.update(
        user_pool_id="us-gov-west-1_x",
        client_id="a+b_C" + "x" * 123,
        identity_pool_id="us-gov-west-1:0A1B2C3D-4E5F-6A7B-8C9D-0E1F2A3B4C5D",
        endpoint_url="https://cognito.internal.example:8443/base",
        role_arn="arn:aws-us-gov:iam::123456789012:role/service-role/path/Name.x@y",
        network_timeout=0.5,
    )
    settings = config.resolve()
    assert settings.region == "us-gov-west-1"
    assert len(settings.client_id or "") == 128


# ---------------------------------------------------------------------------
# Region


def test_region_is_derived_from_the_user_pool_id():
    config = CognitoConfig()
    config.update(user_pool_id="ap-southeast-2_Xyz")
    settings = config.resolve()
    assert settings.region == "ap-southeast-2"
    assert settings.sources["region"] == "derived from user_pool_id (configure())"


def test_region_is_derived_from_the_identity_pool_without_a_user_pool():
    settings = CognitoConfig(identity_pool_id="eu-north-1:0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d")
    resolved = settings.resolve()
    assert resolved.region == "eu-north-1"
    assert resolved.sources["region"].startswith("derived from identity_pool_id")


def test_an_explicit_region_that_agrees_is_kept_with_its_source():
    config = CognitoConfig()
    config.update(region="us-east-1", user_pool_id=POOL)
    assert config.resolve().sources["region"] == "configure()"


def test_an_identity_pool_in_another_region_is_allowed():
    config = CognitoConfig()
    config.update(user_pool_id=POOL, identity_pool_id=IDENTITY.replace("us-east-1", "eu-west-1"))
    settings = config.resolve()
    assert settings.region == "us-east-1"
    assert settings.identity_pool_region == "eu-west-1"


def test_no_pool_no_region():
    settings = CognitoConfig().resolve()
    assert settings.region is None and settings.identity_pool_region is None


# ---------------------------------------------------------------------------
# Settings


def test_settings_are_frozen_and_built_directly_with_the_same_checks():
    settings = Settings(user_pool_id=POOL, client_id=CLIENT)
    assert settings.region == "us-east-1"
    assert settings.sources["user_pool_id"] == "Settings()"
    assert settings.sources["auth_flow"] == "default"
    with pytest.raises(AttributeError):
        settings.region = "eu-west-1"  # type: ignore[misc]
    with pytest.raises(TypeError):
        settings.sources["region"] = "x"  # type: ignore[index]
    raises(["user_pool_id", "Settings()"], Settings, user_pool_id="bad")
    raises(["network_timeout"], Settings, network_timeout=-1)


def test_require_sign_in_settings_says_how_to_set_what_is_missing():
    error = raises(
        [
            "user_pool_id and client_id",
            "nb_cognito.configure(",
            "%cognito_login --user-pool-id",
            "NB_COGNITO_USER_POOL_ID",
            "c.CognitoConfig.user_pool_id",
            "Amplify",
        ],
        CognitoConfig().resolve().require_sign_in_settings,
    )
    assert isinstance(error, ValueError)
    only_client = Settings(user_pool_id=POOL)
    raises(["client_id, which is not set"], only_client.require_sign_in_settings)
    ready = Settings(user_pool_id=POOL, client_id=CLIENT)
    assert ready.require_sign_in_settings() is ready


def test_describe_lists_every_setting_with_its_source(monkeypatch):
    monkeypatch.setenv("NB_COGNITO_CLIENT_SECRET", CANARY)
    text = CognitoConfig(user_pool_id=POOL).resolve().describe()
    assert len(text.splitlines()) == len(SETTING_NAMES)
    assert "client_secret" in text and "<set>" in text
    assert "environment (NB_COGNITO_CLIENT_SECRET)" in text


# ---------------------------------------------------------------------------
# The client secret never shows


def test_the_secret_is_hidden_in_every_repr_and_str(monkeypatch):
    config = CognitoConfig(config=ipython_config(client_secret=CANARY))
    config.update(client_secret=CANARY, user_pool_id=POOL, client_id=CLIENT)
    settings = config.resolve()
    assert settings.client_secret == CANARY
    for text in (
        repr(settings),
        str(settings),
        settings.describe(),
        repr(config),
        str(config),
        CognitoConfig.class_get_help(config),
    ):
        assert CANARY not in text
    assert "client_secret=<set>" in repr(settings)
    assert "client_secret=<set>" in repr(config)
    assert "Current: <set>" in CognitoConfig.class_get_help(config)
    assert "client_secret=None" in repr(Settings())


def test_the_secret_never_appears_in_errors(monkeypatch):
    monkeypatch.setenv("NB_COGNITO_CLIENT_SECRET", CANARY)

    def message(fn, *args, **kwargs) -> str:
        with pytest.raises(ConfigurationError) as info:
            fn(*args, **kwargs)
        return str(info.value)

    messages = [
        message(CognitoConfig(user_pool_id="bad").resolve),
        message(CognitoConfig(user_pool_id=POOL, region="Mars").resolve),
        message(CognitoConfig().resolve().require_sign_in_settings),
        message(CognitoConfig(client_secret=CANARY).update, client_secret=12345),
        message(Settings, client_secret=" ", sources={"client_secret": "configure()"}),
    ]
    assert all(CANARY not in text for text in messages)
    assert "12345" not in messages[3]
    assert "client_secret from configure() is empty" in messages[4]


def test_importing_config_loads_no_aws_sdk():
    code = (
        "import sys, nb_cognito.settings.config\n"
        "heavy = {'boto3', 'botocore', 'pycognito', 'ipywidgets', 'moto'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_defaults():
    settings = CognitoConfig().resolve()
    assert settings == Settings()
    assert (settings.auth_flow, settings.inject_boto3, settings.network_timeout) == (
        "USER_SRP_AUTH",
        True,
        10.0,
    )
    flags = (settings.allow_guest, settings.export_env)
    assert not any((*flags, settings.remember))
    assert settings.subprocess_credentials is True  # the container endpoint is the default path


def test_describe_is_text_that_ipython_shows_as_an_aligned_table():
    from IPython.lib.pretty import pretty

    long_pool = "us-east-1_" + "A" * 50  # longer than any column width chosen in advance
    description = CognitoConfig(user_pool_id=long_pool, client_id=CLIENT).resolve().describe()
    assert isinstance(description, str)  # code can still search and print it
    assert pretty(description) == str(description)  # IPython shows the lines, not one '\n' string
    lines = str(description).splitlines()
    assert len(lines) == len(SETTING_NAMES)
    known = ("configure()", "default", "not set")
    sources = {line.index(source) for line in lines for source in known if source in line}
    assert len(sources) == 1, lines  # every source starts in the same column, the long id included
    html = description._repr_html_()
    assert "<table class='nb-cognito-settings'>" in html and long_pool in html and "<th" in html
