"""The user pool's signing keys (JWKS): fetched the way botocore reaches AWS, and kept on disk.

* **Fetched through botocore's HTTP stack** (:class:`botocore.httpsession.URLLib3Session`),
  with the CA bundle botocore would use (``AWS_CA_BUNDLE``, ``ca_bundle`` in the AWS config,
  else ``REQUESTS_CA_BUNDLE``) and the proxies it would use (``HTTPS_PROXY`` / ``HTTP_PROXY``,
  minus ``NO_PROXY``), so that a network where every Cognito call works (a TLS-inspecting
  proxy) also serves the JWKS. Plain urllib would ignore both.
* **Kept on disk**, one file per (issuer, URL), so that a new kernel verifies its tokens with
  no fetch: ``$XDG_CACHE_HOME/nb_cognito/jwks`` (default ``~/.cache/nb_cognito/jwks``), each
  file 0600 in a 0700 directory, written atomically. A symbolic link, or a directory or file
  that is not the user's or that others can write, is ignored on load and on save (a planted
  key would let a forged token in). A key id that is not in the cached set
  makes the caller fetch once more (:class:`JwksSource`); keys are public, so the cache holds
  no secret.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import stat
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from nb_cognito import forksafe
from nb_cognito.environment import EnvironmentVariables as Env
from nb_cognito.exceptions import AuthError, ConfigurationError, ServiceUnavailableError, from_aws_error
from nb_cognito.redaction import our_call

__all__ = ["JwksSource", "cache_directory", "fetch_jwks"]

log = logging.getLogger("nb_cognito")

#: (url, timeout) -> the JWKS document. Raises :class:`AuthError`.
JwksFetcher = Callable[[str, float], Mapping[str, Any]]

_MAX_BYTES = 256 * 1024
_POSIX = os.name == "posix"
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)


class JwksNotFound(ConfigurationError):
    """The JWKS URL answered 404 (or 400): the service knows no such pool there."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


def cache_directory() -> Path:
    """``$XDG_CACHE_HOME/nb_cognito/jwks``, or ``~/.cache/nb_cognito/jwks``."""
    base = os.environ.get(Env.XDG_CACHE_HOME, "").strip()
    root = Path(base) if base and os.path.isabs(base) else Path("~/.cache").expanduser()
    return root / "nb_cognito" / "jwks"


def fetch_jwks(url: str, timeout: float) -> Mapping[str, Any]:
    """GET the JWKS at ``url`` through botocore's HTTP stack (its CA bundle and proxies)."""
    if not url.startswith(("https://", "http://")):
        raise AuthError(f"Refusing to fetch the JWKS from {url!r}: not an http(s) URL.")
    from botocore.awsrequest import AWSRequest
    from botocore.exceptions import BotoCoreError
    from botocore.httpsession import URLLib3Session
    from botocore.utils import get_environ_proxies

    from nb_cognito.auth.aws_calls import ca_bundle

    http = URLLib3Session(verify=ca_bundle(), proxies=get_environ_proxies(url), timeout=timeout)
    try:
        with our_call():  # our own call: botocore's and urllib3's DEBUG records of it are dropped
            response = http.send(AWSRequest(method="GET", url=url).prepare())
    except BotoCoreError as error:
        raise from_aws_error(error, action="fetch the user pool's signing keys") from error
    finally:
        http.close()
    status = response.status_code
    body = response.content[:_MAX_BYTES]
    if status in (400, 404):  # an unknown (or malformed) pool id: no such pool there
        raise JwksNotFound(f"{url} answered HTTP {status}{_server_message(body)}.", status=status)
    if status >= 500 or status == 429:
        raise ServiceUnavailableError(
            f"The user pool's signing keys are unavailable: {url} answered HTTP {status}"
            f"{_server_message(body)}."
        )
    if status != 200:
        raise AuthError(f"{url} answered HTTP {status}{_server_message(body)}; expected the pool's JWKS.")
    try:
        document = json.loads(body)
    except ValueError as error:
        raise AuthError(f"{url} did not answer with a JWKS (not JSON).") from error
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise AuthError(f"{url} did not answer with a JWKS (no 'keys' list).")
    return document


def _server_message(body: bytes) -> str:
    """``: <the server's message>`` from a JSON error body, short and printable; else ``""``."""
    try:
        document = json.loads(body)
    except ValueError:
        return ""
    message = document.get("message") or document.get("Message") if isinstance(document, dict) else None
    if not isinstance(message, str):
        return ""
    printable = "".join(ch for ch in message if ch.isprintable())[:200]
    return f" ({printable})" if printable else ""


def _keys_by_kid(document: Mapping[str, Any]) -> dict[str, Any]:
    """The document's keys by ``kid`` (only string kids can match a token's header)."""
    return {
        key["kid"]: key
        for key in document.get("keys", [])
        if isinstance(key, dict) and isinstance(key.get("kid"), str)
    }


def _private(info: os.stat_result) -> bool:
    """Ours, and nobody else can write it."""
    return info.st_uid == os.getuid() and not info.st_mode & 0o022


class _DiskCache:
    """One JSON file per (issuer, URL), 0600 in a 0700 directory, replaced atomically.

    Neither a symbolic link (files are opened with ``O_NOFOLLOW``, relative to the directory
    opened the same way) nor a directory or file that is not ours or that others can write is
    trusted, on load as on save: a planted key would let a forged token in.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _name(self, issuer: str, url: str) -> str:
        return hashlib.sha256(f"{issuer}\n{url}".encode()).hexdigest()[:32] + ".json"

    def _open_directory(self) -> int | None:
        """A descriptor of the cache directory when it is a real directory of ours, private to write."""
        try:
            fd = os.open(self.directory, os.O_RDONLY | _O_DIRECTORY | _O_NOFOLLOW)
        except OSError:  # missing, or a symbolic link (ELOOP / ENOTDIR)
            if self.directory.is_symlink():
                log.warning("Ignoring the JWKS cache %s: it is a symbolic link.", self.directory)
            return None
        if not _private(os.fstat(fd)):
            os.close(fd)
            log.warning(
                "Ignoring the JWKS cache %s: it is not yours, or others can write in it "
                "(make it yours with mode 700, or remove it).",
                self.directory,
            )
            return None
        return fd

    def load(self, issuer: str, url: str) -> dict[str, Any] | None:
        if not _POSIX:
            return self._parse(self._read_by_path(issuer, url), issuer, url)
        directory = self._open_directory()
        if directory is None:
            return None
        name = self._name(issuer, url)
        try:
            fd = os.open(name, os.O_RDONLY | _O_NOFOLLOW | os.O_NONBLOCK, dir_fd=directory)
        except OSError as error:
            if error.errno == errno.ELOOP:
                log.warning("Ignoring the cached JWKS %s: it is a symbolic link.", self.directory / name)
            return None
        finally:
            os.close(directory)
        try:
            with os.fdopen(fd, "rb") as handle:
                info = os.fstat(handle.fileno())
                if not stat.S_ISREG(info.st_mode) or not _private(info):
                    log.warning(
                        "Ignoring the cached JWKS %s: others could have written it.", self.directory / name
                    )
                    return None
                data = handle.read(_MAX_BYTES)
        except OSError:
            return None
        return self._parse(data, issuer, url)

    def _read_by_path(self, issuer: str, url: str) -> bytes | None:  # no O_NOFOLLOW nor owners here
        try:
            with open(self.directory / self._name(issuer, url), "rb") as handle:
                return handle.read(_MAX_BYTES)
        except OSError:
            return None

    @staticmethod
    def _parse(data: bytes | None, issuer: str, url: str) -> dict[str, Any] | None:
        try:
            document = json.loads(data) if data is not None else None
        except ValueError:
            return None
        if not isinstance(document, dict) or document.get("issuer") != issuer or document.get("url") != url:
            return None
        keys = document.get("keys")
        return keys if isinstance(keys, dict) else None

    def save(self, issuer: str, url: str, keys: Mapping[str, Any]) -> None:
        """Best effort: a cache that cannot be written only costs a fetch in the next kernel."""
        payload = json.dumps({"issuer": issuer, "url": url, "keys": dict(keys)}).encode()
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not _POSIX:
                self._write(None, self._name(issuer, url), payload)
                return
            directory = self._open_directory()
            if directory is None:
                return
            try:
                if stat.S_IMODE(os.fstat(directory).st_mode) & 0o077:  # ours, readable by others
                    os.fchmod(directory, 0o700)
                self._write(directory, self._name(issuer, url), payload)
            finally:
                os.close(directory)
        except OSError as error:
            log.debug("Could not cache the JWKS on disk (%s).", type(error).__name__)

    def _write(self, directory: int | None, name: str, payload: bytes) -> None:
        where = {"dir_fd": directory} if directory is not None else {}
        base = self.directory if directory is None else Path()
        temp = f".{name}.{os.getpid()}.{threading.get_ident()}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW
        fd = os.open(base / temp, flags, 0o600, **where)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            renames = {"src_dir_fd": directory, "dst_dir_fd": directory} if directory is not None else {}
            os.replace(base / temp, base / name, **renames)  # replaces a planted link, never follows it
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(base / temp, **where)


# The keys per (issuer, URL) for the whole process: every session of one pool shares them.
_MEMORY: dict[tuple[str, str], dict[str, Any]] = {}
_MEMORY_LOCK = forksafe.Lock()


class JwksSource:
    """The keys of one issuer, from memory, then disk, then ``url``.

    ``keys(kid)`` answers from what is known; when ``kid`` is missing it fetches once more
    (the pool rotated its keys), and so does ``refetch()`` when a cached key failed to verify.
    """

    def __init__(
        self,
        issuer: str,
        url: str,
        *,
        timeout: float,
        fetch: JwksFetcher = fetch_jwks,
        directory: Path | None = None,
    ) -> None:
        self.issuer, self.url = issuer, url
        self._timeout = timeout
        self._fetch = fetch
        self._disk = _DiskCache(directory if directory is not None else cache_directory())
        self.fetched = False  # True once this source fetched in this process

    def known(self) -> dict[str, Any] | None:
        """The keys held in memory or on disk, without fetching; None when there are none."""
        return self._known()

    def _known(self) -> dict[str, Any] | None:
        key = (self.issuer, self.url)
        known = _MEMORY.get(key)
        if known is None:
            known = self._disk.load(self.issuer, self.url)
            if known is not None:
                with _MEMORY_LOCK:
                    _MEMORY[key] = known
        return known

    def refetch(self) -> dict[str, Any]:
        """Fetch the keys now, and keep them in memory and on disk."""
        keys = _keys_by_kid(self._fetch(self.url, self._timeout))
        with _MEMORY_LOCK:
            _MEMORY[(self.issuer, self.url)] = keys
        self._disk.save(self.issuer, self.url, keys)
        self.fetched = True
        return keys

    def key(self, kid: str) -> Mapping[str, Any] | None:
        """The JWK with ``kid``; fetched once more when the known set lacks it."""
        known = self._known()
        if known is not None and kid in known:
            return known[kid]
        return self.refetch().get(kid)


def forget_jwks() -> None:
    """Drop the process-wide in-memory keys (tests)."""
    with _MEMORY_LOCK:
        _MEMORY.clear()
