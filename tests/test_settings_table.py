"""The settings table is the one declaration: everything generated from it agrees with it.

Adding a setting is one row in ``nb_cognito/settings/table.py``, its field on ``Settings``
(held to the row here), and an example value in ``EXAMPLES`` below, which the tests use to read it
from every source the row names.
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from traitlets import Bool, Float, Unicode
from traitlets import Union as UnionTrait

from nb_cognito.environment import SETTING_PREFIX, EnvironmentVariables
from nb_cognito.settings import kinds
from nb_cognito.settings.config import SETTING_NAMES, CognitoConfig, Settings, env_var
from nb_cognito.settings.readme import render_table, replace_table, table_in
from nb_cognito.settings.table import (
    AMPLIFY_FILE_SETTING,
    DEFAULTS,
    GEN1_PLUGIN,
    MAGIC_SETTINGS,
    REQUIRED_SETTINGS,
    SETTINGS,
    SETTINGS_BY_NAME,
    SIGN_IN_SETTINGS,
)

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "nb_cognito"

#: A valid value of every setting, other than its default: read back from every source.
EXAMPLES: dict[str, object] = {
    "region": "eu-west-1",
    "user_pool_id": "eu-west-1_AbC123",
    "client_id": "1example23456789abcdefghij",
    "client_secret": "not-a-real-secret",
    "identity_pool_id": "eu-west-1:0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d",
    "endpoint_url": "http://127.0.0.1:9229",
    "cognito_idp_endpoint_url": "https://cognito-idp-fips.us-east-1.amazonaws.com",
    "cognito_identity_endpoint_url": "https://cognito-identity-fips.us-east-1.amazonaws.com",
    "sts_endpoint_url": "https://sts-fips.us-east-1.amazonaws.com",
    "auth_flow": "USER_PASSWORD_AUTH",
    "preferred_challenge": "EMAIL_OTP",
    "role_arn": "arn:aws:iam::123456789012:role/NotebookUsers",
    "allow_guest": True,
    "inject_boto3": "always",
    "subprocess_credentials": False,
    "credentials_max_age": 60.0,
    "export_env": True,
    "dask_clusters": "tcp://10.0.0.5:8786, tls://dask.example.org:8786",
    "remember": True,
    "remember_device": True,
    "amplify_config": "amplify_outputs.json",
    "network_timeout": 2.5,
    "oauth_domain": "https://myapp.auth.eu-west-1.amazoncognito.com",
    "oauth_scopes": "openid email",
    "redirect_uri": "http://localhost:8765/",
    "identity_provider": "CorpOkta",
    "hub_sign_in": False,
    "hub_client_id": "2hubclient3456789abcdefghij",
}

_TRAIT_CLASS = {
    kinds.TEXT: Unicode,
    kinds.PATH: Unicode,
    kinds.FLAG: Bool,
    kinds.FLAG_OR_ALWAYS: UnionTrait,
    kinds.FLAG_OR_AUTO: UnionTrait,
    kinds.SECONDS: Float,
}


def _as_env_text(value: object) -> str:
    return {True: "yes", False: "no"}.get(value, str(value)) if isinstance(value, bool) else str(value)


# ---------------------------------------------------------------------------
# The table itself


def test_every_setting_has_an_example_that_differs_from_its_default():
    assert list(EXAMPLES) == list(SETTING_NAMES)
    for setting in SETTINGS:
        assert EXAMPLES[setting.name] != setting.default, setting.name


def test_every_row_is_complete_and_its_kind_is_known():
    for setting in SETTINGS:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", setting.name), setting.name
        assert setting.kind in kinds.KINDS, setting.name
        assert setting.help.endswith("."), setting.name
        assert setting.env == SETTING_PREFIX + setting.name.upper() == env_var(setting.name)
        if setting.default is not None:
            assert setting.validate(setting.default, "default") == setting.default, setting.name
        assert setting.validate(EXAMPLES[setting.name], "test") is not None, setting.name


def test_only_the_secret_is_secret_and_the_pool_settings_sign_out():
    assert [s.name for s in SETTINGS if s.secret] == ["client_secret"]
    assert REQUIRED_SETTINGS == ("user_pool_id", "client_id")
    assert SIGN_IN_SETTINGS == (
        "user_pool_id",
        "client_id",
        "identity_pool_id",
        "endpoint_url",
        "cognito_idp_endpoint_url",
        "cognito_identity_endpoint_url",
        "sts_endpoint_url",
        "role_arn",
        "hub_client_id",
    )


# ---------------------------------------------------------------------------
# Generated: Settings, the traits, the environment, describe()


def test_the_settings_fields_are_the_table():
    fields = [f for f in dataclasses.fields(Settings) if f.name != "sources"]
    assert [f.name for f in fields] == list(SETTING_NAMES)
    for f in fields:
        setting = SETTINGS_BY_NAME[f.name]
        assert f.type == setting.annotation, f.name
        assert f.default == setting.default, f.name
    assert dict(DEFAULTS) == {s.name: s.default for s in SETTINGS if s.default is not None}


def test_the_traits_are_the_table():
    traits = CognitoConfig.class_traits(config=True)
    assert sorted(traits) == sorted(SETTING_NAMES)
    for setting in SETTINGS:
        trait = traits[setting.name]
        assert isinstance(trait, _TRAIT_CLASS[setting.kind]), setting.name
        assert trait.default_value == setting.default, setting.name
        assert trait.allow_none, setting.name
        assert setting.help in trait.help and setting.env in trait.help, setting.name


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_each_setting_is_read_from_configure_ipython_config_and_the_environment(setting, tmp_path):
    value = EXAMPLES[setting.name]
    if setting.name == AMPLIFY_FILE_SETTING:  # it must name a readable file
        value = str(tmp_path / "amplify_outputs.json")
        Path(value).write_text(json.dumps({"auth": {"aws_region": "us-east-1"}}), encoding="utf-8")
    expected = setting.validate(value, "test")

    config = CognitoConfig()
    config.update(**{setting.name: value})
    assert getattr(config.resolve({}), setting.name) == expected
    assert config.resolve({}).sources[setting.name] == "configure()"

    config = CognitoConfig(**{setting.name: value})
    assert getattr(config.resolve({}), setting.name) == expected

    settings = CognitoConfig().resolve({setting.env: _as_env_text(value)})
    assert getattr(settings, setting.name) == expected
    assert settings.sources[setting.name] == f"environment ({setting.env})"


def test_describe_and_repr_show_every_setting_in_table_order_and_hide_the_secret():
    settings = Settings(**{name: EXAMPLES[name] for name in SETTING_NAMES if name != AMPLIFY_FILE_SETTING})
    lines = settings.describe().splitlines()
    assert [line.split()[0] for line in lines] == list(SETTING_NAMES)
    for setting, line in zip(SETTINGS, lines, strict=True):
        assert ("<set>" in line) == (setting.secret and getattr(settings, setting.name) is not None)
    assert str(EXAMPLES["client_secret"]) not in settings.describe() + repr(settings)


def test_the_sign_in_key_changes_with_exactly_the_sign_in_settings():
    base = Settings()
    for setting in SETTINGS:
        if setting.name in ("region", AMPLIFY_FILE_SETTING):
            continue
        other = Settings(**{setting.name: EXAMPLES[setting.name]})
        assert (other.sign_in_key() != base.sign_in_key()) == setting.sign_in, setting.name


# ---------------------------------------------------------------------------
# Generated: Amplify files


def _put(document: dict, dotted: str, value: object) -> None:
    """``document["a"]["b"] = value`` for ``"a.b"``: a dotted key names nested objects."""
    *path, key = dotted.split(".")
    for part in path:
        document = document.setdefault(part, {})
    document[key] = value


def _amplify_files(tmp_path: Path) -> dict[str, tuple[Path, dict[str, str]]]:
    """One file per format holding every setting the table places in it: {format: (path, where)}."""
    gen2: dict = {}
    plugin: dict = {}
    exports: dict = {}
    where: dict[str, dict[str, str]] = {"gen2": {}, "gen1": {}, "aws-exports": {}}
    for setting in SETTINGS:
        value = EXAMPLES[setting.name]
        if setting.amplify_gen2:
            _put(gen2, setting.amplify_gen2, value)
            where["gen2"][setting.name] = f"auth.{setting.amplify_gen2}"
        if setting.amplify_gen1:
            *path, key = setting.amplify_gen1.split(".")
            section = plugin
            for part in path:
                section = section.setdefault(part, {})
            section[key] = value
            where["gen1"][setting.name] = ".".join((*GEN1_PLUGIN, setting.amplify_gen1))
        if setting.aws_exports:
            _put(exports, setting.aws_exports, value)
            where["aws-exports"][setting.name] = setting.aws_exports
    documents = {
        "gen2": {"version": "1.3", "auth": gen2},
        "gen1": {"auth": {"plugins": {GEN1_PLUGIN[-1]: plugin}}},
        "aws-exports": exports,
    }
    files = {}
    for kind, document in documents.items():
        path = tmp_path / f"{kind}.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        files[kind] = (path, where[kind])
    return files


@pytest.mark.parametrize("kind", ["gen2", "gen1", "aws-exports"])
def test_every_amplify_key_in_the_table_is_read_from_its_file(tmp_path, kind):
    path, where = _amplify_files(tmp_path)[kind]
    assert where, kind
    settings = CognitoConfig(amplify_config=str(path)).resolve({})
    for name, key in where.items():
        assert getattr(settings, name) == EXAMPLES[name], (kind, name)
        assert settings.sources[name] == f"Amplify file {path} ({key})", (kind, name)


def test_amplify_fallbacks_are_read_only_without_a_region_or_a_user_pool(tmp_path):
    plugin = {"CredentialsProvider": {"CognitoIdentity": {"Default": {"Region": "eu-west-1"}}}}
    gen1 = tmp_path / "amplifyconfiguration.json"
    gen1.write_text(json.dumps({"auth": {"plugins": {GEN1_PLUGIN[-1]: plugin}}}), encoding="utf-8")
    assert CognitoConfig(amplify_config=str(gen1)).resolve({}).region == "eu-west-1"
    exports = tmp_path / "aws-exports.json"
    exports.write_text(json.dumps({"aws_project_region": "eu-west-1"}), encoding="utf-8")
    assert CognitoConfig(amplify_config=str(exports)).resolve({}).region == "eu-west-1"
    exports.write_text(
        json.dumps({"aws_project_region": "eu-west-1", "aws_user_pools_id": "us-east-2_AbC"}),
        encoding="utf-8",
    )
    assert CognitoConfig(amplify_config=str(exports)).resolve({}).region == "us-east-2"


# ---------------------------------------------------------------------------
# Generated: the magic's options, the emulator's env printer, the README


def test_the_magic_takes_the_table_s_magic_settings_as_options():
    from nb_cognito.notebook.magics import CognitoMagics

    parser = CognitoMagics.cognito_login.parser
    options = {option: action for action in parser._actions for option in action.option_strings}
    for setting in MAGIC_SETTINGS:
        action = options[setting.magic_flag]
        assert action.dest == setting.name
        assert action.help == setting.magic.help
        assert action.nargs == (0 if setting.magic.metavar is None else None), setting.name
    own = {"--widget", "--local", "--hosted-ui", "--hub", "--idp", "-h", "--help"}
    assert set(options) - own == {setting.magic_flag for setting in MAGIC_SETTINGS}


def test_the_emulator_prints_settings_under_their_table_names():
    from nb_cognito.local import LocalSettings

    names = [f.name for f in dataclasses.fields(LocalSettings)]
    assert set(names) <= set(SETTING_NAMES)
    local = LocalSettings(**{name: EXAMPLES[name] for name in names})
    assert local.as_env() == {env_var(name): EXAMPLES[name] for name in names}


def test_the_readme_table_is_generated_from_the_table():
    readme = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    assert table_in(readme) == render_table(), (
        "The configuration table in docs/settings.md is out of date: run "
        "python -m nb_cognito.settings --write-readme docs/settings.md"
    )
    assert replace_table(readme) == readme


def test_the_readme_script_prints_and_rewrites_the_table(tmp_path):
    run = [sys.executable, "-m", "nb_cognito.settings"]
    printed = subprocess.run([*run, "--readme"], check=True, capture_output=True, text=True, cwd=ROOT)
    assert printed.stdout == render_table() + "\n"
    stale = tmp_path / "settings.md"
    readme = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    stale.write_text(readme.replace("| remember |", "| forgotten |"), encoding="utf-8")
    subprocess.run([*run, "--write-readme", str(stale)], check=True, cwd=ROOT)
    assert stale.read_text(encoding="utf-8") == readme


# ---------------------------------------------------------------------------
# The environment: one module names every variable read


_LITERAL_READ = re.compile(
    r"""os\.(?:environ(?:\.get|\.pop|\.setdefault)?\s*\(\s*|environ\s*\[\s*|getenv\s*\(\s*)f?["']"""
    r"""|["'][A-Z][A-Z0-9_]*["']\s+(?:not\s+)?in\s+os\.environ"""
)


def test_no_module_reads_the_environment_under_a_name_spelled_out_in_place():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if _LITERAL_READ.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "Name the variable in nb_cognito/environment.py:\n" + "\n".join(offenders)


def test_every_nb_cognito_variable_the_package_names_is_a_setting_or_listed():
    known = {env_var(name) for name in SETTING_NAMES} | {
        value for name, value in vars(EnvironmentVariables).items() if name.isupper()
    }
    named = set()
    for path in PACKAGE.rglob("*.py"):
        named |= set(re.findall(r"\bNB_COGNITO_[A-Z_]*[A-Z]\b", path.read_text(encoding="utf-8")))
    assert named - known == set()
    assert all(value == name for name, value in vars(EnvironmentVariables).items() if name.isupper())
