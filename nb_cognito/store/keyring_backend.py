"""The keyring store, and which keyring backends count as secure.

Used only when ``keyring`` is installed and its backend is a secure one: plaintext, fail and
null backends (and chains holding one) are refused. ``NB_COGNITO_KEYRING=0`` turns it off.
"""

from __future__ import annotations

import contextlib
import json
import os
from typing import Any

from nb_cognito.environment import EnvironmentVariables as Env
from nb_cognito.store.entry import RememberedEntry

ENV_KEYRING = Env.NB_COGNITO_KEYRING  # "0"/"false"/"no"/"off": never use the OS keyring
SERVICE = "nb_cognito"
_INDEX = "__index__"  # the keyring cannot list its entries, so we keep the list of ours


class KeyringStore:
    """Entries in the OS keyring: service ``nb_cognito``, one item per entry, plus an index."""

    def __init__(self, module: Any, backend: Any) -> None:
        self.keyring = module
        self.backend = backend

    def location(self) -> str:
        return f"keyring ({_backend_name(self.backend)})"

    def _index(self) -> list[str]:
        raw = self.backend.get_password(SERVICE, _INDEX)
        try:
            keys = json.loads(raw) if raw else []
        except ValueError:
            keys = []
        return [key for key in keys if isinstance(key, str)] if isinstance(keys, list) else []

    def _set_index(self, keys: list[str]) -> None:
        self.backend.set_password(SERVICE, _INDEX, json.dumps(sorted(set(keys))))

    def load_all(self) -> list[RememberedEntry]:
        entries = []
        for key in self._index():
            raw = self.backend.get_password(SERVICE, key)
            try:
                entry = RememberedEntry.from_json(json.loads(raw), self.location()) if raw else None
            except ValueError:
                entry = None
            if entry is not None:
                entries.append(entry)
        return entries

    def save(self, entry: RememberedEntry) -> str:
        self.backend.set_password(SERVICE, entry.key, json.dumps(entry.to_json(), sort_keys=True))
        index = self._index()
        if entry.key not in index:
            self._set_index([*index, entry.key])
        return self.location()

    def delete(self, key: str) -> bool:
        index = self._index()
        try:
            self.backend.delete_password(SERVICE, key)
            deleted = True
        except self.keyring.errors.PasswordDeleteError:
            deleted = False
        if key in index:
            self._set_index([k for k in index if k != key])
        return deleted

    def delete_all(self) -> int:
        count = 0
        for key in self._index():
            count += self.delete(key)
        with contextlib.suppress(self.keyring.errors.PasswordDeleteError):
            self.backend.delete_password(SERVICE, _INDEX)
        return count


_REFUSED_KEYRING_MODULES = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")


def _backend_name(backend: Any) -> str:
    inner = getattr(backend, "backends", None)
    if type(backend).__name__ == "ChainerBackend" and inner:
        return ", ".join(_backend_name(b) for b in inner)
    name = type(backend).__module__.rsplit(".", 1)[-1]
    return name if name not in ("", "__main__") else type(backend).__name__


def is_secure_keyring(backend: Any) -> bool:
    """False for the plaintext, fail and null backends (and chains holding one)."""
    kind = type(backend)
    if kind.__name__ == "ChainerBackend":
        inner = list(getattr(backend, "backends", None) or ())
        return bool(inner) and all(is_secure_keyring(b) for b in inner)
    if kind.__module__.startswith(_REFUSED_KEYRING_MODULES) or "plaintext" in kind.__name__.lower():
        return False
    try:
        return float(backend.priority) > 0
    except Exception:  # a backend that cannot say is not used
        return False


def _keyring_wanted() -> bool:
    return os.environ.get(ENV_KEYRING, "").strip().lower() not in ("0", "false", "no", "off")


def keyring_store() -> KeyringStore | None:
    if not _keyring_wanted():
        return None
    try:
        import keyring
        import keyring.errors
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
    except Exception:
        return None
    return KeyringStore(keyring, backend) if is_secure_keyring(backend) else None
