"""What a point of the map says on hover: all the map knows of it (:func:`point_details`),
its text clipped and escaped, and values written as the front end writes them
(``js/src/mapdata.js`` builds the same lines from the same declarations).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

from .mapstate import MapState, class_indices


def point_details(state: MapState, *, uncertainty=None, decimals: int = 3) -> dict[int, str]:
    """Each point of the coloured layers, described by all the map knows of it: its class (and
    whether it is an anchor) if labelled; else its rank in the subpool by AnchorAL score and
    the score, its rank in the batch (the order the strategy picked it in) and the anchor that
    retrieved it, and ``uncertainty[id]`` (the model's, when given). Hover shows this line
    whichever layer answers: an anchor is also a labelled point and a batch item a subpool
    point, at the same place, and plotly's hover takes the first of two equally near points.
    """
    classes = state.classes
    out: dict[int, str] = {}
    for i, c in zip(state.labelled.ids.tolist(), class_indices(state.labelled).tolist()):
        out[i] = f"labelled {classes[c]}"
    for i, c in zip(state.anchors.ids.tolist(), class_indices(state.anchors).tolist()):
        out[i] = f"anchor, labelled {classes[c]}"
    parts: dict[int, list[str]] = {}
    sub = state.subpool
    if len(sub):
        order = np.arange(len(sub)) if sub.values is None else np.argsort(-sub.values, kind="stable")
        size = f"{len(sub):,}"
        for rank, k in enumerate(order.tolist(), 1):
            line = f"subpool rank {rank} of {size}"
            if sub.values is not None:
                line += f", score {format_value(sub.values[k], decimals)}"
            parts[int(sub.ids[k])] = [line]
    batch = state.batch
    anchor_class = dict(zip(state.anchors.ids.tolist(), class_indices(state.anchors).tolist()))
    for rank, i in enumerate(batch.ids.tolist(), 1):
        line = f"batch rank {rank} of {len(batch)}"
        via = None if batch.values is None else int(batch.values[rank - 1])
        if via is not None and via >= 0:
            line += f", via anchor #{via}"
            if via in anchor_class:
                line += f" ({classes[anchor_class[via]]})"
        parts[i] = [line, *parts.get(i, [])]
    for i, lines in parts.items():
        if uncertainty is not None and i in uncertainty:
            lines.append(f"uncertainty {format_value(uncertainty[i], decimals)}")
        out[i] = " · ".join(lines)
    return out


def escape_hover(text) -> str:
    """Text for plotly's hover label, which reads a little HTML: escaped, so it shows as typed."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def format_value(value, decimals: int | None) -> str:
    """As JavaScript's ``toFixed(decimals)`` (half away from zero) or ``String(value)`` writes it."""
    value = float(value)
    if decimals is None:
        return str(int(value)) if value.is_integer() else repr(value)
    if value == 0:
        value = 0.0  # no "-0.000"
    return str(Decimal(value).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP))


def _text_getter(texts):
    """id -> text or None, from a sequence, a mapping id -> text, or None."""
    if texts is None:
        return lambda i: None
    return texts.get if isinstance(texts, Mapping) else texts.__getitem__


def hover_lines(ids: np.ndarray, values, spec: dict, texts, text_chars: int, details=None) -> list[str]:
    """Each point's hover line, as a declaration's ``hover`` spec words it (see
    :func:`~anchoral_widget.views.styles.map_declarations`); ``details``: id -> the whole line
    (:func:`point_details`), in place of the layer's own."""
    label, template = spec.get("label"), spec.get("value")
    low, decimals = spec.get("min"), spec.get("decimals")
    head = "" if label is None else f" {label}"
    text_of = _text_getter(texts if text_chars > 0 else None)
    details = details or {}
    out = []
    for n, i in enumerate(ids.tolist()):
        line = f"#{i}{head}"
        if i in details:
            line = f"#{i} {details[i]}"
        elif template is not None and values is not None and (low is None or values[n] >= low):
            line += template.replace("{}", format_value(values[n], decimals))
        text = text_of(i)
        if text is not None:
            text = clip_text(text, text_chars)
            line += "<br>" + (escape_hover(text) if "&" in text or "<" in text or ">" in text else text)
        out.append(line)
    return out


def clip_text(text, chars: int) -> str:
    """``text`` cut to ``chars`` characters, an ellipsis last when cut."""
    text = str(text)
    return text if len(text) <= chars else text[: chars - 1] + "…"
