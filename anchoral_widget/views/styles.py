"""How the views look: the classes' colours (the map's and the curves'), and the map's trace
declarations, bottom first, with its plotly layout. :func:`map_declarations` is the only
place that says a layer's uid, name, renderer, marker style, legend group and hover wording.
The static figures (:mod:`.mapfigure`, the replay of :mod:`~anchoral_widget.replay`) fill the
declarations with their points; the widget's front end (``js/src/mapdata.js``) gets them in
the map message (:mod:`.mapupdate`) and fills them with the decoded buffers, the same way.

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

from collections.abc import Sequence
from typing import Any

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
