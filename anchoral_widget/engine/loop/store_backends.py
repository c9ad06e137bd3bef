"""Where a label store's rows live: a SQLite file (the embedded default) or a PostgreSQL
database (a team's shared store, through psycopg 3). Both hold the same two tables, ``meta``
and the append-only ``log``, and answer the same few calls; the store above them does not know
which it talks to.

Rows are appended in the order of their sequence numbers and each carries a unique ``uid``: an
append retried after a lost connection (committed or not, nobody can tell) is written once.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from ...errors import InputError, StoreUnavailableError

KINDS = ("label", "skip", "correct", "remove", "resolve", "undo", "propose")
_KIND_CHECK = "CHECK (kind IN ({}))".format(", ".join(f"'{k}'" for k in KINDS))
T = TypeVar("T")


@dataclass(frozen=True)
class Row:
    """One row of the log."""

    seq: int
    kind: str
    payload: str  # JSON
    annotator: str  # "" for rows written before stores knew who labelled


class LogBackend(Protocol):
    location: str

    def meta(self) -> dict[str, str]: ...
    def set_meta(self, values: dict[str, str]) -> None: ...
    def append(self, kind: str, payload: str, annotator: str, uid: str) -> int: ...
    def rows(self, after: int = 0) -> list[Row]: ...
    def close(self) -> None: ...


def is_url(location: object) -> bool:
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


def open_backend(location: str | os.PathLike[str]) -> LogBackend:
    """The backend for a SQLite path or a ``postgresql://`` URL."""
    if is_url(location):
        return PostgresLog(str(location))
    return SqliteLog(Path(location))


# ---- SQLite ------------------------------------------------------------------------------

_SQLITE_LOG = f"""
CREATE TABLE IF NOT EXISTS {{name}} (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL {_KIND_CHECK},
    payload TEXT NOT NULL,
    time REAL NOT NULL,
    annotator TEXT NOT NULL DEFAULT '',
    uid TEXT UNIQUE
);
"""


class SqliteLog:
    """A SQLite file in WAL mode; each append is on disk before it returns."""

    def __init__(self, path: Path):
        self.path = path
        self.location = str(path)
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")  # a commit is on disk before label() returns
            self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            integrity = self._db.execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.DatabaseError as err:
            raise InputError(f"{path} is not a usable label store (corrupt or not SQLite): {err}") from err
        if integrity != "ok":
            raise InputError(f"{path} is damaged ({integrity}); restore it from a copy or start a new store")
        self._upgrade_log()

    def _upgrade_log(self) -> None:
        """Create the log, or bring an older one up to date: schema 1 refuses ``correct`` rows (a
        CHECK that SQLite cannot alter) and 1 and 2 have no annotator or uid; their rows are
        copied, row for row and with their sequence numbers, into a log that has them."""
        with self._transaction():
            columns = [r[1] for r in self._db.execute("PRAGMA table_info(log)")]
            if "uid" in columns:
                return
            if not columns:
                self._db.execute(_SQLITE_LOG.format(name="log"))
                return
            self._db.execute(_SQLITE_LOG.format(name="log_v3"))
            self._db.execute("INSERT INTO log_v3 (seq, kind, payload, time) SELECT seq, kind, payload, time FROM log")
            self._db.execute("DROP TABLE log")
            self._db.execute("ALTER TABLE log_v3 RENAME TO log")

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def meta(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT key, value FROM meta"))

    def set_meta(self, values: dict[str, str]) -> None:
        with self._transaction():
            self._db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(values.items()))

    def append(self, kind: str, payload: str, annotator: str, uid: str) -> int:
        with self._transaction():
            cursor = self._db.execute(
                "INSERT INTO log (kind, payload, time, annotator, uid) VALUES (?, ?, ?, ?, ?)",
                (kind, payload, time.time(), annotator, uid),
            )
            return int(cursor.lastrowid)  # type: ignore[arg-type]  # set by an INSERT

    def rows(self, after: int = 0) -> list[Row]:
        try:
            found = self._db.execute(
                "SELECT seq, kind, payload, annotator FROM log WHERE seq > ? ORDER BY seq", (after,)
            ).fetchall()
        except sqlite3.DatabaseError as err:
            raise InputError(f"{self.location} is damaged: {err}") from err
        return [Row(*r) for r in found]

    def close(self) -> None:
        self._db.close()


# ---- PostgreSQL --------------------------------------------------------------------------

_PG_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS log (
    seq BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL {_KIND_CHECK},
    payload TEXT NOT NULL,
    time DOUBLE PRECISION NOT NULL,
    annotator TEXT NOT NULL DEFAULT '',
    uid TEXT UNIQUE
);
"""
# Appends take this transaction-scoped lock, so that rows commit in the order of their sequence
# numbers: a reader that has seen row n never finds a row below n later.
_APPEND_LOCK = 0x616E63686F72616C  # "anchoral"
RETRY_SECONDS = 30.0


class PostgresLog:
    """A PostgreSQL database shared by every kernel that labels the pool.

    A lost connection is made again, for up to ``retry_seconds``; past that the call raises
    :class:`StoreUnavailableError` having written nothing, and the next call tries again.
    """

    def __init__(self, url: str, retry_seconds: float = RETRY_SECONDS):
        try:
            import psycopg
        except ImportError as err:
            raise InputError(
                "a PostgreSQL store needs psycopg 3: pip install 'anchoral-widget[team]' (or psycopg[binary])"
            ) from err
        self._psycopg = psycopg
        self.url = url
        self.location = _without_password(url)
        self.retry_seconds = retry_seconds
        self._conn: Any = None
        try:
            self._connect()
        except psycopg.OperationalError as err:
            raise StoreUnavailableError(f"cannot reach the label store at {self.location}: {_first_line(err)}") from err
        self._retrying(self._create)

    def _connect(self) -> Any:
        if self._conn is None or self._conn.closed:
            self._conn = self._psycopg.connect(self.url, autocommit=True, connect_timeout=5)
        return self._conn

    def _create(self, conn: Any) -> None:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_APPEND_LOCK,))
            conn.execute(_PG_SCHEMA)

    def _retrying(self, work: Callable[[Any], T]) -> T:
        deadline = time.monotonic() + self.retry_seconds
        while True:
            try:
                return work(self._connect())
            except self._psycopg.OperationalError as err:
                if self._conn is not None:
                    self._conn.close()
                if time.monotonic() >= deadline:
                    raise StoreUnavailableError(
                        f"the label store at {self.location} cannot be reached ({_first_line(err)}); "
                        "nothing was written: try again once the server is back"
                    ) from err
                time.sleep(0.2)

    def meta(self) -> dict[str, str]:
        return dict(self._retrying(lambda c: c.execute("SELECT key, value FROM meta").fetchall()))

    def set_meta(self, values: dict[str, str]) -> None:
        def write(conn: Any) -> None:
            with conn.transaction():
                for key, value in values.items():
                    conn.execute(
                        "INSERT INTO meta VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                        (key, value),
                    )

        self._retrying(write)

    def append(self, kind: str, payload: str, annotator: str, uid: str) -> int:
        def write(conn: Any) -> int:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_APPEND_LOCK,))
                conn.execute(
                    "INSERT INTO log (kind, payload, time, annotator, uid) VALUES (%s, %s, %s, %s, %s) "
                    "ON CONFLICT (uid) DO NOTHING",
                    (kind, payload, time.time(), annotator, uid),
                )
                return int(conn.execute("SELECT seq FROM log WHERE uid = %s", (uid,)).fetchone()[0])

        return self._retrying(write)

    def rows(self, after: int = 0) -> list[Row]:
        found = self._retrying(
            lambda c: c.execute(
                "SELECT seq, kind, payload, annotator FROM log WHERE seq > %s ORDER BY seq", (after,)
            ).fetchall()
        )
        return [Row(*r) for r in found]

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()


def _without_password(url: str) -> str:
    """The URL as shown in messages: a password in it is not."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]
