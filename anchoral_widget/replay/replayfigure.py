"""The replay's figure (:meth:`Comparison.replay_figure
<anchoral_widget.replay.comparison.Comparison.replay_figure>`): every run's map at one iteration
side by side, and under them the progress curves of every filter, in one plotly figure. Each
map is the views' own (:func:`~anchoral_widget.views.mapfigure.map_traces`), with the minority
items nobody has labelled yet, which only a simulation knows.
"""

from __future__ import annotations

import functools
import operator
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from ..views.curves import POOL_SHARE_COLOUR
from ..views.hover import point_details
from ..views.mapfigure import map_traces
from ..views.mapstate import Layer

if TYPE_CHECKING:
    from .comparison import Comparison

FILTER_COLOURS = {"anchoral": "#e45756", "randsub": "#4c78a8", "none": "#54a24b", "seals": "#b279a2"}


def run_map_traces(
    comparison: Comparison, name: str, t: int, *, truth: bool = True, uncertainty: bool = False
) -> list[dict]:
    """The traces of run ``name``'s map at iteration ``t``; with ``truth``, above the subpool,
    the minority items nobody has labelled yet, which only a simulation knows: where the
    hidden clusters are. Hover says all the map knows of a point (with ``uncertainty``, the
    model's too); the pool sample is the background and answers no hover, so that hover finds
    the coloured points."""
    state = comparison.state(name, t)
    if truth:
        unseen = np.setdiff1d(np.flatnonzero(np.isin(comparison.labels, comparison.minority)), state.labelled.ids)
        state = replace(state, truth=Layer(unseen, comparison.projection.positions(unseen)))
    details = point_details(state, uncertainty=comparison.uncertainty(name, t) if uncertainty else None)
    return map_traces(state, texts=comparison.texts, pool_hover=False, details=details)


def run_map_title(comparison: Comparison, name: str, t: int) -> str:
    """The title over run ``name``'s map at iteration ``t``: the minority items found (and the
    hidden clusters reached)."""
    t = comparison.clamp(name, t)
    title = f"{name}: {int(comparison.minority_found(name)[t])} minority found"
    if comparison.groups is not None:
        title += f"<br>{int(comparison.groups_found(name)[t])}/{len(comparison.hidden_groups)} hidden clusters reached"
    return title


def _panels(comparison: Comparison) -> list[tuple[str, dict]]:
    """The progress panels: title, and per filter the (x, y) series."""
    curves = {n: comparison.curves(n) for n in comparison.filters}
    f1 = "minority F1 (CV estimate)" if any(c.f1_estimated.any() for c in curves.values()) else "minority F1"
    panels = [("minority found", {n: comparison.minority_found(n) for n in comparison.filters})]
    if comparison.groups is not None:
        panels.append(("hidden clusters found", {n: comparison.groups_found(n) for n in comparison.filters}))
    panels.append(("subpool minority share", {n: c.minority_subpool for n, c in curves.items()}))
    panels.append((f1, {n: c.minority_f1 for n, c in curves.items()}))
    return panels


def replay_figure(comparison: Comparison, t: int = 0, *, height: int = 780):
    """``Comparison.replay_figure``: the runs' maps at iteration ``t`` side by side, and the
    progress panels under them."""
    from plotly.subplots import make_subplots

    names, panels = comparison.filters, _panels(comparison)
    f, p = len(names), len(panels)
    cols = f * p  # a map spans p columns, a panel f
    specs: list[list[dict[str, int] | None]] = [
        functools.reduce(operator.iadd, ([{"colspan": p}] + [None] * (p - 1) for _ in names), []),
        functools.reduce(operator.iadd, ([{"colspan": f}] + [None] * (f - 1) for _ in panels), []),
    ]
    fig = make_subplots(
        rows=2,
        cols=cols,
        specs=specs,
        row_heights=[0.64, 0.36],
        vertical_spacing=0.12,
        horizontal_spacing=0.05,  # between cells only: a colspan spans the gaps inside it
        subplot_titles=[run_map_title(comparison, n, t) for n in names] + [pt for pt, _ in panels],
    )
    for i, name in enumerate(names):
        col = 1 + i * p
        for trace in run_map_traces(comparison, name, t):
            # one legend for every map (a layer's legend group is its uid: a click on
            # it hides the layer on every map); colour bars would not agree between maps
            trace["showlegend"] = trace["showlegend"] and i == 0
            trace["marker"].pop("showscale", None)
            trace["marker"].pop("colorbar", None)
            fig.add_trace(trace, row=1, col=col)
        axes = fig.get_subplot(1, col)
        fig.update_yaxes(scaleanchor=axes.xaxis.plotly_name.replace("axis", ""), row=1, col=col)
    fig.update_xaxes(visible=False, row=1)
    fig.update_yaxes(visible=False, row=1)
    shapes = []
    for j, (title, series) in enumerate(panels):
        col = 1 + j * f
        for name in names:
            y = np.asarray(series[name], dtype=float)
            fig.add_scatter(
                x=np.arange(len(y)),
                y=y,
                name=name,
                legendgroup=name,
                showlegend=j == 0,
                mode="lines",
                line={"color": FILTER_COLOURS.get(name)},
                row=2,
                col=col,
            )
        if title == "subpool minority share":
            fig.add_scatter(
                x=[0, max(0, comparison.iterations - 1)],
                y=[comparison.pool_share] * 2,
                name=f"whole pool ({comparison.pool_share:.1%})",
                legendgroup="pool-share",
                mode="lines",
                line={"color": POOL_SHARE_COLOUR, "dash": "dot", "width": 1.5},
                hoverinfo="name",
                row=2,
                col=col,
            )
            fig.update_yaxes(tickformat=".0%", row=2, col=col)
        axes = fig.get_subplot(2, col)
        x, y = axes.xaxis.plotly_name.replace("axis", ""), axes.yaxis.plotly_name.replace("axis", "")
        shapes.append(
            dict(
                type="line",
                xref=x,
                yref=f"{y} domain",
                x0=t,
                x1=t,
                y0=0,
                y1=1,
                line={"color": "#888", "dash": "dot"},
            )
        )
        fig.update_yaxes(rangemode="tozero", row=2, col=col)
        if title == "hidden clusters found":
            fig.update_yaxes(range=[-0.1, len(comparison.hidden_groups) + 0.1], dtick=1, row=2, col=col)
        if title.startswith("minority F1"):
            fig.update_yaxes(range=[0, 1.02], row=2, col=col)
    fig.update_xaxes(title_text="iteration", title_standoff=4, row=2)
    fig.update_xaxes(showgrid=True, gridcolor="#eeeeee", zeroline=False, row=2)
    fig.update_yaxes(showgrid=True, gridcolor="#eeeeee", zeroline=False, row=2)
    fig.update_annotations(font_size=13)
    fig.update_layout(
        height=height,
        autosize=True,
        shapes=shapes,
        plot_bgcolor="white",
        margin={"l": 40, "r": 10, "t": 56, "b": 80},
        legend={
            "orientation": "h",
            "y": -0.1,
            "yanchor": "top",
            "x": 0,
            "font": {"size": 11},
            "itemsizing": "constant",
        },
        hovermode="closest",
        uirevision="replay",
    )
    return fig
