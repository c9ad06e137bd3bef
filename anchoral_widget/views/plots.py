"""The map of the pool, as pure functions (the live curves are in :mod:`.curves`).

- :func:`map_state` gathers one iteration's layers (the pool, or a sample of it for a static
  figure; subpool with its scores, labelled items, anchors, batch) with their 2-D positions;
- :func:`map_declarations` declares the map's traces, bottom first: uid, name, renderer, marker
  style, legend group and hover wording of each. It is the only place that does. The static
  figures (:func:`map_figure`, the replay of :mod:`~anchoral_widget.replay.compare`) fill the
  declarations with :func:`map_traces`; the widget's front end (``js/src/mapdata.js``) gets
  them in the map message and fills them with the decoded buffers, the same way;
- :func:`map_update_payload` encodes what changed since the previous state for the front end
  (format in its docstring; :func:`decode_payload` reads it back).

One visual vocabulary, for every map:

- the pool (the widget draws all of it, shaded by density when zoomed out; a static figure a
  sample): small faint grey dots, the background; subpool: green dots, darker for a higher
  AnchorAL score (the colour bar says which), one green when the pool filter gives no score;
  in a simulation, the minority items nobody has labelled yet: red crosses;
- labelled items: dots in their class's colour (warm colours for the minority classes, cool
  ones for the others, see-through: they are many); the batch: big magenta rings; anchors: big
  stars in their class's colour, outlined in black, above the batch's rings (a ring never
  hides an anchor); a card's point and its anchor, on hover: black rings; the widget's lasso
  selection: points in the selection colour;
- drawn bottom to top in that order (the minority's layers above the majority's). In a static
  figure every layer is on the same plotly renderer (WebGL): plotly draws every WebGL trace
  above every SVG one, so a layer on another renderer would not keep its place. The widget
  draws the pool with WebGL and the layers above it on a canvas over it, in this order.

Every trace has a ``uid`` naming its layer (``"pool"``, ``"subpool"``, ``"truth"``,
``"labelled-<class index>"``, ``"batch"``, ``"anchors-<class index>"``, ``"highlight"``: no
colons, since plotly builds CSS selectors from uids) and ``customdata`` holding pool ids, so a
front end or a test can find a layer and its points.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np

POOL_COLOUR = "#9e9e9e"
SUBPOOL_COLOUR = "#41ab5d"  # subpools without scores (randsub, none)
SUBPOOL_COLOURSCALE = [[0.0, "#c7e9c0"], [0.5, "#41ab5d"], [1.0, "#00441b"]]
BATCH_COLOUR = "#e6007e"
HIGHLIGHT_COLOUR = "#000000"
SELECTION_COLOUR = "#000000"  # the lasso's points: black among the grey pool, no class's colour
MINORITY_COLOURS = ("#d62728", "#ff7f0e", "#9467bd", "#8c564b", "#e7ba52", "#7b4173")
MAJORITY_COLOURS = ("#1f77b4", "#17becf", "#393b79", "#6b6ecf", "#9edae5", "#5254a3")
ANCHOR_SYMBOL = "star"
BATCH_SYMBOL = "circle-open"
MAJORITY_LABELLED_OPACITY = 0.55
#: One renderer for every layer, so that the order of the traces is the order drawn.
RENDERER = "scattergl"
LAYERS = ("pool", "subpool", "labelled", "anchors", "batch")
#: Where a highlighted id is looked up, first match wins.
_POSITION_ORDER = ("batch", "anchors", "labelled", "subpool", "pool")


def class_colours(classes: Sequence, minority: Sequence) -> dict:
    """Class name -> colour: warm colours for minority classes, cool ones for the others, in
    class order, so the same classes always get the same colours."""
    minority_set = set(minority)
    out, m, o = {}, 0, 0
    for c in classes:
        if c in minority_set:
            out[c] = MINORITY_COLOURS[m % len(MINORITY_COLOURS)]
            m += 1
        else:
            out[c] = MAJORITY_COLOURS[o % len(MAJORITY_COLOURS)]
            o += 1
    return out


# ---- the map's data ---------------------------------------------------------------------


def _ids(a) -> np.ndarray:
    return np.asarray(a, dtype=np.int64).reshape(-1)


@dataclass(frozen=True)
class Layer:
    """Points of one layer: pool ids, their (n, 2) positions and one value per point (the
    subpool's score, the labelled items' and anchors' class index, the batch items' anchor)."""

    ids: np.ndarray
    xy: np.ndarray
    values: np.ndarray | None = None

    @classmethod
    def empty(cls) -> Layer:
        return cls(np.empty(0, np.int64), np.empty((0, 2), np.float32))

    def __len__(self) -> int:
        return len(self.ids)

    def same_as(self, other: Layer | None) -> bool:
        if other is not None and self.ids is other.ids and self.xy is other.xy and self.values is other.values:
            return True  # the whole pool: the projection's arrays, not compared row by row
        if other is None or not np.array_equal(self.ids, other.ids) or not np.array_equal(self.xy, other.xy):
            return False
        if (self.values is None) != (other.values is None):
            return False
        return self.values is None or other.values is None or np.array_equal(self.values, other.values)


def _values(layer: Layer) -> np.ndarray:
    """The values of a layer that always has them (labelled items' and anchors' class index)."""
    assert layer.values is not None
    return layer.values


@dataclass(frozen=True)
class MapState:
    """One iteration of the map: what every layer holds."""

    iteration: int
    classes: list
    minority: list
    pool: Layer = field(default_factory=Layer.empty)
    subpool: Layer = field(default_factory=Layer.empty)
    labelled: Layer = field(default_factory=Layer.empty)
    anchors: Layer = field(default_factory=Layer.empty)
    batch: Layer = field(default_factory=Layer.empty)
    #: minority items nobody has labelled yet, which only a simulation knows (None: no such layer)
    truth: Layer | None = None


def retrieving_anchor(embeddings: np.ndarray, item_ids, anchor_ids) -> np.ndarray:
    """For each item, the anchor most similar to it by cosine: the one that retrieved it with
    the highest similarity (an item in the subpool was retrieved by at least one anchor, and
    the most similar anchor retrieves it unless K others outrank it). -1 without anchors."""
    item_ids, anchor_ids = _ids(item_ids), _ids(anchor_ids)
    if len(anchor_ids) == 0 or len(item_ids) == 0:
        return np.full(len(item_ids), -1, dtype=np.int64)
    a = np.asarray(embeddings[item_ids], dtype=np.float32)
    b = np.asarray(embeddings[anchor_ids], dtype=np.float32)
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return anchor_ids[np.argmax(a @ b.T, axis=1)]


def map_state(
    projection,
    *,
    classes: Sequence,
    minority: Sequence,
    iteration: int = 0,
    labelled_ids=(),
    labelled_classes=(),
    subpool_ids=(),
    subpool_scores=None,
    anchor_ids=(),
    anchor_classes=(),
    batch_ids=(),
    embeddings: np.ndarray | None = None,
    batch_anchors=None,
    whole_pool: bool = False,
) -> MapState:
    """The layers of one iteration, placed by ``projection`` (a ready :class:`Projection`).
    Class arguments are class indices. Each batch item records the anchor that retrieved it:
    ``batch_anchors`` as the loop recorded them, else (with ``embeddings``) the most similar.
    ``whole_pool``: the pool layer holds every item (the widget's map), else the projection's
    sample (a static figure, which plotly draws point by point)."""
    pos = projection.positions
    subpool_ids, labelled_ids, anchor_ids, batch_ids = map(_ids, (subpool_ids, labelled_ids, anchor_ids, batch_ids))
    scores = None if subpool_scores is None or len(subpool_scores) == 0 else np.asarray(subpool_scores, np.float32)
    if batch_anchors is not None:
        anchor_of = _ids(batch_anchors)
    elif embeddings is not None:
        anchor_of = retrieving_anchor(embeddings, batch_ids, anchor_ids)
    else:
        anchor_of = np.full(len(batch_ids), -1, dtype=np.int64)
    return MapState(
        iteration=int(iteration),
        classes=list(classes),
        minority=list(minority),
        pool=(
            Layer(projection.pool_ids, projection.pool_xy)
            if whole_pool
            else Layer(_ids(projection.sample_ids_), np.asarray(projection.sample_xy_, np.float32))
        ),
        subpool=Layer(subpool_ids, pos(subpool_ids), scores),
        labelled=Layer(labelled_ids, pos(labelled_ids), _ids(labelled_classes)),
        anchors=Layer(anchor_ids, pos(anchor_ids), _ids(anchor_classes)),
        batch=Layer(batch_ids, pos(batch_ids), anchor_of),
    )


def map_state_from_loop(loop, projection, proposal=None, *, whole_pool: bool = True) -> MapState:
    """The map of an :class:`ActiveLoop` now: its labelled set and the given proposal (default:
    the pending one; without one, no subpool, anchors or batch); the whole pool, by default."""
    proposal = loop.pending if proposal is None else proposal
    common = dict(
        classes=loop.classes,
        minority=loop.minority,
        labelled_ids=loop.labelled_ids,
        labelled_classes=loop.labelled_classes,
        embeddings=loop.embeddings,
        whole_pool=whole_pool,
    )
    if proposal is None:
        return map_state(projection, iteration=loop.iteration, **common)
    subpool = [] if loop.config["pool_filter"] == "none" else proposal.subpool_ids
    return map_state(
        projection,
        iteration=proposal.iteration,
        subpool_ids=subpool,
        subpool_scores=proposal.subpool_scores,
        anchor_ids=proposal.anchor_ids,
        anchor_classes=proposal.anchor_classes,
        batch_ids=proposal.batch_ids,
        batch_anchors=proposal.batch_retrieved_by,
        **common,
    )


# ---- the map's traces: declared here, filled here and in js/src/mapdata.js ---------------


def map_declarations(
    classes: Sequence,
    minority: Sequence,
    *,
    scored: bool = True,
    pool_hover: bool = True,
    truth: bool = False,
    highlight: bool = False,
    selection: bool = False,
    whole_pool: bool = False,
) -> list[dict]:
    """The map's traces without their points, bottom first: plain JSON, the same for every map.

    Each declaration is ``{"layer", "class"?, "trace", "hover"?, "colour"?, "shading"?}``:

    - ``layer``: which layer's points fill it (``"highlight"``: the ids a card's hover rings);
      ``class``: only the points of that class index;
    - ``trace``: the plotly trace, whole but for ``x``, ``y``, ``customdata`` (the pool ids)
      and ``hovertext``;
    - ``hover``: each point's hover line is ``#<id>``, then `` <label>`` if there is a
      ``label``, then ``value`` with ``{}`` replaced by the point's value (``decimals`` fixed
      decimals, rounded half away from zero; none below ``min``), then ``<br>`` and the
      point's text, escaped, when it is known. No hover text where ``hoverinfo`` is
      ``"skip"``;
    - ``colour``: ``"values"`` puts the layer's values (the subpool's scores) in
      ``marker.color``;
    - ``shading``: ``"density"`` (the pool's): where points crowd, each is fainter, so that a
      renderer drawing the whole pool shows its density when zoomed out and points zoomed in.

    ``scored``: the subpool has AnchorAL scores; ``pool_hover``: the pool sample answers
    hover; ``truth``: a layer of the minority items not labelled yet (a simulation's);
    ``highlight``: the rings a card's hover draws, and ``selection``: the colour of the
    points a lasso selects (both the widget's); ``whole_pool``: the pool layer holds every
    item (the widget's), not a sample (a static figure's): it names the layer.
    """
    colours = class_colours(classes, minority)
    # minority classes drawn last, so that their few points are not buried under the majority's
    rare = set(minority)
    order = sorted(range(len(classes)), key=lambda i: classes[i] in rare)

    def declare(layer, uid, name, marker, *, hover=None, of_class=None, colour=None, hoverinfo="text", legend=True):
        trace = {
            "type": RENDERER,
            "uid": uid,
            "name": name,
            "mode": "markers",
            "legendgroup": uid,
            "showlegend": legend,
            "marker": marker,
            "hoverinfo": hoverinfo,
        }
        out: dict[str, Any] = {"layer": layer}
        if of_class is not None:
            out["class"] = of_class
        out["trace"] = trace
        if hover is not None:
            out["hover"] = hover
        if colour is not None:
            out["colour"] = colour
        return out

    pool = declare(
        "pool",
        "pool",
        "pool" if whole_pool else "pool sample",
        {"size": 3, "color": POOL_COLOUR, "opacity": 0.25},
        hover={},
        hoverinfo="text" if pool_hover else "skip",
    )
    pool["shading"] = "density"
    out = [pool]
    if scored:
        marker = {
            "size": 6,
            "colorscale": SUBPOOL_COLOURSCALE,
            "opacity": 0.85,
            "showscale": True,
            "colorbar": {"title": {"text": "subpool score"}, "thickness": 12, "len": 0.6},
        }
        hover = {"label": "score", "value": " {}", "decimals": 3}
        out.append(declare("subpool", "subpool", "subpool (AnchorAL score)", marker, hover=hover, colour="values"))
    else:
        marker = {"size": 6, "color": SUBPOOL_COLOUR, "opacity": 0.75}
        out.append(declare("subpool", "subpool", "subpool", marker, hover={}))
    if truth:
        marker = {"size": 7, "color": MINORITY_COLOURS[0], "opacity": 0.6, "symbol": "x"}
        out.append(declare("truth", "truth", "minority, not labelled (truth)", marker, hoverinfo="skip"))
    for i in order:
        c = classes[i]
        marker = {"size": 7, "color": colours[c], "line": {"width": 0.5, "color": "white"}}
        if c not in rare:
            # the majority's labelled items are many and matter least: see-through, so that the
            # subpool and the unlabelled minority under them still show
            marker["opacity"] = MAJORITY_LABELLED_OPACITY
        out.append(declare("labelled", f"labelled-{i}", f"labelled: {c}", marker, hover={"label": str(c)}, of_class=i))
    # the batch's rings under the anchors' stars: a ring around a point next to an anchor must
    # not cover the star (the anchors are few and say where the subpool came from)
    marker = {"size": 19, "symbol": BATCH_SYMBOL, "color": BATCH_COLOUR, "line": {"width": 3}}
    hover = {"label": "batch", "value": ", via anchor #{}", "min": 0}
    out.append(declare("batch", "batch", "batch", marker, hover=hover))
    for i in order:
        c = classes[i]
        marker = {"size": 17, "symbol": ANCHOR_SYMBOL, "color": colours[c], "line": {"width": 2, "color": "black"}}
        hover = {"label": f"anchor ({c})"}
        out.append(declare("anchors", f"anchors-{i}", f"anchors: {c}", marker, hover=hover, of_class=i))
    if selection:
        marker = {"size": 2, "color": SELECTION_COLOUR}
        out.append(declare("selection", "selection", "selected", marker, hoverinfo="skip", legend=False))
    if highlight:
        marker = {"size": 28, "symbol": BATCH_SYMBOL, "color": HIGHLIGHT_COLOUR, "line": {"width": 3}}
        out.append(declare("highlight", "highlight", "highlight", marker, hoverinfo="skip", legend=False))
    return out


def map_layout(*, title: str | None = None, height: int = 440) -> dict:
    """The map's plotly layout (the widget's has no title)."""
    layout = {
        "height": height,
        "margin": {"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
        "xaxis": {"visible": False},
        "yaxis": {"visible": False, "scaleanchor": "x"},
        "legend": {"orientation": "h", "y": -0.02, "yanchor": "top", "font": {"size": 10}},
        "plot_bgcolor": "white",
        "uirevision": "map",
        "clickmode": "event",
        "hovermode": "closest",
    }
    if title:
        layout["title"] = {"text": title}
    return layout


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
    for i, c in zip(state.labelled.ids.tolist(), _values(state.labelled).tolist()):
        out[i] = f"labelled {classes[c]}"
    for i, c in zip(state.anchors.ids.tolist(), _values(state.anchors).tolist()):
        out[i] = f"anchor, labelled {classes[c]}"
    parts: dict[int, list[str]] = {}
    sub = state.subpool
    if len(sub):
        order = np.arange(len(sub)) if sub.values is None else np.argsort(-sub.values, kind="stable")
        size = f"{len(sub):,}"
        for rank, k in enumerate(order.tolist(), 1):
            line = f"subpool rank {rank} of {size}"
            if sub.values is not None:
                line += f", score {_format_value(sub.values[k], decimals)}"
            parts[int(sub.ids[k])] = [line]
    batch = state.batch
    anchor_class = dict(zip(state.anchors.ids.tolist(), _values(state.anchors).tolist()))
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
            lines.append(f"uncertainty {_format_value(uncertainty[i], decimals)}")
        out[i] = " · ".join(lines)
    return out


def escape_hover(text) -> str:
    """Text for plotly's hover label, which reads a little HTML: escaped, so it shows as typed."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _format_value(value, decimals: int | None) -> str:
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


def _hover(ids: np.ndarray, values, spec: dict, texts, text_chars: int, details=None) -> list[str]:
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
            line += template.replace("{}", _format_value(values[n], decimals))
        text = text_of(i)
        if text is not None:
            text = _clip(text, text_chars)
            line += "<br>" + (escape_hover(text) if "&" in text or "<" in text or ">" in text else text)
        out.append(line)
    return out


def _points(declaration: dict, state: MapState, highlight) -> Layer:
    """The points that fill a declaration: its layer's, of its class if it names one."""
    name = declaration["layer"]
    if name == "highlight":
        found = [(i, _position_of(state, i)) for i in (highlight or [])]
        found = [(i, p) for i, p in found if p is not None]
        return Layer(
            np.array([i for i, _ in found], dtype=np.int64),
            np.array([p for _, p in found], dtype=np.float32).reshape(-1, 2),
        )
    layer = getattr(state, name, None)  # "selection": the widget's alone, no points here
    if layer is None:
        return Layer.empty()
    if "class" not in declaration:
        return layer
    if layer.values is None:
        return Layer.empty()
    keep = layer.values == declaration["class"]
    return Layer(layer.ids[keep], layer.xy[keep], layer.values[keep])


def _position_of(state: MapState, i: int):
    for name in _POSITION_ORDER:
        layer = getattr(state, name)
        hit = np.flatnonzero(layer.ids == int(i))
        if len(hit):
            return layer.xy[hit[0]]
    return None


def fill_trace(
    declaration: dict, state: MapState, *, texts=None, text_chars: int = 160, highlight=(), details=None
) -> dict:
    """One declared trace with its points from ``state`` (see :func:`map_declarations`);
    ``texts``: a sequence or a mapping id -> text, for hover; ``details``: a mapping id -> the
    point's whole hover line (see :func:`point_details`), in place of the layer's own."""
    layer = _points(declaration, state, highlight)
    trace = copy.deepcopy(declaration["trace"])
    trace.update(x=layer.xy[:, 0], y=layer.xy[:, 1], customdata=layer.ids)
    if trace.get("hoverinfo") == "skip":
        trace["hovertext"] = None
    else:
        trace["hovertext"] = _hover(layer.ids, layer.values, declaration.get("hover", {}), texts, text_chars, details)
    if declaration.get("colour") == "values":
        trace["marker"]["color"] = layer.values
    return trace


def map_traces(
    state: MapState, *, texts=None, text_chars: int = 160, pool_hover: bool = True, highlight=None, details=None
) -> list[dict]:
    """The map's traces as plain dicts, bottom layer first: :func:`map_declarations` filled
    with ``state``'s points. ``highlight``: ids to ring (default: no highlight trace);
    ``details``: id -> hover line (:func:`point_details`), the same whichever layer answers."""
    declarations = map_declarations(
        state.classes,
        state.minority,
        scored=state.subpool.values is not None,
        pool_hover=pool_hover and texts is not None,
        truth=state.truth is not None,
        highlight=highlight is not None,
    )
    return [
        fill_trace(d, state, texts=texts, text_chars=text_chars, highlight=highlight, details=details)
        for d in declarations
    ]


def map_figure(
    state: MapState,
    *,
    texts=None,
    text_chars: int = 160,
    pool_hover: bool = True,
    title: str | None = None,
    height: int = 480,
    uncertainty=None,
):
    """The map as a plotly figure: the pool sample (faint), the subpool coloured by score, the
    labelled items and the anchors (stars) of each class in its colour, the batch ringed; all
    WebGL, in that order. Hover shows all the map knows of an item (:func:`point_details`,
    with ``uncertainty``: id -> the model's uncertainty) and its text; the pool sample answers
    too unless ``pool_hover=False``, which leaves hover to the coloured layers. ``customdata``
    holds the ids, for click handlers."""
    import plotly.graph_objects as go

    details = point_details(state, uncertainty=uncertainty)
    fig = go.Figure(data=map_traces(state, texts=texts, text_chars=text_chars, pool_hover=pool_hover, details=details))
    fig.update_layout(map_layout(title=title or f"iteration {state.iteration}", height=height))
    return fig


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


# ---- the map's per-iteration update ----------------------------------------------------------


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
            part = Layer(current.labelled.ids[new], current.labelled.xy[new], _values(current.labelled)[new])
            layers["labelled"] = {"mode": "append", **_encode_layer(buffers, part, "classes", "int32")}
    header["layers"] = layers
    if texts is not None:
        sent = set() if full else set(np.concatenate([getattr(previous, n).ids for n in LAYERS[1:]]).tolist())
        fresh: list[int] = []
        for name in LAYERS[1:]:
            if name in layers:
                fresh.extend(i for i in getattr(current, name).ids.tolist() if i not in sent)
        header["texts"] = {str(i): _clip(texts[i], text_chars) for i in dict.fromkeys(fresh)}
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


def _clip(text, chars: int) -> str:
    text = str(text)
    return text if len(text) <= chars else text[: chars - 1] + "…"


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value
