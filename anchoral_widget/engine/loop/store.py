"""A durable label store: one append-only log of everything the loop did, in a SQLite file (the
embedded default, WAL mode) or a PostgreSQL database (a team's shared store).

Every ``label``, ``skip``, ``correct``, ``resolve``, ``undo`` and ``propose`` is one row, committed
before the loop's call returns, so an acknowledged label survives a kernel crash. Each row says
who wrote it (its annotator). Reopening the store on the same pool replays the log: the same
labelled set, the same history, the same pending batch. Nothing is ever deleted: an undo is a
row of its own.
"""

from __future__ import annotations

import json
import os
import time
import uuid
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import InputError
from .store_backends import Row, SqliteLog, open_backend

# 2: corrections of past labels (``correct`` rows); 3: who wrote each row, a uid per row
# (written once when retried), ``resolve`` rows
SCHEMA_VERSION = 3


def _json(value: Any) -> str:
    def default(v: Any) -> Any:
        if isinstance(v, np.ndarray):
            return v.tolist()
        if isinstance(v, np.generic):
            return v.item()
        raise TypeError(f"cannot store {type(v).__name__}")

    return json.dumps(value, default=default, allow_nan=True)


class LabelStore:
    """The log behind a loop, in a SQLite file or a PostgreSQL database.

    Parameters
    ----------
    location : str or Path
        A SQLite file (created if missing) or a ``postgresql://user@host:port/database`` URL
        (the database must exist; its tables are created on first use).
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
        location: str | os.PathLike[str],
        *,
        fingerprint: str | list[str],
        classes: list[Any],
        config: dict[str, Any] | None = None,
    ):
        identities = [fingerprint] if isinstance(fingerprint, str) else list(fingerprint)
        self._backend = open_backend(location)
        self.location = self._backend.location
        meta = self._backend.meta()
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
            meta = self._backend.meta()
        if json.loads(meta.get("schema", "0")) in (1, 2) and isinstance(self._backend, SqliteLog):
            self._set_meta({"schema": SCHEMA_VERSION})  # the backend brought the log up to date
            meta = self._backend.meta()
        self._check(meta, identities, classes, config)

    @property
    def path(self) -> Path | None:
        """The SQLite file, or None for a database server."""
        return self._backend.path if isinstance(self._backend, SqliteLog) else None

    @property
    def where(self) -> Path | str:
        """The SQLite file, or the server's URL (less any password)."""
        return self.path if self.path is not None else self.location

    @property
    def shared(self) -> bool:
        """Whether the store is on a database server (kernels elsewhere may write to it)."""
        return not isinstance(self._backend, SqliteLog)

    def _set_meta(self, values: dict[str, Any]) -> None:
        self._backend.set_meta({key: _json(value) for key, value in values.items()})

    def _check(
        self, meta: dict[str, str], identities: list[str], classes: list[Any], config: dict[str, Any] | None
    ) -> None:
        if json.loads(meta.get("schema", "0")) != SCHEMA_VERSION:
            raise InputError(
                f"{self.location} was written by another version of the store (schema {meta.get('schema')})"
            )
        if json.loads(meta["fingerprint"]) not in identities:
            raise InputError(
                f"{self.location} holds labels for another pool (different texts, embeddings or encoder); "
                "open it with the pool it was made for, or use a new store"
            )
        stored_classes = json.loads(meta["classes"])
        if stored_classes != json.loads(_json(list(classes))):
            raise InputError(f"{self.location} was made with classes {stored_classes}, not {list(classes)}")
        if config is None:
            return
        stored_config = json.loads(meta["config"])
        changed = sorted(k for k in set(stored_config) | set(config) if stored_config.get(k) != config.get(k))
        if changed:
            warnings.warn(
                f"{self.location}: the loop's configuration changed since the store was made ({', '.join(changed)}); "
                "labels are kept, the history goes on under the new configuration",
                stacklevel=3,
            )
            self._set_meta({"config": config})

    def append(self, kind: str, payload: dict[str, Any], annotator: str = "") -> int:
        """Write one log row and commit it; returns its sequence number."""
        return self._backend.append(kind, _json(payload), annotator, uuid.uuid4().hex)

    def rows(self, after: int = 0) -> list[Row]:
        """The rows after sequence number ``after``, oldest first."""
        return self._backend.rows(after)

    def log(self) -> list[tuple[str, dict[str, Any]]]:
        """Every row, oldest first, as ``(kind, payload)``."""
        return [(row.kind, json.loads(row.payload)) for row in self.rows()]

    @property
    def meta(self) -> dict[str, Any]:
        return {k: json.loads(v) for k, v in self._backend.meta().items()}

    def close(self) -> None:
        self._backend.close()
