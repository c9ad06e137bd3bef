"""The teaching replay: run the loop with an oracle for several pool filters on the same data,
initial set and seed, and replay them side by side.

Every filter starts from the same labelled items, so whatever differs later comes from the
filter alone: where its subpools lie, which items the strategy then picks, and which pick the
next ones depend on. That is path dependence, and with ``groups`` (the toy's clusters) the
replay counts how many minority clusters no initial label touched each filter has found.

Views of a :class:`Comparison`:

- :meth:`Comparison.replay`: every run's map and the progress curves in one figure, moved
  together by an iteration slider (a teacher's view);
- :meth:`Comparison.inspect`: one run's map at any iteration, whose points tell all about
  themselves on hover and click, and :meth:`~Comparison.anchors_table`,
  :meth:`~Comparison.subpool_table`, :meth:`~Comparison.batch_table` (a researcher's view);
- :meth:`Comparison.summary` and :meth:`Comparison.describe`: what each run found, as a table
  and in words.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..engine.estimates import cross_validated_f1
from ..engine.learners import BoundModel, take
from ..engine.loop import ActiveLoop
from ..engine.pool import Pool, learner_reads_texts
from ..engine.strategies import Uncertainty, entropy
from ..errors import InputError
from ..views.curves import POOL_SHARE_COLOUR, curve_data
from ..views.hover import point_details
from ..views.mapfigure import map_traces
from ..views.mapstate import Layer, MapState, map_state, retrieving_anchor
from ..views.projection import Projection
from ..views.styles import map_layout
from .simulation import initial_sample

FILTER_COLOURS = {"anchoral": "#e45756", "randsub": "#4c78a8", "none": "#54a24b", "seals": "#b279a2"}
#: A new view of a figure is asked to fit its output area at once and again these many seconds
#: later (a busy browser may put the view on the page after the first answer came back).
FIT_AGAIN_SECONDS = (1.0, 4.0)
#: What the inspector's details say before a click.
INSPECT_HINT = "<i>Click a point on the map: its details show here.</i>"


@dataclass
class Run:
    """One filter's simulation: the loop after it, and the shared initial set."""

    name: str
    loop: ActiveLoop
    initial_ids: np.ndarray


def compare(
    embeddings: np.ndarray,
    labels: Sequence | np.ndarray,
    *,
    classes: Sequence | None = None,
    minority: Sequence | None = None,
    filters: Sequence[str] = ("anchoral", "randsub", "none"),
    budget: int = 200,
    initial_ids: Sequence[int] | np.ndarray | None = None,
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
        self._models: dict[tuple[str, int], BoundModel] = {}

    @property
    def filters(self) -> list[str]:
        return list(self.runs)

    @property
    def iterations(self) -> int:
        """Iterations of the longest run."""
        return max(len(r.loop.history) for r in self.runs.values())

    @property
    def projection(self) -> Projection:
        """The map's projection: given coordinates, or UMAP fitted now on first use (read from
        the cache when these embeddings were mapped before: see :class:`Projection`)."""
        if self._projection is None:
            any_run = next(iter(self.runs.values()))
            pool = any_run.loop.pool
            self._projection = Projection(
                pool.embeddings, seed=self.seed, fingerprint=lambda: pool.embeddings_fingerprint
            )
        if not self._projection.ready:
            self._projection.fit(next(iter(self.runs.values())).initial_ids)
        return self._projection

    @property
    def pool_share(self) -> float:
        """The minority share of the whole pool: what a subpool's share is compared with."""
        return float(np.isin(self.labels, self.minority).mean())

    def _class_indices(self, ids) -> np.ndarray:
        lookup = {c: i for i, c in enumerate(self.classes)}
        return np.array([lookup[c] for c in self.labels[np.asarray(ids, dtype=np.int64)]], dtype=np.int64)

    def _clamp(self, name: str, t: int) -> int:
        return max(0, min(int(t), len(self._run(name).loop.history) - 1))

    def _run(self, name: str) -> Run:
        if name not in self.runs:
            raise InputError(f"no run {name!r}: the runs are {', '.join(self.runs)}")
        return self.runs[name]

    # ---- per-iteration views ---------------------------------------------------------

    def state(self, name: str, t: int) -> MapState:
        """The map of run ``name`` at iteration ``t``: labelled set before it, its anchors,
        subpool and batch."""
        run = self._run(name)
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
        per = [sum(1 for c in r.batch_labels if c in minority) for r in self._run(name).loop.history]
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
        for r in self._run(name).loop.history:
            found |= hidden & set(self.groups[np.asarray(r.batch_ids, dtype=np.int64)].tolist())
            out.append(len(found))
        return np.asarray(out, dtype=np.int64)

    def curves(self, name: str):
        """The run's curves (:func:`~anchoral_widget.views.curves.curve_data`), with the
        pool's minority share to compare the subpools' with."""
        loop = self._run(name).loop
        initial = self.labels[self.runs[name].initial_ids]
        counts = {c: int(np.sum(initial == c)) for c in self.classes}
        return curve_data(loop.history, self.classes, self.minority, counts, pool_share=self.pool_share)

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

    def describe(self) -> str:
        """What the runs found, in words: a sentence per measure, ordered from most to least,
        so that a notebook's text can say what its run shows rather than what runs usually do.
        """
        found = {n: int(self.minority_found(n)[-1]) for n in self.filters}
        labelled = {n: sum(len(r.batch_ids) for r in self.runs[n].loop.history) for n in self.filters}
        lines = [
            f"Minority items found with {_same(labelled)} labels: " + _ranked(found, lambda n, v: f"{n} {v}") + "."
        ]
        if self.groups is not None:
            hidden = len(self.hidden_groups)
            reached = {n: int(self.groups_found(n)[-1]) for n in self.filters}
            lines.append(f"Hidden clusters reached (of {hidden}): " + _ranked(reached, lambda n, v: f"{n} {v}") + ".")
        shares = {}
        for n in self.filters:
            c = self.curves(n).minority_subpool
            if np.isfinite(c).any() and self.runs[n].loop.config["pool_filter"] != "none":
                shares[n] = float(np.nanmean(c))
        if shares:
            lines.append(
                "Mean minority share of the subpools: "
                + _ranked(shares, lambda n, v: f"{n} {v:.1%}")
                + f" (the whole pool: {self.pool_share:.1%})."
            )
        return "\n".join(lines)

    # ---- what the strategy saw -------------------------------------------------------

    def _model(self, name: str, t: int) -> BoundModel:
        """The model of iteration ``t``, fitted again as the loop fitted it: the same learner,
        labelled set (in the same order) and seed. Kept once fitted."""
        t = self._clamp(name, t)
        if (name, t) not in self._models:
            run = self._run(name)
            loop = run.loop
            ids = _labelled_before(run, t)
            features = loop.pool.features(loop.learner)
            y = loop.class_indices(self.labels[ids])
            model = loop.learner.fit(take(features, ids), y, len(loop.classes), loop.seed)
            self._models[(name, t)] = BoundModel(model, features)
        return self._models[(name, t)]

    def uncertainty_name(self, name: str) -> str:
        """What :meth:`uncertainty` measures for run ``name``: its strategy's score when the
        strategy ranks by one (entropy, margin, least confidence), else the entropy."""
        strategy = self._run(name).loop.strategy
        return strategy.name if isinstance(strategy, Uncertainty) else "entropy"

    def uncertainty(self, name: str, t: int, ids=None) -> dict[int, float]:
        """id -> the model's uncertainty at iteration ``t`` (:meth:`uncertainty_name`; higher:
        less sure, the strategy's reason to pick) for ``ids``, by default the iteration's
        subpool and batch. The model is fitted again as the loop fitted it (a fraction of a
        second for a classifier on embeddings; a fine-tuned transformer takes minutes)."""
        t = self._clamp(name, t)
        record = self._run(name).loop.history[t]
        if ids is None:
            ids = list(dict.fromkeys(record.subpool_ids + record.batch_ids))
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) == 0:
            return {}
        scores = self._scores(name, t, ids)
        return dict(zip(ids.tolist(), scores.tolist()))

    def _scores(self, name: str, t: int, ids: np.ndarray) -> np.ndarray:
        bound = self._model(name, t)
        strategy = self._run(name).loop.strategy
        if isinstance(strategy, Uncertainty):
            return np.asarray(strategy.score(bound, ids), dtype=np.float64)
        return entropy(bound.proba(ids))

    def _minority_proba(self, name: str, t: int, ids: np.ndarray) -> np.ndarray:
        columns = [self.classes.index(c) for c in self.minority]
        return self._model(name, t).proba(ids)[:, columns].sum(axis=1)

    # ---- tables ------------------------------------------------------------------------

    def _anchor_words(self, anchor: int) -> str:
        if anchor < 0:
            return ""
        words = f"#{anchor} {self.labels[anchor]}"
        if self.texts is not None:
            words += f": {self.texts[anchor]}"
        return words

    def _minority_column(self) -> str:
        return f"P({self.minority[0]})" if len(self.minority) == 1 else "P(minority)"

    def anchors_table(self, name: str, t: int):
        """The anchors of iteration ``t``, by class: id, class, how many batch items each
        retrieved, text."""
        import pandas as pd

        run, t = self._run(name), self._clamp(name, t)
        record = run.loop.history[t]
        batch_via = self.state(name, t).batch.values
        rows = {
            "anchor": record.anchor_ids,
            "class": [str(c) for c in record.anchor_classes],
            "batch items it retrieved": [int(np.sum(batch_via == a)) for a in record.anchor_ids],
        }
        if self.texts is not None:
            rows["text"] = [self.texts[i] for i in record.anchor_ids]
        return pd.DataFrame(rows).sort_values("class", kind="stable").reset_index(drop=True)

    def subpool_table(self, name: str, t: int, *, top: int | None = 15, by: str = "score"):
        """The subpool of iteration ``t``, ``top`` rows (None: all), best first ``by``
        ``"score"`` (AnchorAL's: the mean similarity to the anchors that retrieved an item) or
        ``"uncertainty"`` (the strategy's: why it picked the batch from the subpool).

        Columns: rank in the subpool by score, id, score, the model's uncertainty
        (:meth:`uncertainty`) and minority probability, rank in the batch (empty: not
        picked), the oracle's label, text, and the anchor that retrieved it (the most similar
        one)."""
        if by not in ("score", "uncertainty"):
            raise InputError(f"by must be 'score' or 'uncertainty', got {by!r}")
        run, t = self._run(name), self._clamp(name, t)
        if run.loop.config["pool_filter"] == "none":
            raise InputError(f"run {name!r} has no subpool: its strategy scores the whole pool")
        state = self.state(name, t)
        ids = self._subpool_order(state)
        if by == "uncertainty":
            ids = ids[np.argsort(-self._scores(name, t, ids), kind="stable")]
        if top is not None:
            ids = ids[:top]
        return self._items_frame(name, t, state, ids, first=["subpool rank", "id"])

    def batch_table(self, name: str, t: int):
        """The batch of iteration ``t`` in the order the strategy picked it (batch rank), with
        the same columns as :meth:`subpool_table`."""
        state = self.state(name, self._clamp(name, t))
        return self._items_frame(name, t, state, state.batch.ids, first=["batch rank", "id"])

    @staticmethod
    def _subpool_order(state: MapState) -> np.ndarray:
        """The subpool's ids, best AnchorAL score first (as they were chosen)."""
        sub = state.subpool
        return sub.ids if sub.values is None else sub.ids[np.argsort(-sub.values, kind="stable")]

    def _uncertainty_column(self, name: str) -> str:
        return f"uncertainty ({self.uncertainty_name(name)})"

    def _items_frame(self, name: str, t: int, state: MapState, ids: np.ndarray, first: list[str]):
        """One row per item of ``ids``; the columns ``first`` first."""
        import pandas as pd

        ids = np.asarray(ids, dtype=np.int64)
        batch_rank = {int(i): k for k, i in enumerate(state.batch.ids.tolist(), 1)}
        subpool_rank = {int(i): k for k, i in enumerate(self._subpool_order(state).tolist(), 1)}
        scores = {} if state.subpool.values is None else dict(zip(state.subpool.ids.tolist(), state.subpool.values))
        if np.array_equal(ids, state.batch.ids):
            via = state.batch.values
            assert via is not None  # map_state gives every batch item the anchor that retrieved it
        else:
            via = retrieving_anchor(self._run(name).loop.embeddings, ids, state.anchors.ids)
        empty = len(ids) == 0
        columns = {
            "subpool rank": pd_int([subpool_rank.get(int(i)) for i in ids]),
            "id": ids,
            "score": [round(float(scores[int(i)]), 3) if int(i) in scores else None for i in ids],
            self._uncertainty_column(name): [] if empty else np.round(self._scores(name, t, ids), 3),
            self._minority_column(): [] if empty else np.round(self._minority_proba(name, t, ids), 3),
            "batch rank": pd_int([batch_rank.get(int(i)) for i in ids]),
            "label (oracle)": [str(c) for c in self.labels[ids]],
        }
        if self.texts is not None:
            columns["text"] = [str(self.texts[int(i)]) for i in ids]
        columns["retrieved by (anchor)"] = [self._anchor_words(int(a)) for a in via]
        if state.subpool.values is None:
            del columns["score"]
        if not subpool_rank:
            del columns["subpool rank"]  # the none filter: the whole pool
            first = [c for c in first if c != "subpool rank"]
        order = first + [c for c in columns if c not in first]
        return pd.DataFrame({c: columns[c] for c in order})

    def point(self, name: str, t: int, item: int) -> dict:
        """All the map of iteration ``t`` knows of pool item ``item``: its layers, label (the
        oracle's), and for a subpool or batch item its ranks, score, the model's uncertainty
        and minority probability and the anchor that retrieved it."""
        t = self._clamp(name, t)
        state = self.state(name, t)
        item = int(item)
        if not 0 <= item < len(self.labels):
            raise InputError(f"no pool item {item} (the pool has ids 0 to {len(self.labels) - 1})")
        out: dict = {"id": item, "iteration": t, "label (oracle)": str(self.labels[item])}
        layers = [n for n in ("labelled", "anchors", "subpool", "batch") if item in getattr(state, n).ids]
        out["layers"] = layers or ["pool"]
        if "subpool" in layers or "batch" in layers:
            order = self._subpool_order(state).tolist()
            if item in order:
                out["subpool rank"] = f"{order.index(item) + 1} of {len(order):,}"
            if state.subpool.values is not None and item in order:
                out["score"] = round(float(state.subpool.values[state.subpool.ids.tolist().index(item)]), 3)
            ids = np.array([item])
            out[f"uncertainty ({self.uncertainty_name(name)})"] = round(float(self._scores(name, t, ids)[0]), 3)
            out[self._minority_column()] = round(float(self._minority_proba(name, t, ids)[0]), 3)
            anchor = int(retrieving_anchor(self._run(name).loop.embeddings, ids, state.anchors.ids)[0])
            if "batch" in layers:
                k = state.batch.ids.tolist().index(item)
                out["batch rank"] = f"{k + 1} of {len(state.batch)}"
                batch_anchors = state.batch.values
                assert batch_anchors is not None  # map_state gives every batch item its anchor
                anchor = int(batch_anchors[k])
            if anchor >= 0:
                out["retrieved by (anchor)"] = self._anchor_words(anchor)
        if self.texts is not None:
            out["text"] = str(self.texts[item])
        return out

    # ---- figures -----------------------------------------------------------------------

    def _map_traces(self, name: str, t: int, *, truth: bool = True, uncertainty: bool = False) -> list[dict]:
        """The map's layers; with ``truth``, above the subpool, the minority items nobody has
        labelled yet, which only a simulation knows: where the hidden clusters are. Hover says
        all the map knows of a point (with ``uncertainty``, the model's too); the pool sample is
        the background and answers no hover, so that hover finds the coloured points."""
        state = self.state(name, t)
        if truth:
            unseen = np.setdiff1d(np.flatnonzero(np.isin(self.labels, self.minority)), state.labelled.ids)
            state = replace(state, truth=Layer(unseen, self.projection.positions(unseen)))
        details = point_details(state, uncertainty=self.uncertainty(name, t) if uncertainty else None)
        return map_traces(state, texts=self.texts, pool_hover=False, details=details)

    def _map_title(self, name: str, t: int) -> str:
        t = self._clamp(name, t)
        title = f"{name}: {int(self.minority_found(name)[t])} minority found"
        if self.groups is not None:
            title += f"<br>{int(self.groups_found(name)[t])}/{len(self.hidden_groups)} hidden clusters reached"
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

    def replay_figure(self, t: int = 0, *, height: int = 780):
        """One figure: the runs' maps at iteration ``t`` side by side, and under them, per
        filter by iteration, minority found, hidden clusters found (with ``groups``), the
        subpool's minority share (with the whole pool's as a dotted line) and the minority F1,
        with a dotted line at ``t``. As wide as where it is shown (``autosize``): the maps
        share the width, the rows the height."""
        from plotly.subplots import make_subplots

        names, panels = self.filters, self._panels()
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
                    x=[0, max(0, self.iterations - 1)],
                    y=[self.pool_share] * 2,
                    name=f"whole pool ({self.pool_share:.1%})",
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
                fig.update_yaxes(range=[-0.1, len(self.hidden_groups) + 0.1], dtick=1, row=2, col=col)
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

    def replay(self, t: int = 0, *, height: int = 780):
        """An ipywidgets box: an iteration slider with play, pause and step buttons over one
        plotly FigureWidget that holds every run's map and the progress curves, all moving
        together, as wide as the output area. (One FigureWidget, not one per map: each
        carries plotly's whole JavaScript bundle.) Stop pauses where the slider is."""
        import ipywidgets as widgets

        fig = _figure_widget(self.replay_figure(t, height=height))
        sizes = [len(self._map_traces(name, t)) for name in self.filters]
        controls, slider = _iteration_controls(t, self.iterations - 1)

        def show(change):
            t = change["new"]
            with fig.batch_update():
                start = 0
                for i, name in enumerate(self.filters):
                    # FigureWidget renames uids, so traces are matched by position; the pool
                    # sample (first) never changes.
                    _refill(fig.data[start + 1 : start + sizes[i]], self._map_traces(name, t)[1:])
                    fig.layout.annotations[i].text = self._map_title(name, t)
                    start += sizes[i]
                for shape in fig.layout.shapes:
                    shape.update(x0=t, x1=t)

        slider.observe(show, names="value")
        return widgets.VBox([controls, fig], layout=widgets.Layout(width="100%"))

    def inspect(self, name: str | None = None, t: int | None = None, *, height: int = 760):
        """One run's map at iteration ``t`` (default: the first filter's last iteration) with
        an iteration slider, for a researcher: hover over a point says all the map knows of it
        (its subpool rank and score, batch rank, the model's uncertainty, the anchor that
        retrieved it), and a click shows it under the map with its whole text
        (:meth:`point`). The grey pool sample is the background: it answers neither."""
        import ipywidgets as widgets

        name = self.filters[0] if name is None else name
        run = self._run(name)
        last = len(run.loop.history) - 1
        t = last if t is None else self._clamp(name, t)
        fig = _figure_widget(self._inspect_figure(name, t, height))
        controls, slider = _iteration_controls(t, last)
        details = widgets.HTML(value=INSPECT_HINT, layout=widgets.Layout(width="100%"))
        details.add_class("aw-inspect-details")

        def clicked(trace, points, _state):
            if not points.point_inds:
                return
            item = int(trace.customdata[points.point_inds[0]])
            details.value = _details_html(self.point(name, slider.value, item))

        for trace in fig.data:
            trace.on_click(clicked)

        def show(change):
            t = change["new"]
            with fig.batch_update():
                _refill(fig.data[1:], self._map_traces(name, t, uncertainty=True)[1:])
                fig.layout.title.text = self._inspect_title(name, t)
            details.value = INSPECT_HINT

        slider.observe(show, names="value")
        box = widgets.VBox([controls, fig, details], layout=widgets.Layout(width="100%"))
        box.add_class("aw-inspect")
        return box

    def _inspect_title(self, name: str, t: int) -> str:
        record = self._run(name).loop.history[self._clamp(name, t)]
        sub = f"subpool {len(record.subpool_ids):,}" if record.subpool_ids else "no subpool (the whole pool)"
        return (
            f"{name}, iteration {self._clamp(name, t)}: {len(record.anchor_ids)} anchors, {sub}, "
            f"batch {len(record.batch_ids)}"
        )

    def _inspect_figure(self, name: str, t: int, height: int):
        import plotly.graph_objects as go

        fig = go.Figure(data=self._map_traces(name, t, uncertainty=True))
        fig.update_layout(map_layout(title=self._inspect_title(name, t), height=height))
        fig.update_layout(autosize=True, title={"font": {"size": 14}})
        return fig


def pd_int(values):
    """Integers with gaps, as pandas shows them (a nullable integer column)."""
    import pandas as pd

    return pd.array(values, dtype="Int64")


def _same(values: dict) -> str:
    distinct = sorted(set(values.values()))
    return str(distinct[0]) if len(distinct) == 1 else "/".join(str(v) for v in values.values())


def _ranked(values: dict, words) -> str:
    """``a 52, b 50, c 41``: most first (ties in the given order)."""
    order = sorted(values, key=lambda n: -values[n])
    return ", ".join(words(n, values[n]) for n in order)


def _figure_widget(figure):
    """A plotly FigureWidget as wide as its output area, also after a window resize.

    plotly's widget draws its plot before the output area has put it on the page, when it has
    no width yet, so at plotly's default 700 px. Layout ``autosize`` and the ``responsive``
    config make it follow window resizes; for the first drawing, each time a view reports its
    traces after drawing (the first report, or a report of an edit already reported: another
    view, drawn later), the kernel asks it to fit its container, at once and again a few
    seconds later, in case the answer came back before the view was on the page. (The kernel reads
    the report once it is free: after "run all", once the last cell has run. Asking earlier,
    from a timer, was measured to leave a plot empty when the request came while it drew.)
    After a window resize the view reports plotly's own fit; it may have measured the output
    area before JupyterLab laid it out anew (a busy browser), so the kernel asks again a moment
    later too."""
    import plotly.graph_objects as go

    widget = go.FigureWidget(figure)
    widget.layout.autosize = True
    widget._config = {**widget._config, "responsive": True}
    reported: set = set()

    def fit_container() -> None:
        widget._send_relayout_msg({"autosize": True})

    def fit(change) -> None:
        message = change["new"]
        if not message:
            return
        edit = message.get("trace_edit_id")
        if not reported or edit in reported:
            fit_container()
            for seconds in FIT_AGAIN_SECONDS:
                _later(seconds, fit_container)
        reported.add(edit)

    def refit(change) -> None:
        message = change["new"]
        if message and "autosize" in (message.get("relayout_data") or {}):  # plotly's resize, not a zoom
            for seconds in FIT_AGAIN_SECONDS:
                _later(seconds, fit_container)

    widget.observe(fit, names="_js2py_traceDeltas")
    widget.observe(refit, names="_js2py_relayout")
    return widget


def _later(seconds: float, job) -> None:
    import threading

    timer = threading.Timer(seconds, job)
    timer.daemon = True
    timer.start()


def _refill(traces, fresh) -> None:
    """Give the figure's traces (matched by position) the points of ``fresh``."""
    for trace, new in zip(traces, fresh):
        trace.update(
            x=new["x"],
            y=new["y"],
            customdata=new["customdata"],
            hovertext=new.get("hovertext"),
            marker_color=new["marker"]["color"],
        )


def _iteration_controls(t: int, last: int):
    """Play, the iteration slider, and one-step buttons: ``(box, slider)``.

    The play button moves the slider while it plays; stop only pauses. (ipywidgets' Play
    sends its value back to the start on stop, so it is linked here, not in the browser: its
    value moves the slider only while playing, and is put back otherwise.)"""
    import ipywidgets as widgets

    slider = widgets.IntSlider(value=t, min=0, max=last, description="iteration", continuous_update=False)
    slider.layout.width = "420px"
    play = widgets.Play(value=t, min=0, max=last, interval=900, show_repeat=False, description="play")
    back = widgets.Button(description="◀", tooltip="previous iteration", layout=widgets.Layout(width="40px"))
    forward = widgets.Button(description="▶", tooltip="next iteration", layout=widgets.Layout(width="40px"))

    def from_play(change):
        if play.playing:
            slider.value = change["new"]
        elif change["new"] != slider.value:
            play.value = slider.value  # stop: stay where the slider is

    def from_slider(change):
        if play.value != change["new"]:
            play.value = change["new"]

    play.observe(from_play, names="value")
    slider.observe(from_slider, names="value")
    back.on_click(lambda _: setattr(slider, "value", max(slider.min, slider.value - 1)))
    forward.on_click(lambda _: setattr(slider, "value", min(slider.max, slider.value + 1)))
    box = widgets.HBox([play, slider, back, forward])
    box.add_class("aw-iteration-controls")
    return box, slider


def _details_html(point: dict) -> str:
    """A clicked point's details as a small table (texts escaped)."""
    import html

    rows = []
    for key, value in point.items():
        if key == "layers":
            value = ", ".join(value)
        rows.append(
            f"<tr><th style='text-align:left;padding-right:1em;vertical-align:top'>{html.escape(str(key))}</th>"
            f"<td style='text-align:left'>{html.escape(str(value))}</td></tr>"
        )
    return "<table class='aw-point'>" + "".join(rows) + "</table>"
