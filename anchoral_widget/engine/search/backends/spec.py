"""What ``index=`` may say, parsed once: a kind, its options, and for a server where it is.

==========================================  ===============================================
``"auto"``, ``"exact"``, ``"hnsw"``         the in-process indexes of :mod:`..index`
``"faiss"``                                 FAISS, IVF with product quantisation (the default)
``"faiss:hnsw"``, ``"faiss:flat"``          FAISS HNSW over float32 vectors; FAISS exact
``"faiss:ivfpq?nlist=4096&m=48&nprobe=64"`` FAISS with its settings given
``"milvus://host:19530/collection"``        a Milvus server or cluster (``milvus+https://``
                                            for TLS; ``?token=user:password``)
``"milvus:///path/to/pool.db/collection"``  a local milvus-lite file (a stand-in for tests)
==========================================  ===============================================

A Milvus collection name may be left out (``milvus://host:19530``): the collection is then
named after the pool's fingerprint, so a restarted kernel finds it again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from ....errors import InputError

IN_PROCESS = ("auto", "exact", "hnsw")
FAISS_TYPES = ("ivfpq", "hnsw", "flat")
FAISS_OPTIONS = {
    "nlist": int,
    "m": int,
    "nbits": int,
    "nprobe": int,
    "ef_search": int,
    "refine": int,
    "train_size": int,
}
MILVUS_OPTIONS = ("token", "index_type", "timeout", "db_name")
MILVUS_DEFAULT_PORT = 19530
_COLLECTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")
_KINDS_HELP = (
    "'auto', 'exact', 'hnsw', 'faiss' (or 'faiss:ivfpq', 'faiss:hnsw', 'faiss:flat'), "
    "'milvus://host:port/collection' or 'milvus:///path/to/file.db/collection'"
)


@dataclass(frozen=True)
class IndexSpec:
    """A parsed ``index=`` string.

    ``kind`` is one of ``auto``, ``exact``, ``hnsw``, ``faiss``, ``milvus``; ``variant`` the FAISS
    index type; ``uri`` where a Milvus server is (``http(s)://host:port``) or the milvus-lite
    file; ``collection`` the collection's name, None for one named after the pool.
    """

    kind: str
    variant: str | None = None
    options: dict[str, object] = field(default_factory=dict)
    uri: str | None = None
    collection: str | None = None

    @property
    def local(self) -> bool:
        """Whether a Milvus spec names a milvus-lite file rather than a server."""
        return self.kind == "milvus" and self.uri is not None and not self.uri.startswith(("http://", "https://"))


def _options(query: str, allowed: Iterable[str], what: str) -> dict[str, str]:
    pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=False)
    out = {}
    for key, value in pairs:
        if key not in allowed:
            raise InputError(f"unknown {what} option {key!r} in index=; known: {', '.join(sorted(allowed))}")
        out[key] = value
    return out


def parse_index(spec: str) -> IndexSpec:
    """Parse an ``index=`` string; an :class:`InputError` names what is wrong with a bad one."""
    if not isinstance(spec, str):
        raise InputError(f"index= must be a string or a built index, got {type(spec).__name__}")
    text = spec.strip()
    if text in IN_PROCESS:
        return IndexSpec(text)
    if text == "faiss" or text.startswith(("faiss:", "faiss?")):
        rest = text[len("faiss") :].lstrip(":")
        variant, _, query = rest.partition("?")
        variant = variant or "ivfpq"
        if variant not in FAISS_TYPES:
            raise InputError(f"unknown FAISS index type {variant!r} in {spec!r}; choose from {', '.join(FAISS_TYPES)}")
        options: dict[str, object] = {}
        for key, value in _options(query, FAISS_OPTIONS, "FAISS").items():
            try:
                options[key] = FAISS_OPTIONS[key](value)
            except ValueError:
                raise InputError(f"FAISS option {key}={value!r} in {spec!r} is not a whole number") from None
            if int(options[key]) < 1:  # type: ignore[call-overload]
                raise InputError(f"FAISS option {key} must be at least 1, got {value}")
        return IndexSpec("faiss", variant, options)
    if text.startswith(("milvus:", "milvus+https:", "milvus+http:")):
        return _parse_milvus(spec, text)
    raise InputError(f"unknown index {spec!r}; use {_KINDS_HELP}")


def _parse_milvus(spec: str, text: str) -> IndexSpec:
    parts = urlsplit(text)
    options: dict[str, object] = dict(_options(parts.query, MILVUS_OPTIONS, "Milvus"))
    if "timeout" in options:
        try:
            options["timeout"] = float(str(options["timeout"]))
        except ValueError:
            raise InputError(f"Milvus timeout in {spec!r} must be a number of seconds") from None
    if parts.netloc:  # a server
        scheme = "https" if parts.scheme == "milvus+https" else "http"
        try:
            port = parts.port or MILVUS_DEFAULT_PORT
        except ValueError:
            raise InputError(f"the port in {spec!r} is not a number") from None
        if not parts.hostname:
            raise InputError(f"no host in {spec!r}; write milvus://host:port/collection")
        if parts.username:
            options.setdefault("token", f"{unquote(parts.username)}:{unquote(parts.password or '')}")
        collection = parts.path.strip("/") or None
        if collection and "/" in collection:
            raise InputError(f"{spec!r}: the path after host:port is one collection name, got {collection!r}")
        uri = f"{scheme}://{parts.hostname}:{port}"
    else:  # a milvus-lite file: milvus:///abs/pool.db/collection or milvus:rel/pool.db/collection
        path = unquote(parts.path)
        head, sep, tail = path.partition(".db")
        if not sep or (tail and not tail.startswith("/")):
            raise InputError(
                f"{spec!r} names neither a server (milvus://host:port/collection) "
                "nor a local file (milvus:///path/to/file.db/collection)"
            )
        uri = head + sep
        collection = tail.strip("/") or None
    if collection is not None and not _COLLECTION_NAME.match(collection):
        raise InputError(
            f"Milvus collection name {collection!r} is not valid: "
            "letters, digits and underscores, not starting with a digit"
        )
    return IndexSpec("milvus", None, options, uri, collection)
