"""Keep secrets out of log records, even with the root logger at DEBUG.

At DEBUG, botocore logs whole request and response bodies: the password sent to
InitiateAuth, the tokens Cognito returns, the credentials. Two filters, attached to the
botocore/boto3/urllib3 loggers, prevent that:

* while one of *our* Cognito calls runs in a thread (:func:`our_call`), their records below
  ERROR in that thread are dropped;
* any record from those loggers has every secret we currently hold replaced by
  ``<redacted>`` (this covers the user's own S3 calls, whose signing logs carry our
  session token).

Nothing here turns logging on; with logging off no record is made and the filters cost nothing.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import weakref
from collections.abc import Iterator

from nb_cognito import forksafe

__all__ = ["SecretRegistry", "install_filters", "known_secrets", "our_call", "redact_text"]

_WATCHED_PREFIXES = ("botocore", "boto3", "urllib3", "s3transfer", "s3fs", "aiobotocore")
_KNOWN_LOGGERS = (
    "botocore.endpoint",
    "botocore.parsers",
    "botocore.auth",
    "botocore.hooks",
    "botocore.credentials",
    "botocore.retryhandler",
    "botocore.httpsession",
    "botocore.awsrequest",
    "botocore.client",
    "botocore.utils",
    "urllib3.connectionpool",
)

_local = threading.local()


@contextlib.contextmanager
def our_call() -> Iterator[None]:
    """Mark the current thread as making one of nb_cognito's own AWS calls."""
    install_filters()
    _local.depth = getattr(_local, "depth", 0) + 1
    try:
        yield
    finally:
        _local.depth -= 1


class SecretRegistry:
    """The secrets to scrub from log records: tokens, keys, the password during sign-in.

    Two parts. **Pinned**: the values a live owner holds now (a signed-in session's tokens,
    credentials and device password; the credentials endpoint's bearer token), set with
    :meth:`pin` and replaced at each change; never evicted, however much else is added, so a
    flood of made-up values (requests to the hosted-UI listener) cannot push them out.
    **Transient**: everything else (passwords during sign-in, codes, PKCE values, tokens that
    were live a moment ago), bounded to the most recent ``capacity`` values: a kernel that runs
    for weeks does not accumulate every token it ever held, while tokens a request signed a
    moment before a refresh are still scrubbed from its late log records.
    """

    _MIN_LENGTH = 8  # shorter strings would scrub ordinary words

    def __init__(self, capacity: int = 64) -> None:
        self._lock = forksafe.Lock()
        self._values: dict[str, None] = {}  # transient, insertion-ordered: the oldest first
        # Pinned, per owner; an owner that is garbage collected takes its values with it.
        self._pinned: weakref.WeakKeyDictionary[object, frozenset[str]] = weakref.WeakKeyDictionary()
        self._capacity = capacity

    def add(self, *values: str | None) -> None:
        """Scrub ``values`` for a while (transient: the oldest leave beyond ``capacity``)."""
        with self._lock:
            self._add(values)

    def _add(self, values: Iterator[str | None] | tuple[str | None, ...] | frozenset[str]) -> None:
        for value in values:
            if value and len(value) >= self._MIN_LENGTH:
                self._values.pop(value, None)
                self._values[value] = None
        while len(self._values) > self._capacity:
            del self._values[next(iter(self._values))]

    def pin(self, owner: object, *values: str | None) -> None:
        """``owner``'s live secrets are now ``values`` (none: it holds none), never evicted.

        What it held before and holds no more becomes transient: still scrubbed for a while.
        """
        kept = frozenset(value for value in values if value and len(value) >= self._MIN_LENGTH)
        with self._lock:
            previous = self._pinned.get(owner, frozenset())
            if kept:
                self._pinned[owner] = kept
            else:
                self._pinned.pop(owner, None)
            self._add(previous - kept)

    def unpin(self, owner: object) -> None:
        """``owner`` holds no live secret any more (signed out, stopped)."""
        self.pin(owner)

    def discard(self, *values: str | None) -> None:
        """Forget transient values now (a password once sign-in is over); pinned ones leave
        only when their owner pins others or unpins."""
        with self._lock:
            for value in values:
                if value:
                    self._values.pop(value, None)

    def _all(self) -> set[str]:
        with self._lock:
            return {*self._values, *(value for values in list(self._pinned.values()) for value in values)}

    def __contains__(self, value: str) -> bool:
        return value in self._all()

    def scrub(self, text: str) -> str:
        for value in sorted(self._all(), key=len, reverse=True):  # a longer secret first
            if value in text:
                text = text.replace(value, "<redacted>")
        return text

    def __bool__(self) -> bool:
        return bool(self._values) or bool(self._pinned)

    def __len__(self) -> int:
        return len(self._all())

    def __repr__(self) -> str:
        return f"SecretRegistry({len(self)} secrets)"


known_secrets = SecretRegistry()


class _RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(_local, "depth", 0) and record.levelno < logging.ERROR:
            return False
        if known_secrets:
            try:
                message = record.getMessage()
            except Exception:  # a malformed record is not ours to fix
                return True
            scrubbed = known_secrets.scrub(message)
            if scrubbed != message:
                record.msg, record.args = scrubbed, ()
        return True


_FILTER = _RedactingFilter("nb_cognito")
_installed: set[str] = set()
_install_lock = forksafe.Lock()


def install_filters() -> None:
    """Attach the filter to every botocore/boto3/urllib3 logger that exists (idempotent)."""
    names = set(_KNOWN_LOGGERS)
    names.update(name for name in list(logging.root.manager.loggerDict) if name.startswith(_WATCHED_PREFIXES))
    new = names - _installed
    if not new:
        return
    with _install_lock:
        for name in new:
            logger = logging.getLogger(name)
            if _FILTER not in logger.filters:
                logger.addFilter(_FILTER)
            _installed.add(name)


_JWT_RE = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_LONG_SECRET_RE = re.compile(r"[A-Za-z0-9+/=_-]{40,}")


def redact_text(text: str) -> str:
    """Remove anything shaped like a JWT or a long opaque secret from ``text``."""
    if not text:
        return text
    text = _JWT_RE.sub("<redacted token>", text)
    text = _LONG_SECRET_RE.sub(_redact_unless_path, text)
    return known_secrets.scrub(text) if known_secrets else text


def _redact_unless_path(match: re.Match[str]) -> str:
    value = match.group(0)
    # An absolute file path (an Amplify config file, say) is information, not a secret.
    return value if value.startswith("/") and "/" in value[1:] else "<redacted>"
