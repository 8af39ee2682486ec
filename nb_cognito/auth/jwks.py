"""The user pool's signing keys (JWKS): fetched the way botocore reaches AWS, and kept on disk.

* **Fetched through botocore's HTTP stack** (:class:`botocore.httpsession.URLLib3Session`),
  with the CA bundle botocore would use (``AWS_CA_BUNDLE``, ``ca_bundle`` in the AWS config,
  else ``REQUESTS_CA_BUNDLE``) and the proxies it would use (``HTTPS_PROXY`` / ``HTTP_PROXY``,
  minus ``NO_PROXY``), so that a network where every Cognito call works (a TLS-inspecting
  proxy) also serves the JWKS. Plain urllib would ignore both.
* **Kept on disk**, one file per (issuer, URL), so that a new kernel verifies its tokens with
  no fetch: ``$XDG_CACHE_HOME/nb_cognito/jwks`` (default ``~/.cache/nb_cognito/jwks``), each
  file 0600 in a 0700 directory, written atomically. A file others could have written is
  ignored (a planted key would let a forged token in). A key id that is not in the cached set
  makes the caller fetch once more (:class:`JwksSource`); keys are public, so the cache holds
  no secret.
"""

from __future__ import annotations

import contextlib
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


class _DiskCache:
    """One JSON file per (issuer, URL), 0600 in a 0700 directory, replaced atomically."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, issuer: str, url: str) -> Path:
        name = hashlib.sha256(f"{issuer}\n{url}".encode()).hexdigest()[:32]
        return self.directory / f"{name}.json"

    def load(self, issuer: str, url: str) -> dict[str, Any] | None:
        path = self._path(issuer, url)
        try:
            with open(path, "rb") as handle:
                info = os.fstat(handle.fileno())
                if _POSIX and (info.st_uid != os.getuid() or info.st_mode & 0o022):
                    log.warning("Ignoring the cached JWKS %s: others could have written it.", path)
                    return None
                document = json.loads(handle.read(_MAX_BYTES))
        except (OSError, ValueError):
            return None
        if not isinstance(document, dict) or document.get("issuer") != issuer or document.get("url") != url:
            return None
        keys = document.get("keys")
        return keys if isinstance(keys, dict) else None

    def save(self, issuer: str, url: str, keys: Mapping[str, Any]) -> None:
        """Best effort: a cache that cannot be written only costs a fetch in the next kernel."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            if _POSIX:
                info = self.directory.stat()
                if info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & 0o077:
                    os.chmod(self.directory, 0o700)
            final = self._path(issuer, url)
            temp = final.with_name(f".{final.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            payload = json.dumps({"issuer": issuer, "url": url, "keys": dict(keys)}).encode()
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(payload)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(temp, final)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temp)
        except OSError as error:
            log.debug("Could not cache the JWKS on disk (%s).", type(error).__name__)


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
