"""Optional JSON persistence of the emulator's state (used by `manage.py mux_emulator`, not by tests).

The file is written atomically after every change so that a restart of `make run` keeps uploads,
assets and, above all, the signing keys: the app's dev playback tokens stay valid across restarts, and
`streaming.signing.dev_signing_key()` reads the newest key from here.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def load_state(path: Path) -> dict[str, Any] | None:
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def save_state(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
        os.chmod(tmp, 0o600)  # it holds private signing keys, dev-only but still keys
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def newest_signing_key(path: Path) -> tuple[str, str] | None:
    """(key id, base64 PEM private key) of the most recently created signing key in a state file."""
    data = load_state(path)
    if data is None:
        return None
    keys = data.get("signing_keys")
    if not isinstance(keys, list):
        return None
    usable = [
        k
        for k in keys
        if isinstance(k, dict) and isinstance(k.get("id"), str) and isinstance(k.get("private_key"), str)
    ]
    if not usable:
        return None
    newest = max(usable, key=lambda k: (int(k.get("created_at") or 0), k.get("seq") or 0))
    return newest["id"], newest["private_key"]
