"""How a newcomer gets the demo: ``make demo`` (a lean extra, installed again only when
pyproject.toml changes, the server extension enabled) and a wheel built from the checkout
(``python -m build``, then ``pip install "<wheel>[demo]"``; docs/install.md, not on PyPI yet).

The ``wheel`` tests build the release (sdist and wheel) and check it with twine; resolve the demo
extra with the pip that a fresh venv ships on Python 3.10 to 3.13 (no backtracking); make the
demo venv for real; install the wheel with only its ``demo`` extra into a fresh venv and run
``nb-cognito demo`` and ``--open`` there, in a folder far from the checkout, so nothing of the
source tree can help it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import json_get, missing

ROOT = Path(__file__).resolve().parents[1]


SERVER_EXTENSION = "nb_cognito.notebook.server_extension"
SERVER_EXTENSION_CONFIG = ROOT / "jupyter-config" / "jupyter_server_config.d" / "nb_cognito.json"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def pyproject() -> dict:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # the test extra installs tomli on 3.10
        import tomli as tomllib
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def clean_env() -> dict[str, str]:
    """Not the checkout's environment: no PYTHONPATH, no AWS or nb_cognito settings."""
    return {
        name: value
        for name, value in os.environ.items()
        if name != "PYTHONPATH" and not name.startswith(("AWS_", "NB_COGNITO_"))
    }


def enabled_server_extensions(jupyter: Path, env: dict[str, str], config_dir: Path) -> dict[str, str]:
    """``jupyter server extension list`` of the environment ``jupyter`` belongs to, read only
    from its own prefix (an empty JUPYTER_CONFIG_DIR: nothing of the user's config counts):
    each extension under ``<prefix>/etc/jupyter`` and whether it is enabled and loads."""
    config_dir.mkdir(exist_ok=True)
    result = subprocess.run(
        [str(jupyter), "server", "extension", "list"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "JUPYTER_CONFIG_DIR": str(config_dir), "NO_COLOR": "1"},
    )
    assert result.returncode == 0, result.stderr
    text = ANSI.sub("", result.stdout + result.stderr)
    prefix = str(jupyter.parent.parent / "etc" / "jupyter")
    found: dict[str, str] = {}
    section = None
    for line in text.splitlines():
        if line.startswith("Config dir:"):
            section = line.split(":", 1)[1].strip()
        elif section == prefix and (match := re.match(r"\s+(\S+) (enabled|disabled)$", line)):
            found[match.group(1)] = match.group(2)
        elif section == prefix and (match := re.match(r"\s+(\S+)\s.*\b(OK|X)\b", line)):
            found[match.group(1)] += " " + match.group(2)
    return found


# -- make demo ----------------------------------------------------------------------------------


def make_dry_run(target: str, venv: Path) -> list[str]:
    """The commands ``make TARGET`` would run with ``venv`` as its .venv."""
    result = subprocess.run(
        ["make", "--dry-run", "--no-print-directory", f"VENV={venv}", target],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


@pytest.fixture
def venv(tmp_path) -> Path:
    """A directory that looks like an existing .venv to make (its python is older than nothing)."""
    if shutil.which("make") is None:
        missing("make is not installed")
    (tmp_path / "venv" / "bin").mkdir(parents=True)
    python = tmp_path / "venv" / "bin" / "python"
    python.write_text("")
    return tmp_path / "venv"


def touch_after_pyproject(path: Path) -> None:
    path.touch()
    later = max((ROOT / "pyproject.toml").stat().st_mtime, SERVER_EXTENSION_CONFIG.stat().st_mtime) + 10
    os.utime(path, (later, later))


def test_make_demo_installs_only_the_demo_extra_and_only_when_pyproject_changed(venv):
    first = make_dry_run("demo", venv)
    installs = [line for line in first if "pip" in line and " install " in line]
    assert len(installs) == 1 and installs[0].endswith('install --no-compile -e ".[demo]"'), first
    assert first[-1] == f"{venv}/bin/nb-cognito demo"

    touch_after_pyproject(venv / ".installed-demo")  # installed after the last pyproject change
    assert make_dry_run("demo", venv) == [f"{venv}/bin/nb-cognito demo"]

    os.utime(venv / ".installed-demo", (0, 0))  # pyproject.toml changed since: install again
    assert any('install --no-compile -e ".[demo]"' in line for line in make_dry_run("demo", venv))


def test_make_test_installs_the_test_extra_which_also_serves_the_demo(venv):
    commands = make_dry_run("install", venv)
    # Bytecode compiled at install: CI sets PYTHONDONTWRITEBYTECODE, so nothing would be cached later.
    assert any(line.endswith('install -e ".[test]"') for line in commands), commands
    assert any(line.startswith("touch") and ".installed-demo" in line for line in commands)


def test_make_test_fast_leaves_out_the_slow_markers_and_make_test_runs_all(venv):
    touch_after_pyproject(venv / ".installed-test")
    (fast,) = [line for line in make_dry_run("test-fast", venv) if " -m pytest" in line]
    assert fast.endswith('-m pytest -m "not wheel and not browser and not hub"'), fast
    markers = {m.split(":")[0] for m in pyproject()["tool"]["pytest"]["ini_options"]["markers"]}
    assert {"wheel", "browser", "hub"} <= markers
    (full,) = [line for line in make_dry_run("test", venv) if " -m pytest" in line]
    assert full.endswith("-m pytest"), full


def test_ci_fails_on_a_missing_tool_instead_of_skipping():
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^export CI=1\b", script, re.M) and "make test" in script


@pytest.mark.parametrize("target", ["install-demo", "install"])
def test_make_enables_the_server_extension_the_editable_install_leaves_out(venv, target):
    """``pip install -e`` installs no data files, so the file that enables the server extension
    (the SSO popup's callback page) is copied into the venv by the Makefile itself."""
    commands = make_dry_run(target, venv)
    enable = f"{venv}/etc/jupyter/jupyter_server_config.d/nb_cognito.json"
    (copy,) = [line for line in commands if enable in line]
    assert f"cp {SERVER_EXTENSION_CONFIG.relative_to(ROOT)} {enable}" in copy
    assert commands.index(copy) > next(i for i, line in enumerate(commands) if " install " in line)


def test_the_server_extension_is_enabled_in_the_venv_that_runs_the_tests(tmp_path):
    """The venv ``make test`` creates (an editable install) serves the SSO callback page."""
    jupyter = Path(sys.executable).parent / "jupyter"
    assert jupyter.exists(), "jupyter_server is in the test extra"
    found = enabled_server_extensions(jupyter, clean_env(), tmp_path / "no-user-config")
    assert found.get(SERVER_EXTENSION) == "enabled OK", (
        f"{SERVER_EXTENSION} is not enabled in {sys.prefix} ({found}); `make install` copies "
        f"{SERVER_EXTENSION_CONFIG.relative_to(ROOT)} there"
    )


def test_the_server_extension_list_is_read_from_the_prefix_only(tmp_path):
    """The reader above is not fooled by the user's own config: enabled there does not count."""
    config_dir = tmp_path / "user-config"
    (config_dir / "jupyter_server_config.d").mkdir(parents=True)
    (config_dir / "jupyter_server_config.d" / "x.json").write_text(
        '{"ServerApp": {"jpserver_extensions": {"nb_cognito_not_there": true}}}'
    )
    jupyter = Path(sys.executable).parent / "jupyter"
    assert "nb_cognito_not_there" not in enabled_server_extensions(jupyter, clean_env(), config_dir)


def test_the_demo_extra_is_lean_and_has_what_the_demo_and_open_need():
    extras = pyproject()["project"]["optional-dependencies"]

    def names_of(extra: str) -> set[str]:
        return {re.split(r"[<>=!\[ ;]", requirement, maxsplit=1)[0].lower() for requirement in extras[extra]}

    names = names_of("demo")
    # s3fs: the quickstart reads S3 the way people do, pd.read_csv("s3://bucket/key")
    assert {"nbclient", "nbformat", "ipykernel", "pandas", "s3fs", "nb-cognito"} <= names
    assert not names & {"pytest", "playwright", "mypy", "ruff", "hypothesis", "papermill", "jupyterlab"}
    assert names_of("lab") == {"nb-cognito", "jupyterlab"}  # --open: the demo extra and JupyterLab
    assert "nb-cognito[demo]" in extras["lab"]
    from nb_cognito.examples import demo

    assert {pip for _, pip in demo._HEADLESS_NEEDS} - {"moto"} <= names  # moto: the local extra
    assert {pip for _, pip in demo._LAB_NEEDS} - {"moto"} <= names | {"jupyterlab"}
    assert any(requirement.startswith("moto") for requirement in extras["local"])


def test_the_test_extra_resolves_with_the_pip_a_fresh_venv_ships():
    """pip 23.x (what ``python3 -m venv`` ships here) gave up on the test extra with
    "No matching distribution found for fsspec==2025.3.1.*": s3fs 2025.3.1 pins an fsspec
    release that was yanked, and that old resolver stops at such a pin instead of trying
    another s3fs. The test extra keeps s3fs above it. Checked by hand with pip 23.2.1:
    ``pip install --dry-run ".[test]"`` then resolves (after 15 minutes of backtracking through
    boto3 releases on a busy machine, which is why the Makefile upgrades pip first)."""
    from packaging.requirements import Requirement

    s3fs = [Requirement(r) for r in pyproject()["project"]["optional-dependencies"]["test"]]
    (spec,) = [r.specifier for r in s3fs if r.name == "s3fs"]
    assert "2025.3.1" not in spec and "2025.3.2" in spec and "2026.9.0" in spec


# -- the demo from a wheel ------------------------------------------------------------------------


def run(command: list[str], **options) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, capture_output=True, text=True, **options)
    assert result.returncode == 0, f"{command}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """The release build of docs/install.md: ``python -m build`` (an sdist, then the wheel
    built from that sdist, so a file the sdist leaves out breaks the wheel too)."""
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], env=clean_env(), timeout=400)
    return out


def the_wheel(dist: Path) -> Path:
    (wheel,) = dist.glob("nb_cognito-*-py3-none-any.whl")
    return wheel


@pytest.mark.wheel
@pytest.mark.timeout(600)
def test_release_build_and_check(dist):
    """docs/install.md's release steps 1 and 2, as written there."""
    doc = (ROOT / "docs" / "install.md").read_text(encoding="utf-8")
    assert "python -m build " in doc and "python -m twine check --strict dist/*" in doc
    version = pyproject()["project"]["version"]
    import nb_cognito

    assert nb_cognito.__version__ == version, "set the version in pyproject.toml and nb_cognito/__init__.py"
    files = sorted(dist.iterdir())
    assert [f.name for f in files] == [
        f"nb_cognito-{version}-py3-none-any.whl",
        f"nb_cognito-{version}.tar.gz",
    ]
    result = run([sys.executable, "-m", "twine", "check", "--strict", *map(str, files)], timeout=120)
    assert result.stdout.count("PASSED") == 2, result.stdout

    import zipfile

    names = set(zipfile.ZipFile(files[0]).namelist())
    data = f"nb_cognito-{version}.data/data/etc/jupyter/jupyter_server_config.d/nb_cognito.json"
    assert data in names, "the wheel enables the server extension"
    assert {f"nb_cognito/examples/{n}.ipynb" for n in ("quickstart", "session_api", "widget")} <= names
    assert "nb_cognito/py.typed" in names and not any(n.startswith("tests/") for n in names)


def fresh_interpreters() -> list[tuple[str, Path | None]]:
    """Python 3.10 to 3.13 as installed here (pyenv), each with the pip its venv ships."""
    found = []
    for minor in (10, 11, 12, 13):
        if minor == sys.version_info.minor:
            path: Path | None = Path(getattr(sys, "_base_executable", sys.executable))
        else:
            candidates = sorted(Path.home().glob(f".pyenv/versions/3.{minor}.*/bin/python3.{minor}"))
            which = shutil.which(f"python3.{minor}")
            path = candidates[-1] if candidates else Path(which) if which else None
        found.append((f"3.{minor}", path))
    return found


@pytest.mark.wheel
@pytest.mark.timeout(900)
@pytest.mark.parametrize(("version", "python"), fresh_interpreters(), ids=lambda v: str(v))
def test_the_pip_a_fresh_venv_ships_resolves_the_demo_extra_at_once(dist, tmp_path, version, python):
    """Stock pip (23.x on 3.10 and 3.11) backtracked through ~85 boto3/botocore/aiobotocore
    releases for ``"<wheel>[demo]"`` (4-12 min): the demo extra bounds the three together, so
    the first candidates fit. No time is asserted: pip's own account of its work is."""
    if python is None or not python.exists():
        missing(f"Python {version} (pyenv install {version})")
    venv = tmp_path / "venv"
    run([str(python), "-m", "venv", str(venv)], timeout=120)  # with the pip it ships
    pip = run([str(venv / "bin" / "python"), "-m", "pip", "--version"]).stdout
    result = run(
        [
            *(str(venv / "bin" / "python"), "-m", "pip", "install", "--dry-run", "--ignore-installed"),
            *("--report", str(tmp_path / "report.json"), f"{the_wheel(dist)}[demo]"),
        ],
        env=clean_env(),
        timeout=800,
    )
    out = result.stdout + result.stderr
    assert "looking at multiple versions" not in out, f"{pip}: pip backtracked\n{out[-3000:]}"
    for name in ("boto3", "botocore", "aiobotocore"):
        tried = set(re.findall(rf"\b{name}-(\d[\w.]*?)(?:-py3|\.tar\.gz|\.zip)", out))
        assert len(tried) <= 2, f"{pip}: {name} candidates {sorted(tried)}"
    import json

    chosen = {
        item["metadata"]["name"].lower(): item["metadata"]["version"]
        for item in json.loads((tmp_path / "report.json").read_text())["install"]
    }
    from packaging.requirements import Requirement

    demo = [Requirement(r) for r in pyproject()["project"]["optional-dependencies"]["demo"]]
    for requirement in demo:
        if requirement.name in ("boto3", "botocore", "aiobotocore"):
            assert chosen[requirement.name] in requirement.specifier
    heavy = {"cfn-lint", "sympy", "networkx", "docker", "aws-xray-sdk"} & set(chosen)
    assert not heavy, f"moto extras the emulator does not need: {heavy}"


@pytest.mark.wheel
@pytest.mark.timeout(900)
def test_make_install_demo_makes_a_lean_venv_with_the_server_extension(tmp_path):
    """What ``make demo`` installs, for real: the editable install, the server extension enabled
    (pip -e leaves that file out), none of moto's unneeded extras, and no bytecode compiled up front."""
    if shutil.which("make") is None:
        missing("make is not installed")
    venv = tmp_path / "venv"
    run(
        ["make", "--no-print-directory", f"VENV={venv}", "install-demo"],
        cwd=ROOT,
        env=clean_env(),
        timeout=800,
    )
    # No JupyterLab in the lean demo venv: the file that enables the extension is in place for
    # when `make lab` adds it (the wheel's test checks `jupyter server extension list` itself).
    enabling = venv / "etc" / "jupyter" / "jupyter_server_config.d" / "nb_cognito.json"
    assert enabling.read_text() == SERVER_EXTENSION_CONFIG.read_text()
    listed = run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format=freeze"]).stdout.lower()
    for heavy in ("cfn-lint", "sympy", "networkx", "docker", "aws-xray-sdk"):
        assert f"\n{heavy}==" not in f"\n{listed}", f"{heavy} is installed"
    size = sum(f.stat().st_size for f in venv.rglob("*") if f.is_file() and not f.is_symlink())
    assert "\njupyterlab==" not in f"\n{listed}", "JupyterLab belongs to the lab extra"
    assert size < 350e6, (
        f"the demo venv is {size / 1e6:.0f} MB (704 MB with moto[server], 401 MB with JupyterLab)"
    )


@pytest.mark.wheel
@pytest.mark.timeout(600)
def test_the_demo_runs_from_a_wheel_in_a_fresh_venv(dist, tmp_path):
    started = time.monotonic()
    home = tmp_path / "home"
    home.mkdir()
    env = clean_env()
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    wheel = the_wheel(dist)
    run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "venv")], timeout=60)
    python = tmp_path / "venv" / "bin" / "python"
    # The lab extra: the demo's, and JupyterLab for --open below.
    run([*pip, "--python", str(python), "install", "--quiet", f"{wheel}[lab]"], env=env, timeout=400)
    installed = time.monotonic() - started
    jupyter = tmp_path / "venv" / "bin" / "jupyter"
    assert enabled_server_extensions(jupyter, env, tmp_path / "no-user-config").get(SERVER_EXTENSION) == (
        "enabled OK"
    )

    cli = str(tmp_path / "venv" / "bin" / "nb-cognito")
    assert run([cli, "--version"], cwd=home, env=env).stdout.startswith("nb-cognito ")
    result = run([cli, "demo"], cwd=home, env=env, timeout=240)
    assert "every cell ran" in result.stdout
    assert "Signed in as demo (identity us-east-1:" in result.stdout
    assert f"{tmp_path / 'venv'}" in result.stdout  # the notebook that ran is the installed one
    assert "Traceback" not in result.stdout + result.stderr

    lab = subprocess.Popen(
        [cli, "demo", "--open"],
        cwd=home,
        env={**env, "BROWSER": "true", "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines, url = [], None
        deadline = time.monotonic() + 120
        while url is None and time.monotonic() < deadline and lab.poll() is None:
            line = lab.stdout.readline()
            lines.append(line)
            url = re.search(r"(http://127\.0\.0\.1:\d+)/lab\?token=(\w+)", line)
        assert url, "".join(lines)
        names = json_get(f"{url.group(1)}/api/contents?token={url.group(2)}")
        assert {"quickstart.ipynb", "session_api.ipynb", "widget.ipynb"} <= {
            item["name"] for item in names["content"]
        }
    finally:
        lab.send_signal(signal.SIGTERM)
        rest, _ = lab.communicate(timeout=60)
    assert lab.returncode == 0, rest
    print(f"wheel installed in {installed:.0f} s; all done in {time.monotonic() - started:.0f} s")
