"""Where a session keeps its labels when not told: ``anchoral-labels/`` in the working folder (the
notebook's), in a file a person can recognise, named after the rare classes and the pool's size,
with the pool's fingerprint to tell two pools apart: ``anchoral-labels/eye-58223-texts-ff558dba.db``
(and its ``-wal`` and ``-shm`` files beside it, out of the notebook's folder).

Labels kept at the former default (``anchoral-labels-<fingerprint>.db`` beside the notebook) are
never left behind: when that file exists and the new one does not, the session keeps using it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

FOLDER = "anchoral-labels"
MAX_NAME = 40  # characters of the classes' part of the name


def default_store(folder: Path, fingerprint: str, size: int, minority: Sequence[object]) -> Path:
    """The store file for a pool of ``size`` texts with this ``fingerprint`` and ``minority``."""
    former = folder / f"anchoral-labels-{fingerprint[:12]}.db"
    name = "-".join(slug for slug in (_slug(str(c)) for c in minority) if slug) or "labels"
    path = folder / FOLDER / f"{name[:MAX_NAME]}-{size}-texts-{fingerprint[:8]}.db"
    if former.exists() and not path.exists():
        return former
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def shown(path: Path, folder: Path) -> str:
    """The store's path as a person finds it: relative to the working folder when inside it."""
    try:
        return str(path.relative_to(folder))
    except ValueError:
        return str(path)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
