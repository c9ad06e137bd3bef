"""A durable label store: SQLite in WAL mode, one append-only log of everything the loop did.

Every ``label``, ``skip``, ``correct``, ``undo`` and ``propose`` is one row, committed before the loop's
call returns, so an acknowledged label survives a kernel crash. Reopening the store on the
same pool replays the log: the same labelled set, the same history, the same pending batch.
Nothing is ever deleted: an undo is a row of its own.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ...errors import InputError

if TYPE_CHECKING:
    from .active import ActiveLoop

SCHEMA_VERSION = 2  # 2: corrections of past labels (``correct`` rows)

_LOG = """
CREATE TABLE IF NOT EXISTS {name} (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('label', 'skip', 'correct', 'undo', 'propose')),
    payload TEXT NOT NULL,
    time REAL NOT NULL
);
"""
_SCHEMA = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);" + _LOG.format(name="log")


def _json(value: Any) -> str:
    def default(v: Any) -> Any:
        if isinstance(v, np.ndarray):
            return v.tolist()
        if isinstance(v, np.generic):
            return v.item()
        raise TypeError(f"cannot store {type(v).__name__}")

    return json.dumps(value, default=default, allow_nan=True)


class LabelStore:
    """The SQLite file behind a loop.

    Parameters
    ----------
    path : str or Path
        The database file; created if missing.
    fingerprint : str or list of str
        Identity of the pool (and encoder). A store made for another pool is refused. A list
        names every identity the pool is known by: a new store records the first, an existing
        one may carry any.
    classes : list
        The loop's classes; a store made with other classes is refused.
    config : dict, optional
        The loop's configuration, recorded; a change is reported, not refused. Omit it to open
        the store only to read it.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        fingerprint: str | list[str],
        classes: list[Any],
        config: dict[str, Any] | None = None,
    ):
        self.path = Path(path)
        identities = [fingerprint] if isinstance(fingerprint, str) else list(fingerprint)
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")  # a commit is on disk before label() returns
            self._db.executescript(_SCHEMA)
            meta = dict(self._db.execute("SELECT key, value FROM meta"))
            integrity = self._db.execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.DatabaseError as err:
            raise InputError(f"{self.path} is not a usable label store (corrupt or not SQLite): {err}") from err
        if integrity != "ok":
            raise InputError(f"{self.path} is damaged ({integrity}); restore it from a copy or start a new store")
        if not meta:
            self._set_meta(
                {
                    "schema": SCHEMA_VERSION,
                    "fingerprint": identities[0],
                    "classes": classes,
                    "config": config or {},
                    "created": time.time(),
                }
            )
            meta = dict(self._db.execute("SELECT key, value FROM meta"))
        if json.loads(meta.get("schema", "0")) == 1:
            self._migrate_from_1()
            meta = dict(self._db.execute("SELECT key, value FROM meta"))
        self._check(meta, identities, classes, config)

    def _migrate_from_1(self) -> None:
        """Schema 1's log refuses ``correct`` rows (a CHECK that SQLite cannot alter): copy it,
        row for row and with its sequence numbers, into a log that takes them."""
        with self._transaction():
            if json.loads(self._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0]) != 1:
                return  # another connection migrated it meanwhile
            self._db.execute(_LOG.format(name="log_v2"))
            self._db.execute("INSERT INTO log_v2 (seq, kind, payload, time) SELECT seq, kind, payload, time FROM log")
            self._db.execute("DROP TABLE log")
            self._db.execute("ALTER TABLE log_v2 RENAME TO log")
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (_json(SCHEMA_VERSION),))

    def _set_meta(self, values: dict[str, Any]) -> None:
        with self._transaction():
            for key, value in values.items():
                self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, _json(value)))

    def _check(
        self, meta: dict[str, str], identities: list[str], classes: list[Any], config: dict[str, Any] | None
    ) -> None:
        if json.loads(meta.get("schema", "0")) != SCHEMA_VERSION:
            raise InputError(f"{self.path} was written by another version of the store (schema {meta.get('schema')})")
        if json.loads(meta["fingerprint"]) not in identities:
            raise InputError(
                f"{self.path} holds labels for another pool (different texts, embeddings or encoder); "
                "open it with the pool it was made for, or use a new store file"
            )
        stored_classes = json.loads(meta["classes"])
        if stored_classes != json.loads(_json(list(classes))):
            raise InputError(f"{self.path} was made with classes {stored_classes}, not {list(classes)}")
        if config is None:
            return
        stored_config = json.loads(meta["config"])
        changed = sorted(k for k in set(stored_config) | set(config) if stored_config.get(k) != config.get(k))
        if changed:
            warnings.warn(
                f"{self.path}: the loop's configuration changed since the store was made ({', '.join(changed)}); "
                "labels are kept, the history goes on under the new configuration",
                stacklevel=3,
            )
            self._set_meta({"config": config})

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def append(self, kind: str, payload: dict[str, Any]) -> None:
        """Write one log row and commit it."""
        with self._transaction():
            self._db.execute(
                "INSERT INTO log (kind, payload, time) VALUES (?, ?, ?)", (kind, _json(payload), time.time())
            )

    def log(self) -> list[tuple[str, dict[str, Any]]]:
        """Every row, oldest first, as ``(kind, payload)``."""
        try:
            rows = self._db.execute("SELECT kind, payload FROM log ORDER BY seq").fetchall()
        except sqlite3.DatabaseError as err:
            raise InputError(f"{self.path} is damaged: {err}") from err
        return [(kind, json.loads(payload)) for kind, payload in rows]

    @property
    def meta(self) -> dict[str, Any]:
        return {k: json.loads(v) for k, v in self._db.execute("SELECT key, value FROM meta")}

    def close(self) -> None:
        self._db.close()


def replay(loop: ActiveLoop, log: Iterable[tuple[str, dict[str, Any]]]) -> None:
    """Rebuild a loop's state from a store's log, step by step through :meth:`ActiveLoop.restore`,
    writing nothing."""
    for kind, payload in log:
        loop.restore(kind, payload)


def opened_for(loop: ActiveLoop, store: str | os.PathLike[str] | LabelStore) -> LabelStore:
    """``store`` (a path or a :class:`LabelStore`, made for the loop's pool, classes and settings
    when a path) with its log replayed into ``loop``: the same labels, history and pending batch
    as when it was last written."""
    if not isinstance(store, LabelStore):
        store = LabelStore(store, fingerprint=loop.pool.identities, classes=loop.classes, config=loop.config)
    replay(loop, store.log())
    return store
