"""The map as static plotly traces: the declarations of :mod:`.styles` filled with a
:class:`~anchoral_widget.views.mapstate.MapState`'s points and their hover lines
(:mod:`.hover`), and :func:`map_figure`, the map as one plotly figure. The replay of
:mod:`~anchoral_widget.replay` draws these traces; the widget's front end fills the same
declarations from the binary update (:mod:`.mapupdate`).
"""

from __future__ import annotations

import copy

import numpy as np

from .hover import hover_lines, point_details
from .mapstate import Layer, MapState
from .styles import map_declarations, map_layout

#: Where a highlighted id is looked up, first match wins.
_POSITION_ORDER = ("batch", "anchors", "labelled", "subpool", "pool")


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
    """One declared trace with its points from ``state`` (see
    :func:`~anchoral_widget.views.styles.map_declarations`); ``texts``: a sequence or a mapping
    id -> text, for hover; ``details``: a mapping id -> the point's whole hover line (see
    :func:`~anchoral_widget.views.hover.point_details`), in place of the layer's own."""
    layer = _points(declaration, state, highlight)
    trace = copy.deepcopy(declaration["trace"])
    trace.update(x=layer.xy[:, 0], y=layer.xy[:, 1], customdata=layer.ids)
    if trace.get("hoverinfo") == "skip":
        trace["hovertext"] = None
    else:
        trace["hovertext"] = hover_lines(
            layer.ids, layer.values, declaration.get("hover", {}), texts, text_chars, details
        )
    if declaration.get("colour") == "values":
        trace["marker"]["color"] = layer.values
    return trace


def map_traces(
    state: MapState, *, texts=None, text_chars: int = 160, pool_hover: bool = True, highlight=None, details=None
) -> list[dict]:
    """The map's traces as plain dicts, bottom layer first: the declarations
    (:func:`~anchoral_widget.views.styles.map_declarations`) filled with ``state``'s points.
    ``highlight``: ids to ring (default: no highlight trace); ``details``: id -> hover line
    (:func:`~anchoral_widget.views.hover.point_details`), the same whichever layer answers."""
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
    WebGL, in that order. Hover shows all the map knows of an item
    (:func:`~anchoral_widget.views.hover.point_details`, with ``uncertainty``: id -> the model's
    uncertainty) and its text; the pool sample answers too unless ``pool_hover=False``, which
    leaves hover to the coloured layers. ``customdata`` holds the ids, for click handlers."""
    import plotly.graph_objects as go

    details = point_details(state, uncertainty=uncertainty)
    fig = go.Figure(data=map_traces(state, texts=texts, text_chars=text_chars, pool_hover=pool_hover, details=details))
    fig.update_layout(map_layout(title=title or f"iteration {state.iteration}", height=height))
    return fig
