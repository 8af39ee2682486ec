"""The ``nb-cognito`` command.

``nb-cognito local [--port N] [--json]`` runs the offline Cognito (``demo_spec()``) in the
foreground and prints the complete environment a shell needs to use it: the ``NB_COGNITO_*``
settings, ``AWS_ENDPOINT_URL`` (which sends every AWS SDK call, S3 included, to the emulator)
and ``AWS_DEFAULT_REGION``, as ``export`` lines, or as one JSON document with ``--json``; the
demo user and the bucket are named too. A ``--port`` that is taken is an error, never silently
another port. Ctrl-C or SIGTERM stops it (exit status 0).

Each subcommand registers itself through a function in ``SUBCOMMANDS``, so that more can be
added without touching the others.
"""

from __future__ import annotations

import argparse
import errno
import json
import shlex
import signal
import socket
import sys
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from nb_cognito.environment import SETTING_PREFIX
from nb_cognito.environment import EnvironmentVariables as Env

if TYPE_CHECKING:  # pragma: no cover
    from nb_cognito.local import LocalCognito

__all__ = ["SUBCOMMANDS", "add_local_command", "build_parser", "local_environment", "main"]

_HOST = "127.0.0.1"


def add_local_command(subparsers: Any) -> None:
    """Register ``nb-cognito local``."""
    parser = subparsers.add_parser(
        "local",
        help="run an offline Cognito (user pool, identity pool, S3) on 127.0.0.1",
        description="Run the offline Cognito emulator with the demo pool in the foreground and "
        "print the environment nb_cognito and boto3 need to use it. Stop it with Ctrl-C.",
    )
    parser.add_argument(
        "--port", type=port_number, default=0, metavar="N", help="port to listen on (default: a free one)"
    )
    parser.add_argument("--json", action="store_true", help="print the settings as one JSON line")
    parser.set_defaults(handler=run_local)


def add_demo_command(subparsers: Any) -> None:
    """Register ``nb-cognito demo`` (implemented in :mod:`nb_cognito.examples.demo`)."""
    parser = subparsers.add_parser(
        "demo",
        help="run the quickstart notebook against an offline Cognito (no AWS account needed)",
        description="Start the offline Cognito with the demo pool, run the quickstart notebook "
        "(shipped with the package) in a Jupyter kernel and print what each cell does.",
    )
    parser.add_argument(
        "--open", action="store_true", help="open the notebooks in JupyterLab instead (needs a browser)"
    )
    parser.set_defaults(handler=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    from nb_cognito.examples.demo import main as demo_main

    return demo_main(args)


#: Functions that each add one subcommand to the parser's subparsers.
SUBCOMMANDS: list[Callable[[Any], None]] = [add_local_command, add_demo_command]


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("nb-cognito")
    except Exception:  # not installed (a bare checkout on sys.path)
        from nb_cognito import __version__

        return __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nb-cognito", description="Tools for nb_cognito, the Jupyter sign-in to Cognito."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add_command in SUBCOMMANDS:
        add_command(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``nb-cognito``; returns the exit status."""
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


def port_number(text: str) -> int:
    """``--port``'s type: argparse shows the message as ``argument --port: <message>``."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 0 to 65535, not {text!r}")
    return value


port_number.__name__ = "port number"  # argparse's fallback wording names the type


class PortTakenError(Exception):
    """The port asked for with ``--port`` is in use."""


def _check_port_free(port: int) -> None:
    """Raise :class:`PortTakenError` if ``port`` on 127.0.0.1 cannot be bound right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((_HOST, port))
        except OSError as error:
            if error.errno in (errno.EADDRINUSE, errno.EACCES):
                raise PortTakenError(_port_taken_message(port, error)) from None
            raise


def _port_taken_message(port: int, error: OSError | None = None) -> str:
    why = "is not allowed here" if error is not None and error.errno == errno.EACCES else "is already in use"
    return (
        f"port {port} on {_HOST} {why} (another program, or another `nb-cognito local`, listens "
        "there). Stop that program, pick another port with --port N, or leave --port out to "
        "take a free one."
    )


def run_local(args: argparse.Namespace) -> int:
    """Run the emulator until Ctrl-C or SIGTERM."""
    from nb_cognito.local import LocalCognito, demo_spec

    try:
        if args.port:
            _check_port_free(args.port)
    except PortTakenError as error:
        print(f"nb-cognito local: {error}", file=sys.stderr)
        return 1
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in _STOP_SIGNALS}
    try:
        with LocalCognito(demo_spec(), port=args.port) as local:
            if args.port and not local.endpoint_url.endswith(f":{args.port}"):
                # Taken between the check and the start: the emulator fell back to another port.
                print(f"nb-cognito local: {_port_taken_message(args.port)}", file=sys.stderr)
                return 1
            print(_render_json(local) if args.json else _render_exports(local))
            sys.stdout.flush()
            while not stop.wait(0.5):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("nb-cognito local: stopped.", file=sys.stderr)
    return 0


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def local_environment(local: LocalCognito) -> dict[str, str]:
    """Every variable a shell needs to use ``local``: ``NB_COGNITO_*``, ``AWS_ENDPOINT_URL`` and
    ``AWS_DEFAULT_REGION`` (so that ``boto3.client("s3")`` reaches the emulator's S3 too)."""
    return {
        **local.settings.as_env(),
        Env.AWS_ENDPOINT_URL: local.endpoint_url,
        Env.AWS_DEFAULT_REGION: local.settings.region,
    }


def _demo_user(local: LocalCognito) -> dict[str, str]:
    user = local.spec.users[0]
    return {"username": user.username, "password": user.password}


def _buckets(local: LocalCognito) -> dict[str, list[str]]:
    return {bucket: sorted(objects) for bucket, objects in local.spec.buckets.items()}


def _render_json(local: LocalCognito) -> str:
    document = {
        "config": local.settings.as_config(),
        "env": local_environment(local),
        "endpoint_url": local.endpoint_url,
        "demo_user": _demo_user(local),
        "buckets": _buckets(local),
    }
    return json.dumps(document, sort_keys=True)


def _render_exports(local: LocalCognito) -> str:
    user = _demo_user(local)
    env = local_environment(local)
    buckets = ", ".join(
        f"s3://{bucket}/ ({', '.join(keys)})" if keys else f"s3://{bucket}/"
        for bucket, keys in _buckets(local).items()
    )
    lines = [
        f"# nb_cognito's offline Cognito is running at {local.endpoint_url}; Ctrl-C stops it.",
        "# Paste these lines into the shell that starts Jupyter or IPython, then run",
        f"# `%load_ext nb_cognito` and `%cognito_login {user['username']}`.",
        f"# Demo user: {user['username']}  password: {user['password']}  (it exists only here)",
    ]
    if buckets:
        lines.append(f"# Bucket: {buckets}")
    lines.append("# Where nb_cognito signs in (the emulator's user pool and identity pool):")
    lines += [
        f"export {name}={shlex.quote(value)}"
        for name, value in env.items()
        if name.startswith(SETTING_PREFIX)
    ]
    lines.append("# AWS_ENDPOINT_URL sends every boto3 and AWS CLI call (S3 included) to the emulator,")
    lines.append("# not to AWS; unset it to reach real AWS again:")
    lines += [
        f"export {name}={shlex.quote(value)}"
        for name, value in env.items()
        if not name.startswith(SETTING_PREFIX)
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
