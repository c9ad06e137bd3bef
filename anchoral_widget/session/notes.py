"""What a session keeps beside its labels, so that a restarted kernel shows what was on screen:
the drafts of the batch on screen (answers given, not submitted, and their undo steps) and what
the curves computed that the loop's history does not hold (the subpool's predicted minority
share and the F1 estimate of every iteration).

They live in a table of their own, ``session_notes``, in the label store's SQLite file, written
through a connection of their own: drafts change from the kernel's thread while the worker
commits labels through the store's. Labels never depend on them: a store without the table
(any older one) opens as before, and a note that cannot be read is ignored. Nothing here is a
label: the labels are only ever what the store's log holds.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_SCHEMA = "CREATE TABLE IF NOT EXISTS session_notes (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
DRAFTS = "drafts"
CURVES = "curves"


class SessionNotes:
    """Key -> JSON value, in the store's file (``path``). Thread-safe; each write commits."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        # WAL is the store's journal mode already; a writer waits for the other (5 s at most)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=5)
        self._db.execute(_SCHEMA)

    def get(self, key: str) -> Any:
        """The value kept under ``key``, or None (never kept, or unreadable)."""
        try:
            with self._lock:
                row = self._db.execute("SELECT value FROM session_notes WHERE key = ?", (key,)).fetchone()
            return None if row is None else json.loads(row[0])
        except (sqlite3.Error, ValueError) as err:
            log.warning("%s: the session's %s could not be read back (%s)", self.path, key, err)
            return None

    def put(self, key: str, value: Any) -> None:
        """Keep ``value`` (JSON-ready) under ``key``; a failure is logged, never raised: a note
        lost costs a redraw or a draft, never a label."""
        try:
            with self._lock:
                self._db.execute(
                    "INSERT OR REPLACE INTO session_notes VALUES (?, ?)", (key, json.dumps(value, allow_nan=True))
                )
        except (sqlite3.Error, TypeError, ValueError) as err:
            log.warning("%s: the session's %s could not be kept (%s)", self.path, key, err)

    def close(self) -> None:
        with self._lock:
            self._db.close()
