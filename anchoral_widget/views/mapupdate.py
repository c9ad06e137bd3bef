"""The map's per-iteration update for the widget's front end: :func:`map_update_payload`
encodes what changed since the previous :class:`~anchoral_widget.views.mapstate.MapState` as a
small JSON header and binary buffers (format in its docstring; :func:`decode_payload` reads it
back, as ``js/src/mapdata.js`` does), with the trace declarations of :mod:`.styles`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from .hover import clip_text
from .mapstate import LAYERS, Layer, MapState, class_indices
from .styles import map_declarations, map_layout


def payload_declarations(state: MapState) -> list[dict]:
    """The declarations the widget's map gets with ``state``: pool hover on, the highlight and
    the selection."""
    return map_declarations(
        state.classes,
        state.minority,
        scored=state.subpool.values is not None,
        pool_hover=True,
        highlight=True,
        selection=True,
        whole_pool=True,
    )


def _buffer(buffers: list, array: np.ndarray, dtype: str) -> dict:
    array = np.ascontiguousarray(array, dtype=np.dtype(dtype).newbyteorder("<"))
    buffers.append(array.tobytes())
    return {"buffer": len(buffers) - 1, "dtype": dtype, "shape": list(array.shape)}


def _encode_layer(buffers: list, layer: Layer, value_name: str | None, value_dtype: str) -> dict:
    out = {"ids": _buffer(buffers, layer.ids, "int32"), "xy": _buffer(buffers, layer.xy, "float32")}
    if value_name is not None and layer.values is not None:
        out[value_name] = _buffer(buffers, layer.values, value_dtype)
    return out


_VALUES = {
    "pool": (None, ""),
    "subpool": ("scores", "float32"),
    "labelled": ("classes", "int32"),
    "anchors": ("classes", "int32"),
    "batch": ("anchor", "int32"),
}


def map_update_payload(
    previous: MapState | None, current: MapState, *, texts=None, text_chars: int = 120
) -> tuple[dict, list[bytes]]:
    """What the front end needs to go from ``previous`` to ``current``: a small JSON header
    and binary buffers (``widget.send(header, buffers)``).

    Format (version 2)::

        {"kind": "map_update", "version": 2, "iteration": int,
         "full": bool,               # true: drop every layer first (first message, new pool)
         "classes": [...], "minority": [...],                  # only when full
         "traces": [declaration, ...], "layout": {...},        # when full or changed
         "layers": {                 # a layer that is absent here is unchanged
            "pool":     {"ids": A, "xy": A},
            "subpool":  {"ids": A, "xy": A, "scores": A?},      # scores absent: unscored
            "labelled": {"mode": "append" | "replace", "ids": A, "xy": A, "classes": A},
            "anchors":  {"ids": A, "xy": A, "classes": A},
            "batch":    {"ids": A, "xy": A, "anchor": A}},      # anchor: pool id, -1 none
         "texts": {"<id>": "text", ...}}    # hover texts of ids not sent before (no pool)

    Every ``A`` is ``{"buffer": i, "dtype": "int32" | "float32", "shape": [n] or [n, 2]}``:
    buffer ``i`` holds the array's bytes, little-endian, C order (``xy`` is x0, y0, x1, y1,
    ...). ``classes`` are indices into ``classes``. Layers other than ``labelled`` are
    replaced whole; ``labelled`` appends the new items, or is replaced after an undo.
    ``traces`` are the map's trace declarations (:func:`map_declarations`, with the highlight
    trace last) and ``layout`` its plotly layout (:func:`map_layout`): the front end draws
    exactly these, filled with the layers' points; absent, the last ones stand.
    """
    full = previous is None or previous.classes != current.classes or not current.pool.same_as(previous.pool)
    buffers: list[bytes] = []
    header: dict[str, Any] = {"kind": "map_update", "version": 2, "iteration": current.iteration, "full": full}
    layers: dict[str, dict] = {}
    if full:
        header.update(
            classes=[_plain(c) for c in current.classes],
            minority=[_plain(c) for c in current.minority],
        )
    declarations = payload_declarations(current)
    if full or previous is None or declarations != payload_declarations(previous):
        header.update(traces=declarations, layout=map_layout())
    if full:
        layers["pool"] = _encode_layer(buffers, current.pool, None, "")
    for name in ("subpool", "anchors", "batch"):
        layer = getattr(current, name)
        if full or not layer.same_as(getattr(previous, name)):
            layers[name] = _encode_layer(buffers, layer, *_VALUES[name])
    old = None if full or previous is None else previous.labelled
    if old is None or not np.isin(old.ids, current.labelled.ids).all():
        layers["labelled"] = {"mode": "replace", **_encode_layer(buffers, current.labelled, "classes", "int32")}
    else:
        new = ~np.isin(current.labelled.ids, old.ids)
        if new.any():
            part = Layer(current.labelled.ids[new], current.labelled.xy[new], class_indices(current.labelled)[new])
            layers["labelled"] = {"mode": "append", **_encode_layer(buffers, part, "classes", "int32")}
    header["layers"] = layers
    if texts is not None:
        sent = set() if full else set(np.concatenate([getattr(previous, n).ids for n in LAYERS[1:]]).tolist())
        fresh: list[int] = []
        for name in LAYERS[1:]:
            if name in layers:
                fresh.extend(i for i in getattr(current, name).ids.tolist() if i not in sent)
        header["texts"] = {str(i): clip_text(texts[i], text_chars) for i in dict.fromkeys(fresh)}
    return header, buffers


def decode_payload(header: dict, buffers: Sequence[bytes]) -> dict:
    """The arrays of a :func:`map_update_payload` message: layer -> field -> array (what a
    front end does with typed arrays; for tests and for reading the format)."""
    out: dict[str, dict[str, Any]] = {}
    for name, fields in header["layers"].items():
        out[name] = {}
        for key, ref in fields.items():
            if key == "mode":
                out[name][key] = ref
                continue
            array = np.frombuffer(buffers[ref["buffer"]], dtype=np.dtype(ref["dtype"]).newbyteorder("<"))
            out[name][key] = array.reshape(ref["shape"])
    return out


def payload_bytes(header: dict, buffers: Sequence[bytes]) -> int:
    """Size of a message: its JSON header plus its buffers."""
    return len(json.dumps(header).encode()) + sum(len(b) for b in buffers)


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value
