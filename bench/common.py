"""What the benchmarks share: results, timing by interleaved rounds, the emulator, machine facts."""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.metadata
import os
import platform
import statistics
import sys
import tempfile
import time
import timeit
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent


# -- results ------------------------------------------------------------------------------------


@dataclass
class Figure:
    """One number. ``passed`` is None for a figure that is reported, not judged."""

    label: str
    value: Any
    target: str | None = None
    passed: bool | None = None
    reason: str | None = None  # for a miss: why, and the plan

    @property
    def verdict(self) -> str:
        if self.passed is None:
            return "report"
        return "PASS" if self.passed else "MISS"


@dataclass
class BenchResult:
    name: str
    title: str
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None

    def add(
        self,
        label: str,
        value: Any,
        target: str | None = None,
        passed: bool | None = None,
        reason: str | None = None,
    ) -> Figure:
        figure = Figure(label, value, target, passed, reason if passed is False else None)
        self.figures.append(figure)
        return figure

    def note(self, text: str) -> None:
        self.notes.append(text)


# -- environment --------------------------------------------------------------------------------


def isolate_environment() -> Path:
    """Keep the machine's AWS setup out of every measurement (this process and its children).

    Returns the temporary folder it made (for IPython's files); the caller removes it.
    """
    for name in list(os.environ):
        if name.startswith(("AWS_", "NB_COGNITO_")):
            del os.environ[name]
    missing = Path(tempfile.mkdtemp(prefix="nb-bench-")) / "missing"
    os.environ["AWS_CONFIG_FILE"] = str(missing / "config")
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = str(missing / "credentials")
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    os.environ["IPYTHONDIR"] = str(missing.parent / "ipython")
    return missing.parent


class Context:
    """Run-wide state: the mode, and one offline Cognito shared by the in-process benchmarks."""

    def __init__(self, *, quick: bool) -> None:
        self.quick = quick
        self._local: Any = None
        self.shared: dict[str, Any] = {}  # figures one benchmark offers another (e.g. read costs)

    def pick(self, full: Any, quick: Any) -> Any:
        return quick if self.quick else full

    # -- the emulator -----------------------------------------------------------------------

    @property
    def spec(self) -> Any:
        from nb_cognito.local import default_test_spec

        return default_test_spec()

    @property
    def user(self) -> tuple[str, str]:
        user = self.spec.users[0]
        return user.username, user.password

    @property
    def bucket(self) -> str:
        return next(iter(self.spec.buckets))

    def fresh_local(self, clock: Any = None) -> Any:
        """The emulator, reset to the test spec, on ``clock`` (default: the system clock).

        Also forgets what the previous benchmark left in this process: boto3's default
        session, the provider in it, and nb_cognito's process-wide identity-id cache.
        """
        import boto3

        from nb_cognito.auth.identity import forget_identity_ids
        from nb_cognito.clock import SYSTEM_CLOCK
        from nb_cognito.local import LocalCognito

        boto3.DEFAULT_SESSION = None
        forget_identity_ids()
        if self._local is None:
            self._local = LocalCognito(self.spec, clock=clock or SYSTEM_CLOCK).start()
        else:
            self._local.use_clock(clock or SYSTEM_CLOCK)
            self._local.reset(self.spec)
        return self._local

    @contextlib.contextmanager
    def signed_in(
        self, local: Any, *, clock: Any = None, identity_pool: bool = True, auto_refresh: bool = True
    ) -> Iterator[Any]:
        """A new CognitoSession signed in to ``local`` as the spec's user (SRP, the default flow).

        Signed out and closed, and the boto3 provider uninstalled, when the block ends.
        """
        from nb_cognito.auth.session import CognitoSession
        from nb_cognito.clock import SYSTEM_CLOCK

        session = CognitoSession(clock=clock or SYSTEM_CLOCK, auto_refresh=auto_refresh)
        try:
            config = local.settings.as_config()
            if not identity_pool:
                config.pop("identity_pool_id", None)
            session.configure(**config)
            username, password = self.user
            result = session.sign_in(username, password)
            if not result.is_signed_in:
                raise RuntimeError(f"sign-in stopped at {result.next_step.sign_in_step}")
            yield session
        finally:
            _end_session(session)

    def use_system_clock(self) -> None:
        """Give the emulator the real clock back (after a benchmark on a ManualClock)."""
        from nb_cognito.clock import SYSTEM_CLOCK

        if self._local is not None:
            self._local.use_clock(SYSTEM_CLOCK)

    def close(self) -> None:
        if self._local is not None:
            self._local.stop()
            self._local = None


def _end_session(session: Any) -> None:
    """Sign out, stop the refresher and close the integrations (the boto3 provider goes)."""
    try:
        session.sign_out()
    finally:
        session.close()


def injected_s3_client(session: Any, local: Any) -> Any:
    """``boto3.client("s3")`` on the default session, after installing ``session``'s provider there.

    Raises RuntimeError unless the client signs with nb_cognito's credentials.
    """
    import boto3

    from nb_cognito.auth.base import add_integration
    from nb_cognito.integrations.boto3_injection import CANONICAL_NAME, Boto3Injection

    injection = session.integration(Boto3Injection) or add_integration(session, Boto3Injection())
    if not injection.install():
        raise RuntimeError("Boto3Injection.install refused (AWS_* set in the environment?)")
    client = boto3.client("s3", endpoint_url=local.endpoint_url)
    method = boto3.DEFAULT_SESSION.get_credentials().method
    if method != CANONICAL_NAME:
        raise RuntimeError(f"the injected S3 client signs with {method!r} credentials, not nb_cognito's")
    return client


def unsigned_client(service: str, local: Any) -> Any:
    """A plain boto3 client for the emulator that needs no credentials (Cognito's public calls)."""
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    return boto3.client(
        service,
        endpoint_url=local.endpoint_url,
        region_name=local.settings.region,
        config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}),
    )


def cognito_provider(local: Any) -> str:
    settings = local.settings
    return f"cognito-idp.{settings.region}.amazonaws.com/{settings.user_pool_id}"


# -- timing -------------------------------------------------------------------------------------


def per_call(fn: Callable[[], Any], number: int) -> float:
    """Seconds per call of ``fn`` over ``number`` calls (timeit: the GC is off meanwhile)."""
    return timeit.Timer(fn).timeit(number) / number


def calibrate(fn: Callable[[], Any], target: float, *, least: int = 100) -> int:
    """How many calls of ``fn`` take about ``target`` seconds (at least ``least``)."""
    number = least
    while True:
        spent = timeit.Timer(fn).timeit(number)
        if spent >= target / 4 or number >= 10_000_000:
            return max(least, int(number * target / max(spent, 1e-9)))
        number *= 4


def interleave(samplers: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Run every sampler once per round, reversing the order every other round (ABBA)."""
    names = list(samplers)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for index in range(rounds):
        for name in names if index % 2 == 0 else reversed(names):
            samples[name].append(samplers[name]())
    return samples


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def median_ratio(numerator: list[float], denominator: list[float]) -> float:
    """The median of per-round ratios: each pair was measured close together in time."""
    return statistics.median(a / b for a, b in zip(numerator, denominator, strict=True))


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def fmt_seconds(seconds: float) -> str:
    if seconds < 1e-6:
        return f"{seconds * 1e9:.0f} ns"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def fmt_ratio(value: float) -> str:
    return f"{value:.3f}"


# -- the machine --------------------------------------------------------------------------------


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_facts() -> dict[str, str]:
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = os.cpu_count() or 0
    return {
        "date (UTC)": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M"),
        "nproc": str(usable),
        "CPU": cpu_model(),
        "OS": f"{platform.system()} {platform.release()}",
        "Python": sys.version.split()[0],
        "boto3": _version("boto3"),
        "botocore": _version("botocore"),
        "moto": _version("moto"),
        "pycognito": _version("pycognito"),
        "IPython": _version("ipython"),
        "nb-cognito": _version("nb-cognito"),
    }
