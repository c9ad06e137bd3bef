"""A Milvus collection as the pool's index (``pymilvus``): for pools beyond one machine.

The client code is the same for a Milvus cluster (``milvus://host:19530/collection``) and for
milvus-lite (``milvus:///path/to/pool.db/collection``), which serves the same API from a local
folder. milvus-lite is a stand-in for tests and small pools: its speed says nothing of a
cluster's.

One collection holds one pool: a primary key ``id`` (the row in the pool) and a ``vector`` field
(unit float32 rows, cosine metric). Its properties record the embeddings' fingerprint, the pool's
size and whether the upload finished, so a restarted kernel reconnects to the collection it
built, without uploading anything, and a collection built from other embeddings is refused.
Labelled and skipped items are excluded by the search's own filter (``id not in [...]``), evaluated
inside the engine: nothing is fetched only to be dropped.

Faults: an unreachable or dead server raises :class:`~.base.IndexUnavailableError` (nothing in the
loop changes, so no label is lost); the next query reconnects, reloads the collection if the
server came back without it, and carries on.
"""

from __future__ import annotations

import logging
import threading
import warnings
from typing import Any

import numpy as np

from ....errors import InputError
from .base import IndexUnavailableError, as_unit_matrix, best_first, empty_answer, exclusion
from .spec import IndexSpec, parse_index

ID_FIELD = "id"
VECTOR_FIELD = "vector"
PROP_FINGERPRINT = "anchoral.fingerprint"
PROP_SIZE = "anchoral.size"
PROP_STATE = "anchoral.state"
#: Rows sent per insert call while uploading a pool.
UPLOAD_BATCH = 5_000
#: Seconds each call to the server may take before it counts as unanswered.
TIMEOUT = 30.0
#: Milvus answers at most this many neighbours per query.
MAX_TOPK = 16_384
#: The index the collection is built with: a cluster picks its own (AUTOINDEX); milvus-lite,
#: a stand-in for tests, searches exactly (FLAT).
SERVER_INDEX = "AUTOINDEX"
LITE_INDEX = "FLAT"
_NOTHING_LOST = "Nothing was changed and no label is lost: try again once the server is back"


def _pymilvus() -> Any:
    try:
        import pymilvus
    except ImportError as err:  # pragma: no cover - pymilvus is in the "scale" extra
        raise InputError("a milvus:// index needs pymilvus: pip install 'anchoral-widget[scale]'") from err
    return pymilvus


def _is_unreachable(err: Exception) -> bool:
    """Whether a pymilvus error means the server did not answer (as opposed to a bad request)."""
    text = str(err).lower()
    code = getattr(err, "code", None)
    return code in (1, 2) or any(
        word in text for word in ("fail connecting", "unavailable", "deadline", "timed out", "connection refused")
    )


def _not_loaded(err: Exception) -> bool:
    text = str(err).lower()
    return "released" in text or "not loaded" in text or "load() before" in text or "collection not loaded" in text


def collection_name(fingerprint: str) -> str:
    """The collection a pool gets when ``index=`` names none: after its embeddings' fingerprint."""
    return f"anchoral_{fingerprint[:24]}"


class MilvusIndex:
    """Cosine search in a Milvus collection; labelled items excluded by a filter on ``id``.

    Made by :meth:`connect`, which finds the pool's collection (checked by fingerprint) or
    builds it.
    """

    def __init__(
        self,
        uri: str,
        collection: str,
        *,
        dim: int,
        size: int,
        fingerprint: str,
        token: str | None = None,
        timeout: float = TIMEOUT,
        search_params: dict[str, Any] | None = None,
        db_name: str | None = None,
    ):
        self.uri = uri
        self.collection = collection
        self.dim = int(dim)
        self.size = int(size)
        self.fingerprint = fingerprint
        self.timeout = float(timeout)
        self.search_params = dict(search_params or {})
        self._token = token
        self._db_name = db_name
        self._client: Any = None
        self._lock = threading.Lock()

    # ---- connection ---------------------------------------------------------------------------

    def _new_client(self) -> Any:
        pymilvus = _pymilvus()
        # a connection of its own: closing it after a failure really drops the broken channel
        kwargs: dict[str, Any] = {"uri": self.uri, "timeout": self.timeout, "dedicated": True}
        if self._token:
            kwargs["token"] = self._token
        if self._db_name:
            kwargs["db_name"] = self._db_name
        try:
            return pymilvus.MilvusClient(**kwargs)
        except Exception as err:
            raise IndexUnavailableError(
                f"cannot reach the Milvus server at {self.uri} ({first_line(err)}); is it running and "
                f"reachable? {_NOTHING_LOST}"
            ) from err

    @property
    def client(self) -> Any:
        """The pymilvus client, connected on first use and again after a failure."""
        if self._client is None:
            self._client = self._new_client()
        return self._client

    def close(self) -> None:
        """Close the connection (the collection stays on the server)."""
        client, self._client = self._client, None
        if client is not None:
            try:
                client.close()
            except Exception as err:  # closing a dead connection is not worth an error
                logging.getLogger(__name__).debug("closing the Milvus client: %s", err)

    def drop(self) -> None:
        """Delete the collection from the server."""
        self.client.drop_collection(self.collection, timeout=self.timeout)
        self.close()

    @classmethod
    def connect(
        cls,
        spec: str | IndexSpec,
        embeddings: np.ndarray | None = None,
        *,
        fingerprint: str,
        collection: str | None = None,
        build: bool = True,
        index_type: str | None = None,
        index_params: dict[str, Any] | None = None,
        search_params: dict[str, Any] | None = None,
        timeout: float | None = None,
        token: str | None = None,
        batch_size: int = UPLOAD_BATCH,
        progress: bool = False,
    ) -> MilvusIndex:
        """The pool's collection at ``spec`` (a ``milvus://`` string): found by name (or, when the
        spec names none, by the pool's fingerprint) and checked, or built from ``embeddings``.

        Raises :class:`InputError` for a collection built from other embeddings or of another
        dimension, :class:`~.base.IndexUnavailableError` when the server does not answer.
        """
        parsed = parse_index(spec) if isinstance(spec, str) else spec
        if parsed.kind != "milvus" or parsed.uri is None:
            raise InputError(f"{spec!r} is not a Milvus index (milvus://host:port/collection)")
        opts = parsed.options
        name = collection or parsed.collection or collection_name(fingerprint)
        dim = None if embeddings is None else int(embeddings.shape[1])
        size = None if embeddings is None else int(embeddings.shape[0])
        index = cls(
            parsed.uri,
            name,
            dim=dim or 0,
            size=size or 0,
            fingerprint=fingerprint,
            token=token or (str(opts["token"]) if "token" in opts else None),
            timeout=float(timeout or opts.get("timeout") or TIMEOUT),  # type: ignore[arg-type]
            search_params=search_params,
            db_name=str(opts["db_name"]) if "db_name" in opts else None,
        )
        kind = index_type or (str(opts["index_type"]) if "index_type" in opts else None)
        kind = kind or (LITE_INDEX if parsed.local else SERVER_INDEX)
        index._open(
            embeddings,
            build=build,
            index_type=kind,
            index_params=index_params,
            batch_size=batch_size,
            progress=progress,
        )
        return index

    def _call(self, what: str, fn: Any) -> Any:
        """Run ``fn(client)``; a server that does not answer becomes IndexUnavailableError."""
        try:
            return fn(self.client)
        except IndexUnavailableError:
            raise
        except Exception as err:
            if _is_unreachable(err):
                self.close()
                raise IndexUnavailableError(
                    f"the Milvus server at {self.uri} did not answer while {what} ({first_line(err)}). {_NOTHING_LOST}"
                ) from err
            raise

    def _open(
        self,
        embeddings: np.ndarray | None,
        *,
        build: bool,
        index_type: str,
        index_params: dict[str, Any] | None,
        batch_size: int,
        progress: bool,
    ) -> None:
        name, timeout = self.collection, self.timeout
        exists = self._call("looking for the collection", lambda c: c.has_collection(name, timeout=timeout))
        if exists:
            desc = self._call("reading the collection", lambda c: c.describe_collection(name, timeout=timeout))
            props = desc.get("properties", {}) or {}
            stored_fp = props.get(PROP_FINGERPRINT)
            if stored_fp != self.fingerprint:
                raise InputError(
                    f"collection {name!r} at {self.uri} was built from other embeddings "
                    f"(fingerprint {str(stored_fp)[:12]}..., this pool's is {self.fingerprint[:12]}...): "
                    "name another collection in index=, or drop that one"
                )
            stored_dim = _vector_dim(desc)
            if self.dim and stored_dim != self.dim:
                raise InputError(f"collection {name!r} holds {stored_dim}-d vectors, the pool has {self.dim}-d")
            self.dim = stored_dim
            stored_size = int(props.get(PROP_SIZE, -1))
            if self.size and stored_size != self.size:
                raise InputError(f"collection {name!r} holds {stored_size} items, the pool has {self.size}")
            self.size = stored_size
            if props.get(PROP_STATE) == "complete":
                self._call("loading the collection", lambda c: c.load_collection(name, timeout=timeout))
                return
            if not build or embeddings is None:
                raise InputError(
                    f"collection {name!r} at {self.uri} was left half-built: pass the embeddings to rebuild it"
                )
            warnings.warn(f"collection {name!r} at {self.uri} was left half-built; uploading it again", stacklevel=3)
            self._call("dropping a half-built collection", lambda c: c.drop_collection(name, timeout=timeout))
        elif not build or embeddings is None:
            raise InputError(f"no collection {name!r} at {self.uri}: pass the pool's embeddings to build it")
        assert embeddings is not None
        self._build(embeddings, index_type, index_params or {}, batch_size, progress)

    def _build(
        self, embeddings: np.ndarray, index_type: str, index_params: dict[str, Any], batch_size: int, progress: bool
    ) -> None:
        pymilvus = _pymilvus()
        name, timeout = self.collection, self.timeout
        n, dim = embeddings.shape
        schema = pymilvus.MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field(ID_FIELD, pymilvus.DataType.INT64, is_primary=True)
        schema.add_field(VECTOR_FIELD, pymilvus.DataType.FLOAT_VECTOR, dim=int(dim))
        params = pymilvus.MilvusClient.prepare_index_params()
        params.add_index(field_name=VECTOR_FIELD, index_type=index_type, metric_type="COSINE", params=index_params)
        props = {PROP_FINGERPRINT: self.fingerprint, PROP_SIZE: str(n), PROP_STATE: "building"}
        self._call(
            "creating the collection",
            lambda c: c.create_collection(name, schema=schema, index_params=params, properties=props, timeout=timeout),
        )
        starts = range(0, n, batch_size)
        if progress:
            from tqdm.auto import tqdm

            starts = tqdm(starts, desc="uploading to Milvus", unit="batch")
        for start in starts:
            block = np.asarray(embeddings[start : start + batch_size], dtype=np.float32)
            block = block / np.maximum(np.linalg.norm(block, axis=1, keepdims=True), 1e-12)
            rows = [{ID_FIELD: start + i, VECTOR_FIELD: vec} for i, vec in enumerate(block)]
            self._call("uploading the pool", lambda c, rows=rows: c.insert(name, rows, timeout=timeout))
        self._call("flushing the upload", lambda c: c.flush(name, timeout=timeout))
        # written last: a collection whose upload was cut short is never taken for the pool
        self._call(
            "marking the upload finished",
            lambda c: c.alter_collection_properties(name, properties={PROP_STATE: "complete"}, timeout=timeout),
        )
        self._call("loading the collection", lambda c: c.load_collection(name, timeout=timeout))

    # ---- queries ----------------------------------------------------------------------------

    def query(self, vectors: np.ndarray, k: int, exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, similarities)`` of the ``k`` nearest eligible items, best first, padded with
        -1 / -inf. Excluded items are filtered out by the server's search (``id not in [...]``)."""
        queries = as_unit_matrix(vectors, self.dim)
        k = int(k)
        excluded = exclusion(exclude, self.size)
        if k <= 0 or len(queries) == 0:
            return empty_answer(len(queries), max(k, 0))
        if k > MAX_TOPK:
            raise InputError(f"Milvus answers at most {MAX_TOPK} neighbours per query, {k} were asked for")
        limit = min(k, self.size - len(excluded))
        if limit <= 0:
            return empty_answer(len(queries), k)
        expr = f"{ID_FIELD} not in [{','.join(map(str, excluded.tolist()))}]" if len(excluded) else ""
        search = {"metric_type": "COSINE", "params": self.search_params}
        name, timeout = self.collection, self.timeout

        def run(client: Any) -> Any:
            return client.search(
                name,
                data=queries.tolist(),
                limit=limit,
                filter=expr,
                anns_field=VECTOR_FIELD,
                search_params=search,
                output_fields=[],
                timeout=timeout,
            )

        with self._lock:
            try:
                hits = self._call("searching", run)
            except IndexUnavailableError:
                # one reconnection: a server that came back answers the same query
                hits = self._call("searching", run)
            except Exception as err:
                if not _not_loaded(err):
                    raise
                # a server restarted without loading the collection: load it and ask again
                self._call("loading the collection", lambda c: c.load_collection(name, timeout=timeout))
                hits = self._call("searching", run)
        ids, sims = empty_answer(len(queries), k)
        for row, row_hits in enumerate(hits):
            for col, hit in enumerate(list(row_hits)[:k]):
                ids[row, col] = int(hit["id"])
                sims[row, col] = float(hit["distance"])
        if len(excluded) and (ids >= 0).any() and np.isin(ids[ids >= 0], excluded).any():
            raise RuntimeError(
                f"Milvus at {self.uri} returned excluded items despite the filter"
            )  # never trust silently
        return best_first(ids, sims, k)

    def __repr__(self) -> str:
        return f"MilvusIndex({self.uri!r}, collection={self.collection!r}, {self.size} x {self.dim})"


def _vector_dim(desc: dict[str, Any]) -> int:
    for fld in desc.get("fields", []):
        if fld.get("name") == VECTOR_FIELD:
            return int(fld.get("params", {}).get("dim", 0))
    raise InputError(f"collection {desc.get('collection_name')!r} has no {VECTOR_FIELD!r} field: it is not a pool's")


def first_line(err: Exception) -> str:
    """A one-line reason: a gRPC error's status and details, else the error's first line."""
    code, details = getattr(err, "code", None), getattr(err, "details", None)
    if callable(code) and callable(details):
        try:
            return f"{getattr(code(), 'name', code())}: {details()}"
        except Exception:  # a gRPC error without a status: fall back to its text
            pass
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__
