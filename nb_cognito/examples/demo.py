"""``nb-cognito demo``: the first five minutes, offline, with no AWS account.

Starts the offline Cognito (:func:`nb_cognito.local.demo_spec`: user pool, demo user,
identity pool, an S3 bucket holding ``iris.csv``) in this process, then runs
the quickstart notebook (``nb_cognito/examples/quickstart.ipynb``, shipped with the package)
headless in a real Jupyter kernel (this interpreter, through a kernelspec in a temporary
directory) and prints each cell's first line and text output.
The kernel reaches the emulator through the environment a user would set: ``NB_COGNITO_*``
(with ``NB_COGNITO_USERNAME`` / ``NB_COGNITO_PASSWORD`` for the demo user) and
``AWS_ENDPOINT_URL``. Exit status 0 when every cell ran; 1, naming the cell, when one failed.

``nb-cognito demo --open`` instead opens a copy of the notebooks in JupyterLab, with the
emulator running in this process and the same environment; Ctrl-C stops both.

The machine's own AWS setup is left out: ``AWS_*`` and ``NB_COGNITO_*`` variables are not
passed on, the AWS config files point at files that do not exist, and IPython runs with an
empty profile (so no ``c.CognitoConfig`` from ``ipython_config.py`` applies). The shipped
notebooks are never written to (``--open`` works on copies).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from nb_cognito.environment import SETTING_PREFIX
from nb_cognito.environment import EnvironmentVariables as Env

__all__ = [
    "DEMO_NOTEBOOK",
    "EXAMPLES_DIR",
    "DemoError",
    "demo_env",
    "main",
    "notebooks_dir",
    "run_demo",
    "run_notebook",
]

DEMO_NOTEBOOK = "quickstart.ipynb"
#: The example notebooks: package data, so they are there in a wheel as in a checkout.
EXAMPLES_DIR = Path(__file__).resolve().parent  # the notebooks sit beside this module

#: What each mode needs beyond nb_cognito itself: (import name, pip name).
_HEADLESS_NEEDS = (
    ("moto", "moto"),
    ("nbclient", "nbclient"),
    ("nbformat", "nbformat"),
    ("ipykernel", "ipykernel"),
    ("pandas", "pandas"),
    ("s3fs", "s3fs"),  # the quickstart reads pd.read_csv("s3://...")
)
_LAB_NEEDS = (("moto", "moto"), ("jupyterlab", "jupyterlab"), ("pandas", "pandas"), ("s3fs", "s3fs"))
# nb_cognito is not on PyPI yet: a checkout or a wheel built from one (docs/install.md).
_LAB_HINT = (
    "JupyterLab is kept out of the lean demo install: in a checkout `make lab` (or "
    'pip install ".[lab]"); from a wheel pip install "<the wheel>[lab]" (docs/install.md)'
)
_INSTALL_HINT = (
    'in a checkout `make demo` (or pip install ".[demo]"); from a wheel pip install "<the wheel>[demo]" '
    "(docs/install.md)"
)

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_MAX_OUTPUT_LINES = 14
_CELL_TIMEOUT = 120


class DemoError(Exception):
    """Something the person running the demo can fix; the message says what."""


def _say(text: str = "") -> None:
    print(text, flush=True)


# -- finding things --------------------------------------------------------------------------


def notebooks_dir(folder: Path | None = None) -> Path:
    """The folder of the example notebooks (default: the package's ``examples``)."""
    folder = EXAMPLES_DIR if folder is None else folder
    if not (folder / DEMO_NOTEBOOK).is_file():
        raise DemoError(
            f"The demo notebook {folder / DEMO_NOTEBOOK} does not exist, although it ships with "
            "the package: this installation is incomplete. Reinstall it: "
            f"{_INSTALL_HINT}."
        )
    return folder


def _require(needs: tuple[tuple[str, str], ...], mode: str, hint: str = "") -> None:
    missing = [pip for module, pip in needs if importlib.util.find_spec(module) is None]
    if missing:
        raise DemoError(
            f"{mode} needs {', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} not "
            f"installed here. {hint or 'Install the demo extra: ' + _INSTALL_HINT}."
        )


def demo_env(local: Any, scratch: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of the demo's kernel: the emulator's settings, none of the machine's AWS setup."""
    from nb_cognito.local import DEMO_PASSWORD, DEMO_USERNAME

    base = os.environ if base is None else base
    env = {name: value for name, value in base.items() if not name.startswith(("AWS_", SETTING_PREFIX))}
    env.update(local.settings.as_env())
    env.update(
        {
            Env.NB_COGNITO_USERNAME: DEMO_USERNAME,
            Env.NB_COGNITO_PASSWORD: DEMO_PASSWORD,  # exists only in this emulator
            Env.AWS_ENDPOINT_URL: local.endpoint_url,  # boto3.client("s3") reaches the emulator too
            "AWS_CONFIG_FILE": str(scratch / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(scratch / "no-aws-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "IPYTHONDIR": str(scratch / "ipython"),
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",  # no debugger warning in the kernel's stderr
        }
    )
    return env


def _start_emulator() -> Any:
    from nb_cognito.local import LocalCognito, demo_spec

    return LocalCognito(demo_spec()).start()


# -- printing what a cell did -------------------------------------------------------------------


def _summary(source: str, limit: int = 5) -> str:
    """The lines of ``source`` worth showing: no comments, imports or ``%load_ext``."""
    boring = ("#", "import ", "from ", "%load_ext ")
    lines = [line.rstrip() for line in source.splitlines()]
    shown = [line for line in lines if line.strip() and not line.lstrip().startswith(boring)]
    if not shown:
        shown = [line for line in lines if line.strip()][:1]
    clipped = [line if len(line) <= 100 else line[:97] + "..." for line in shown[:limit]]
    if len(shown) > limit:
        clipped.append(f"... (+{len(shown) - limit} lines)")
    return "\n".join(clipped)


def _prompt(line: str) -> str:
    """``>>>`` for a statement, ``...`` for a line that continues one, as in the Python REPL."""
    continues = line[:1].isspace() or line.startswith(("else", "elif", "except", "finally", ")", "]", "}"))
    return "..." if continues else ">>>"


def _heading(source: str) -> str | None:
    for line in source.splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip()
    return None


def cell_text(cell: Any) -> str:
    """The text a person would see under ``cell``: streams, plain-text results, errors."""
    parts = []
    for output in cell.get("outputs", []):
        kind = output.get("output_type")
        if kind == "stream":
            parts.append(output.get("text", ""))
        elif kind in ("execute_result", "display_data"):
            text = output.get("data", {}).get("text/plain", "")
            parts.append(text + ("" if text.endswith("\n") else "\n"))
        elif kind == "error":
            parts.append(f"{output.get('ename')}: {output.get('evalue')}\n")
    return _ANSI.sub("", "".join(parts))


def _indented(text: str, prefix: str = "       ") -> str:
    lines = text.rstrip("\n").splitlines()
    if len(lines) > _MAX_OUTPUT_LINES:
        lines = [*lines[: _MAX_OUTPUT_LINES - 1], f"... ({len(lines) - _MAX_OUTPUT_LINES + 1} more lines)"]
    return "\n".join(prefix + line for line in lines)


# -- running the notebook ------------------------------------------------------------------------


def run_notebook(
    path: Path, env: Mapping[str, str], scratch: Path, echo: Callable[[str], None] = _say
) -> Any:
    """Execute ``path`` in a fresh kernel with ``env``, echoing each cell as it completes.

    Returns the executed notebook; raises ``nbclient.exceptions.CellExecutionError`` at the
    first failing cell (after echoing it). The file itself is not written.
    """
    import nbclient
    import nbformat

    from nb_cognito.notebook.kernelspec import kernel_manager

    nb = nbformat.read(str(path), as_version=4)
    count = iter(range(1, len(nb.cells) + 1))

    def on_cell_start(cell: Any, cell_index: int) -> None:
        if cell.cell_type == "markdown":  # nbclient calls this for every cell
            heading = _heading(cell.source)
            if heading and cell_index > 0:  # the notebook's own title is not a step
                echo(f"\n{heading}")
        elif cell.cell_type == "code" and cell.source.strip():
            number = f"[{next(count)}]"
            code = _summary(cell.source).splitlines()
            labels = [number, *[""] * (len(code) - 1)]
            pairs = zip(labels, code, strict=True)
            echo("\n".join(f"  {label:<4} {_prompt(line)} {line}" for label, line in pairs))

    def on_cell_executed(cell: Any, **_: Any) -> None:  # nbclient also passes cell_index, execute_reply
        text = cell_text(cell)
        if text.strip():
            echo(_indented(text))

    workdir = scratch / "work"
    workdir.mkdir(exist_ok=True)
    # A kernel running this interpreter, from a kernelspec in ``scratch`` (not the user's); IPC
    # sockets in the scratch directory: nothing listens on TCP, and ipykernel does not warn.
    km = kernel_manager(
        scratch, "nb-cognito-demo", "nb_cognito demo", transport="ipc", ip=str(scratch / "kernel")
    )
    client = nbclient.NotebookClient(
        nb,
        km=km,
        timeout=_CELL_TIMEOUT,
        startup_timeout=90,
        resources={"metadata": {"path": str(workdir)}},
        on_cell_start=on_cell_start,
        on_cell_executed=on_cell_executed,
    )
    try:
        client.execute(env=dict(env))
    finally:
        if km.has_kernel:  # nbclient leaves a kernel it was given running
            km.shutdown_kernel()
    return nb


def run_demo(folder: Path) -> int:
    """Start the emulator, run ``folder``'s quickstart headless and report; returns the exit status."""
    _require(_HEADLESS_NEEDS, "nb-cognito demo")
    from nbclient.exceptions import CellExecutionError, DeadKernelError

    from nb_cognito.local import DEMO_BUCKET, DEMO_PASSWORD, DEMO_USERNAME

    notebook = folder / DEMO_NOTEBOOK
    started = time.monotonic()
    _say("nb-cognito demo: no AWS account needed; everything runs on this machine.")
    _say("  Starting an offline Cognito (user pool, identity pool, S3)...")
    local = _start_emulator()
    try:
        _say(f"  It listens on {local.endpoint_url}, with bucket {DEMO_BUCKET!r} holding iris.csv and")
        _say(f"  demo user {DEMO_USERNAME!r}, password {DEMO_PASSWORD!r} (that user exists only there).")
        _say(f"  Running {_shown_path(notebook)} in a Jupyter kernel; each cell, then its output:")
        with tempfile.TemporaryDirectory(prefix="nb-cognito-demo-") as tmp:
            scratch = Path(tmp)
            try:
                run_notebook(notebook, demo_env(local, scratch), scratch)
            except CellExecutionError as error:
                _say(
                    f"\nnb-cognito demo FAILED: a cell of {notebook.name} raised "
                    f"{getattr(error, 'ename', 'an error')} (shown above)."
                )
                _say("  docs/troubleshooting.md covers the usual causes.")
                return 1
            except (DeadKernelError, RuntimeError, TimeoutError) as error:
                _say(
                    f"\nnb-cognito demo FAILED: the Jupyter kernel did not run the notebook "
                    f"({type(error).__name__}: {error})."
                )
                return 1
    finally:
        local.stop()
    _say(f"\nDone in {time.monotonic() - started:.0f} s: every cell ran. Next steps:")
    _say("  make lab                    the same notebooks in JupyterLab (nb-cognito demo --open)")
    _say("  nb-cognito local            the emulator in a terminal, with the environment to paste")
    _say("  docs/settings.md            use your own Cognito pool: every setting")
    return 0


def _shown_path(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# -- --open: JupyterLab ----------------------------------------------------------------------------


def _open_lab(folder: Path) -> int:
    _require(_LAB_NEEDS, "nb-cognito demo --open", _LAB_HINT)
    from nb_cognito.local import DEMO_PASSWORD, DEMO_USERNAME

    local = _start_emulator()
    scratch = Path(tempfile.mkdtemp(prefix="nb-cognito-demo-"))
    process: subprocess.Popen[bytes] | None = None
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        workdir = scratch / "notebooks"
        workdir.mkdir()
        for notebook in sorted(folder.glob("*.ipynb")):
            shutil.copy2(notebook, workdir / notebook.name)
        env = demo_env(local, scratch)
        _say(
            f"nb-cognito demo --open: offline Cognito at {local.endpoint_url} (demo user "
            f"{DEMO_USERNAME!r}, password {DEMO_PASSWORD!r}; it exists only there)."
        )
        _say(f"  JupyterLab opens copies of the notebooks in {workdir} (the shipped ones stay clean).")
        _say("  Stop with Ctrl-C (twice, as JupyterLab asks); the emulator stops with it.")
        command = [
            sys.executable,
            "-m",
            "jupyterlab",
            f"--ServerApp.root_dir={workdir}",
            str(workdir / DEMO_NOTEBOOK),
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")  # containers often run as root; JupyterLab refuses otherwise
        process = subprocess.Popen(command, env=env, cwd=workdir)  # noqa: S603 - our own interpreter
        code = _wait(process)
        if code:
            _say(f"nb-cognito demo --open: JupyterLab exited with status {code} (its messages are above).")
        return code
    finally:
        signal.signal(signal.SIGTERM, previous)
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        local.stop()
        shutil.rmtree(scratch, ignore_errors=True)
        _say("nb-cognito demo: JupyterLab and the offline Cognito stopped.")


def _exit_on_sigterm(*_: Any) -> None:
    raise SystemExit(0)


def _wait(process: subprocess.Popen[bytes]) -> int:
    """Wait for JupyterLab, which handles Ctrl-C itself (it asks before shutting down)."""
    interrupted = False
    while True:
        try:
            code = process.wait(10 if interrupted else None)
        except KeyboardInterrupt:
            interrupted = True
            continue
        except subprocess.TimeoutExpired:
            return 0  # Ctrl-C, and JupyterLab is still up: the caller stops it
        return 0 if interrupted else code


# -- entry point ------------------------------------------------------------------------------------


def main(args: argparse.Namespace | None = None) -> int:
    """Run the demo (``args.open``: in JupyterLab); returns the exit status."""
    want_lab = bool(getattr(args, "open", False))
    try:
        folder = notebooks_dir()
        return _open_lab(folder) if want_lab else run_demo(folder)
    except DemoError as error:
        print(f"nb-cognito demo: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nb-cognito demo: interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main(argparse.Namespace(open="--open" in sys.argv[1:])))
