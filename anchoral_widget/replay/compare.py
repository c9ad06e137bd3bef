"""The teaching replay: run the loop with an oracle for several pool filters on the same data,
initial set and seed, and replay them side by side.

Every filter starts from the same labelled items, so whatever differs later comes from the
filter alone: where its subpools lie, which items the strategy then picks, and which pick the
next ones depend on. That is path dependence, and with ``groups`` (the toy's clusters) the
replay counts how many minority clusters no initial label touched each filter has found.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..engine.estimates import cross_validated_f1
from ..engine.loop import ActiveLoop
from ..engine.pool import Pool, learner_reads_texts
from ..errors import InputError
from ..views.curves import curve_data
from ..views.plots import Layer, MapState, map_state, map_traces
from ..views.projection import Projection
from .simulation import initial_sample

FILTER_COLOURS = {"anchoral": "#e45756", "randsub": "#4c78a8", "none": "#54a24b", "seals": "#b279a2"}


@dataclass
class Run:
    """One filter's simulation: the loop after it, and the shared initial set."""

    name: str
    loop: ActiveLoop
    initial_ids: np.ndarray


def compare(
    embeddings: np.ndarray,
    labels: Sequence,
    *,
    classes: Sequence | None = None,
    minority: Sequence | None = None,
    filters: Sequence[str] = ("anchoral", "randsub", "none"),
    budget: int = 200,
    initial_ids: Sequence[int] | None = None,
    initial_size: int = 100,
    per_minority_class: int = 5,
    seed: int = 0,
    test: tuple | None = None,
    texts: Sequence[str] | None = None,
    coords: np.ndarray | None = None,
    groups: Sequence[int] | None = None,
    subpool_size: int | dict | None = 1000,
    estimate_f1: bool = True,
    projection: Projection | None = None,
    progress: bool = False,
    **loop_kwargs,
) -> Comparison:
    """Simulate the loop once per pool filter, with an oracle, from the same start.

    Parameters
    ----------
    embeddings : (n, d) array; labels : every pool item's true class name (the oracle).
    classes : default the sorted distinct labels. minority : default every class but the most
        frequent one.
    filters : pool filters to compare.
    budget : items each run labels after the initial set.
    initial_ids : the initial labelled set; default ``initial_sample(labels, minority,
        initial_size, per_minority_class, seed)`` (the paper's).
    test : (X, y) held-out set, evaluated every iteration; without it, with ``estimate_f1``,
        each iteration gets a cross-validated F1 estimate on its labelled set.
    texts : the pool's texts, for hover text (and for learners that read text).
    coords : (n, 2) positions for the map (the toy's); default a UMAP :class:`Projection`
        (fitted on first use of a map), or ``projection`` if given.
    groups : a group id per item (the toy's clusters; -1 for none): the replay counts the
        groups with no initial label ("hidden") that each run has found.
    subpool_size : M for every filter (default 1,000 for all, so that only how the subpool is
        chosen differs), a dict filter -> M, or None for the loop's defaults.
    **loop_kwargs : passed to every :class:`ActiveLoop` (strategy, batch_size, learner, ...).
    """
    labels = np.asarray(labels, dtype=object)
    if len(labels) != len(embeddings):
        raise InputError(f"{len(labels)} labels but {len(embeddings)} embeddings")
    if not filters:
        raise InputError("give at least one pool filter")
    values, counts = np.unique(labels, return_counts=True)
    classes = sorted(values.tolist()) if classes is None else list(classes)
    if minority is None:
        minority = [c for c in classes if c != values[np.argmax(counts)]]
    minority = list(minority)
    if initial_ids is None:
        initial_ids = initial_sample(labels, minority, initial_size, per_minority_class, seed)
    initial_ids = np.asarray(initial_ids, dtype=np.int64)
    # One pool shared by every run: one index, one fingerprint, one copy of the texts.
    pool = Pool(
        embeddings,
        texts,
        index=loop_kwargs.pop("index", "auto"),
        seed=seed,
        cache_dir=loop_kwargs.pop("cache_dir", None),
    )
    runs = {}
    for name in filters:
        size = subpool_size.get(name) if isinstance(subpool_size, dict) else subpool_size
        if size is not None:
            size = min(size, len(labels) - len(initial_ids))
        loop = ActiveLoop(
            pool, classes, minority, pool_filter=name, subpool_size=size, seed=seed, test=test, **loop_kwargs
        )
        loop.label(initial_ids, labels[initial_ids])
        loop.simulate(labels, budget, progress=progress)
        runs[name] = Run(name, loop, initial_ids)
    if test is None and estimate_f1:
        for run in runs.values():
            _estimate_f1(run, labels)
    if projection is None and coords is not None:
        projection = Projection.from_coords(coords)
    return Comparison(runs, labels, classes, minority, projection=projection, groups=groups, texts=texts, seed=seed)


def _estimate_f1(run: Run, labels: np.ndarray) -> None:
    """Each record gets the CV F1 of the labelled set its model was trained on."""
    loop = run.loop
    learner = None if learner_reads_texts(loop.learner) else loop.learner
    features = loop.embeddings
    for t, record in enumerate(loop.history):
        ids = _labelled_before(run, t)
        y = loop.class_indices(labels[ids])
        record.extra["f1_estimate"] = cross_validated_f1(
            features[ids],
            y,
            loop.minority_indices,
            len(loop.classes),
            learner=learner,
            seed=loop.seed,
            class_names=loop.classes,
        )


def _labelled_before(run: Run, t: int) -> np.ndarray:
    """Ids labelled when iteration ``t`` was proposed: the initial set and earlier batches."""
    parts = [run.initial_ids] + [np.asarray(r.batch_ids, dtype=np.int64) for r in run.loop.history[:t]]
    return np.concatenate(parts)


class Comparison:
    """The runs of :func:`compare`, and views of any iteration of them."""

    def __init__(self, runs: dict, labels, classes, minority, *, projection=None, groups=None, texts=None, seed=0):
        self.runs = runs
        self.labels = labels
        self.classes = list(classes)
        self.minority = list(minority)
        self.groups = None if groups is None else np.asarray(groups, dtype=np.int64)
        self.texts = texts
        self.seed = seed
        self._projection = projection

    @property
    def filters(self) -> list[str]:
        return list(self.runs)

    @property
    def iterations(self) -> int:
        """Iterations of the longest run."""
        return max(len(r.loop.history) for r in self.runs.values())

    @property
    def projection(self) -> Projection:
        """The map's projection: given coordinates, or UMAP fitted now on first use."""
        if self._projection is None:
            any_run = next(iter(self.runs.values()))
            pool = any_run.loop.pool
            self._projection = Projection(
                pool.embeddings, seed=self.seed, fingerprint=lambda: pool.embeddings_fingerprint
            )
        if not self._projection.ready:
            self._projection.fit(next(iter(self.runs.values())).initial_ids)
        return self._projection

    def _class_indices(self, ids) -> np.ndarray:
        lookup = {c: i for i, c in enumerate(self.classes)}
        return np.array([lookup[c] for c in self.labels[np.asarray(ids, dtype=np.int64)]], dtype=np.int64)

    def _clamp(self, name: str, t: int) -> int:
        return max(0, min(int(t), len(self.runs[name].loop.history) - 1))

    # ---- per-iteration views ---------------------------------------------------------

    def state(self, name: str, t: int) -> MapState:
        """The map of run ``name`` at iteration ``t``: labelled set before it, its anchors,
        subpool and batch."""
        run = self.runs[name]
        t = self._clamp(name, t)
        record = run.loop.history[t]
        labelled = _labelled_before(run, t)
        return map_state(
            self.projection,
            classes=self.classes,
            minority=self.minority,
            iteration=t,
            labelled_ids=labelled,
            labelled_classes=self._class_indices(labelled),
            subpool_ids=record.subpool_ids,
            subpool_scores=record.subpool_scores or None,
            anchor_ids=record.anchor_ids,
            anchor_classes=self._class_indices(record.anchor_ids),
            batch_ids=record.batch_ids,
            embeddings=run.loop.embeddings,
        )

    def minority_found(self, name: str) -> np.ndarray:
        """Minority items labelled by each iteration's end, the initial set not counted."""
        minority = set(self.minority)
        per = [sum(1 for c in r.batch_labels if c in minority) for r in self.runs[name].loop.history]
        return np.cumsum(per).astype(np.int64)

    @property
    def hidden_groups(self) -> list[int]:
        """Groups (>= 0) with no item in the initial set."""
        if self.groups is None:
            return []
        initial = next(iter(self.runs.values())).initial_ids
        seen = set(self.groups[initial].tolist())
        return sorted(int(g) for g in np.unique(self.groups) if g >= 0 and g not in seen)

    def groups_found(self, name: str) -> np.ndarray:
        """Hidden groups with at least one labelled item by each iteration's end."""
        if self.groups is None:
            raise InputError("no groups were given to compare()")
        hidden, found, out = set(self.hidden_groups), set(), []
        for r in self.runs[name].loop.history:
            found |= hidden & set(self.groups[np.asarray(r.batch_ids, dtype=np.int64)].tolist())
            out.append(len(found))
        return np.asarray(out, dtype=np.int64)

    def curves(self, name: str):
        loop = self.runs[name].loop
        initial = self.labels[self.runs[name].initial_ids]
        counts = {c: int(np.sum(initial == c)) for c in self.classes}
        return curve_data(loop.history, self.classes, self.minority, counts)

    def summary(self) -> list[dict]:
        """One row per filter: minority found, hidden groups found, mean subpool minority share,
        last minority F1 (test, or estimate), total selection seconds."""
        rows = []
        for name, run in self.runs.items():
            c = self.curves(name)
            row = {
                "filter": name,
                "iterations": len(run.loop.history),
                "minority_found": int(self.minority_found(name)[-1]),
                "subpool_minority_share": float(np.nanmean(c.minority_subpool))
                if np.isfinite(c.minority_subpool).any()
                else None,
                "last_minority_f1": float(c.minority_f1[-1]),
                "f1_is_estimate": bool(c.f1_estimated[-1]),
                "selection_seconds": float(sum(r.seconds["total"] for r in run.loop.history)),
            }
            if self.groups is not None:
                row["hidden_groups_found"] = f"{int(self.groups_found(name)[-1])}/{len(self.hidden_groups)}"
            rows.append(row)
        return rows

    # ---- figures -----------------------------------------------------------------------

    def _map_traces(self, name: str, t: int) -> list[dict]:
        """The map's layers, with, above the subpool, the minority items nobody has labelled
        yet, which only a simulation knows: where the hidden clusters are."""
        state = self.state(name, t)
        unseen = np.setdiff1d(np.flatnonzero(np.isin(self.labels, self.minority)), state.labelled.ids)
        state = replace(state, truth=Layer(unseen, self.projection.positions(unseen)))
        return map_traces(state, texts=self.texts, pool_hover=False)

    def _map_title(self, name: str, t: int) -> str:
        t = self._clamp(name, t)
        title = f"{name}: {int(self.minority_found(name)[t])} minority found"
        if self.groups is not None:
            title += f", {int(self.groups_found(name)[t])}/{len(self.hidden_groups)} hidden clusters"
        return title

    def _panels(self) -> list[tuple[str, dict]]:
        """The progress panels: title, and per filter the (x, y) series."""
        curves = {n: self.curves(n) for n in self.filters}
        f1 = "minority F1 (CV estimate)" if any(c.f1_estimated.any() for c in curves.values()) else "minority F1"
        panels = [("minority found", {n: self.minority_found(n) for n in self.filters})]
        if self.groups is not None:
            panels.append(("hidden clusters found", {n: self.groups_found(n) for n in self.filters}))
        panels.append(("subpool minority share", {n: c.minority_subpool for n, c in curves.items()}))
        panels.append((f1, {n: c.minority_f1 for n, c in curves.items()}))
        return panels

    def replay_figure(self, t: int = 0, *, height: int = 760):
        """One figure: the runs' maps at iteration ``t`` side by side, and under them, per
        filter by iteration, minority found, hidden clusters found (with ``groups``), the
        subpool's minority share and the minority F1, with a dotted line at ``t``."""
        from plotly.subplots import make_subplots

        names, panels = self.filters, self._panels()
        f, p = len(names), len(panels)
        cols = f * p  # a map spans p columns, a panel f
        specs = [
            functools.reduce(operator.iadd, ([{"colspan": p}] + [None] * (p - 1) for _ in names), []),
            functools.reduce(operator.iadd, ([{"colspan": f}] + [None] * (f - 1) for _ in panels), []),
        ]
        fig = make_subplots(
            rows=2,
            cols=cols,
            specs=specs,
            row_heights=[0.68, 0.32],
            vertical_spacing=0.1,
            horizontal_spacing=0.02,
            subplot_titles=[self._map_title(n, t) for n in names] + [pt for pt, _ in panels],
        )
        for i, name in enumerate(names):
            col = 1 + i * p
            for trace in self._map_traces(name, t):
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
        for j, (_, series) in enumerate(panels):
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
            if panels[j][0] == "hidden clusters found":
                fig.update_yaxes(range=[-0.1, len(self.hidden_groups) + 0.1], dtick=1, row=2, col=col)
        fig.update_xaxes(title_text="iteration", row=2)
        fig.update_layout(
            height=height,
            shapes=shapes,
            plot_bgcolor="white",
            margin={"l": 40, "r": 10, "t": 40, "b": 40},
            legend={"orientation": "h", "y": -0.08, "yanchor": "top", "font": {"size": 10}},
            uirevision="replay",
        )
        return fig

    def replay(self, t: int = 0, *, height: int = 760):
        """An ipywidgets box: an iteration slider (with play) over one plotly FigureWidget that
        holds every run's map and the progress curves, all moving together. (One FigureWidget,
        not one per map: each carries plotly's whole JavaScript bundle.)"""
        import ipywidgets as widgets
        import plotly.graph_objects as go

        fig = go.FigureWidget(self.replay_figure(t, height=height))
        sizes = [len(self._map_traces(name, t)) for name in self.filters]
        last = self.iterations - 1
        slider = widgets.IntSlider(value=t, min=0, max=last, description="iteration", continuous_update=False)
        play = widgets.Play(value=t, min=0, max=last, interval=900)
        widgets.jslink((play, "value"), (slider, "value"))

        def show(change):
            t = change["new"]
            with fig.batch_update():
                start = 0
                for i, name in enumerate(self.filters):
                    fresh = self._map_traces(name, t)
                    # FigureWidget renames uids, so traces are matched by position; the pool
                    # sample (first) never changes.
                    for trace, new in zip(fig.data[start + 1 : start + sizes[i]], fresh[1:]):
                        trace.update(
                            x=new["x"],
                            y=new["y"],
                            customdata=new["customdata"],
                            hovertext=new.get("hovertext"),
                            marker_color=new["marker"]["color"],
                        )
                    fig.layout.annotations[i].text = self._map_title(name, t)
                    start += sizes[i]
                for shape in fig.layout.shapes:
                    shape.update(x0=t, x1=t)

        slider.observe(show, names="value")
        return widgets.VBox([widgets.HBox([play, slider]), fig])
