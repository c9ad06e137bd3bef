"""Labels in and out of the loop: a DataFrame, and CSV / parquet / JSONL files by extension."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ...errors import InputError

if TYPE_CHECKING:
    from .active import ActiveLoop

FORMATS = (".csv", ".parquet", ".jsonl")
COLUMNS = ["id", "text", "label", "iteration", "time"]


def labels_frame(loop: ActiveLoop, texts: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per labelled item, in labelling order: id, text, label, iteration, time.

    ``iteration`` is the batch a label answered, -1 for labels given outside a batch;
    ``time`` is a UTC timestamp.
    """
    ids = loop.labelled_ids.tolist()
    meta = [loop.label_time(i) for i in ids]
    texts = texts if texts is not None else loop.texts
    return pd.DataFrame(
        {
            "id": pd.Series(ids, dtype="int64"),
            "text": pd.Series([texts[i] for i in ids] if texts is not None else [None] * len(ids), dtype="object"),
            "label": pd.Series([loop.classes[c] for c in loop.labelled_classes.tolist()], dtype="object"),
            "iteration": pd.Series([m[0] for m in meta], dtype="int64"),
            "time": pd.to_datetime([m[1] for m in meta], unit="s", utc=True),
        },
        columns=COLUMNS,
    )


def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"{path}: unknown format {suffix!r}; use one of {', '.join(FORMATS)}")
    return suffix


def export_labels(loop: ActiveLoop, path: str | os.PathLike[str], texts: Sequence[str] | None = None) -> Path:
    """Write the labels to ``path`` (format by extension), atomically."""
    path = Path(path)
    fmt = _format(path)
    frame = labels_frame(loop, texts)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    if fmt == ".csv":
        frame.to_csv(tmp, index=False)
    elif fmt == ".parquet":
        frame.to_parquet(tmp, index=False)
    else:
        frame.to_json(tmp, orient="records", lines=True, date_format="iso")
    os.replace(tmp, path)
    return path


def read_labels(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a labels file written by :func:`export_labels` or made elsewhere (needs id, label)."""
    path = Path(path)
    fmt = _format(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    try:
        if fmt == ".csv":
            frame = pd.read_csv(path, dtype={"label": object})
        elif fmt == ".parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_json(path, orient="records", lines=True, dtype={"label": object})
    except Exception as err:  # pandas raises many types for a malformed file
        raise InputError(f"{path}: cannot be read as {fmt[1:]}: {err}") from err
    missing = [c for c in ("id", "label") if c not in frame.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {missing}; a labels file needs 'id' and 'label'")
    return frame


def import_labels(loop: ActiveLoop, path: str | os.PathLike[str], texts: Sequence[str] | None = None) -> int:
    """Add the labels in ``path`` to the loop, all or nothing; returns how many were new.

    Ids must be in range and labels among the classes. An item already labelled the same way is
    left alone; one labelled differently is a conflict and nothing is imported. If the file has
    a ``text`` column and the pool's texts are known, each text must match its id's text.
    """
    frame = read_labels(path)
    if frame["id"].isna().any() or frame["label"].isna().any():
        raise InputError(
            f"{path}: empty id or label in rows {frame.index[frame['id'].isna() | frame['label'].isna()][:5].tolist()}"
        )
    ids = frame["id"].to_numpy()
    if not np.issubdtype(ids.dtype, np.integer):
        raise InputError(f"{path}: ids must be integers")
    by_name = {str(c): c for c in loop.classes}
    labels = [by_name.get(str(v), v) for v in frame["label"].tolist()]
    if len(set(ids.tolist())) != len(ids):
        raise InputError(f"{path}: the same id appears more than once")
    texts = texts if texts is not None else loop.texts
    if "text" in frame.columns and texts is not None:
        wrong = [
            int(i) for i, t in zip(ids, frame["text"]) if 0 <= i < len(texts) and isinstance(t, str) and t != texts[i]
        ]
        if wrong:
            raise InputError(f"{path}: texts do not match the pool at ids {wrong[:5]} (labels for another pool?)")
    current = loop.labels
    conflicts = [int(i) for i, lab in zip(ids, labels) if int(i) in current and current[int(i)] != lab]
    if conflicts:
        raise InputError(f"{path}: ids {conflicts[:5]} are already labelled differently; nothing imported")
    new = [(int(i), lab) for i, lab in zip(ids, labels) if int(i) not in current]
    if new:
        loop.label([i for i, _ in new], [lab for _, lab in new])
    return len(new)
