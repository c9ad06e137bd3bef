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
from typing import TYPE_CHECKING

from .notes import SessionNotes

if TYPE_CHECKING:
    from ..engine.loop.store import LabelStore

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


def session_notes(store: LabelStore | None, annotator: str, folder: Path) -> SessionNotes | None:
    """The session's notes (drafts on screen, curves): in the store's SQLite file, or, for a store
    on a database server, in a file of this person's own in ``anchoral-labels/`` (drafts are one
    person's, not the team's); None without a store."""
    if store is None:
        return None
    if store.path is not None:
        return SessionNotes(store.path)
    database = store.location.rsplit("/", 1)[-1].split("?")[0]
    path = folder / FOLDER / f"{_slug(database) or 'team'}-{_slug(annotator) or 'me'}-notes.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return SessionNotes(path)


def shown(store: LabelStore, folder: Path) -> str:
    """Where the store is, as a person finds it: a file relative to the working folder when
    inside it; a server's URL (less any password)."""
    if store.path is None:
        return store.location
    try:
        return str(store.path.relative_to(folder))
    except ValueError:
        return str(store.path)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
