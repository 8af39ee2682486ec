"""The ``nb-cognito`` command.

``nb-cognito local [--port N] [--json]`` runs the offline Cognito (``demo_spec()``) in the
foreground and prints its settings as ``export NB_COGNITO_...=...`` lines, or as one JSON line
with ``--json``; Ctrl-C or SIGTERM stops it (exit status 0).

Each subcommand registers itself through a function in ``SUBCOMMANDS``, so that more (such as
``demo``) can be added without touching the others.
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from nb_cognito.environment import EnvironmentVariables as Env

if TYPE_CHECKING:  # pragma: no cover
    from nb_cognito.local import LocalCognito, LocalSpec

__all__ = ["SUBCOMMANDS", "add_local_command", "build_parser", "main"]


def add_local_command(subparsers: Any) -> None:
    """Register ``nb-cognito local``."""
    parser = subparsers.add_parser(
        "local",
        help="run an offline Cognito (user pool, identity pool, S3) on 127.0.0.1",
        description="Run the offline Cognito emulator with the demo pool in the foreground and "
        "print the settings nb_cognito needs. Stop it with Ctrl-C.",
    )
    parser.add_argument("--port", type=_port, default=0, help="port to listen on (default: free)")
    parser.add_argument("--json", action="store_true", help="print the settings as one JSON line")
    parser.set_defaults(handler=run_local)


def add_demo_command(subparsers: Any) -> None:
    """Register ``nb-cognito demo`` (implemented in :mod:`nb_cognito.demo`)."""
    parser = subparsers.add_parser(
        "demo",
        help="run notebooks/quickstart.ipynb against an offline Cognito (no AWS account needed)",
        description="Start the offline Cognito with the demo pool, run notebooks/quickstart.ipynb "
        "in a Jupyter kernel and print what each cell does.",
    )
    parser.add_argument(
        "--open", action="store_true", help="open the notebooks in JupyterLab instead (needs a browser)"
    )
    parser.set_defaults(handler=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    from nb_cognito.demo import main as demo_main

    return demo_main(args)


#: Functions that each add one subcommand to the parser's subparsers.
SUBCOMMANDS: list[Callable[[Any], None]] = [add_local_command, add_demo_command]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nb-cognito", description="Tools for nb_cognito, the Jupyter sign-in to Cognito."
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add_command in SUBCOMMANDS:
        add_command(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``nb-cognito``; returns the exit status."""
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("a port is a number from 0 to 65535")
    return value


def run_local(args: argparse.Namespace) -> int:
    """Run the emulator until Ctrl-C or SIGTERM."""
    from nb_cognito.local import LocalCognito, demo_spec

    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in _STOP_SIGNALS}
    try:
        spec = demo_spec()
        with LocalCognito(spec, port=args.port) as local:
            if args.port and not local.endpoint_url.endswith(f":{args.port}"):
                print(f"nb-cognito local: port {args.port} is taken; using another.", file=sys.stderr)
            print(_render_json(local, spec) if args.json else _render_exports(local, spec))
            sys.stdout.flush()
            while not stop.wait(0.5):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("nb-cognito local: stopped.", file=sys.stderr)
    return 0


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _demo_user(spec: LocalSpec) -> dict[str, str]:
    user = spec.users[0]
    return {"username": user.username, "password": user.password}


def _render_json(local: LocalCognito, spec: LocalSpec) -> str:
    settings = local.settings
    document = {
        "config": settings.as_config(),
        "env": settings.as_env(),
        "demo_user": _demo_user(spec),
    }
    return json.dumps(document, sort_keys=True)


def _render_exports(local: LocalCognito, spec: LocalSpec) -> str:
    user = _demo_user(spec)
    lines = [
        "# nb_cognito's offline Cognito is running; press Ctrl-C to stop it.",
        f"# Demo user: {user['username']}  password: {user['password']}  (local only)",
        "# To send every boto3 call to the emulator too (S3 included):",
        f"#   export {Env.AWS_ENDPOINT_URL}={shlex.quote(local.endpoint_url)}",
    ]
    lines += [f"export {name}={shlex.quote(value)}" for name, value in local.settings.as_env().items()]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
