"""The runs of :func:`~anchoral_widget.replay.compare.compare` and what they found: each run's
map at any iteration, minority items and hidden groups found, curves, a summary in a table and
in words, and each iteration's model fitted again (what the strategy saw).

A :class:`Comparison`'s views live beside it, each a function of it: the tables of a
researcher's view (:mod:`.tables`), the replay's figure (:mod:`.replayfigure`), and the
replay and inspector widgets (:mod:`.viewers`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..engine.learners.learner import BoundModel, fit_learner, take
from ..engine.loop.active import ActiveLoop
from ..engine.loop.labelled import unlabelled_sample
from ..engine.loop.proposing import unlabelled_rows
from ..engine.method.strategies import Uncertainty, entropy
from ..errors import InputError
from ..views.curves import curve_data
from ..views.mapstate import MapState, map_state
from ..views.projection import Projection
from . import replayfigure, tables, viewers


@dataclass
class Run:
    """One filter's simulation: the loop after it, and the shared initial set."""

    name: str
    loop: ActiveLoop
    initial_ids: np.ndarray

    def labelled_before(self, t: int) -> np.ndarray:
        """Ids labelled when iteration ``t`` was proposed: the initial set and earlier batches."""
        parts = [self.initial_ids] + [np.asarray(r.batch_ids, dtype=np.int64) for r in self.loop.history[:t]]
        return np.concatenate(parts)


class Comparison:
    """The runs of :func:`~anchoral_widget.replay.compare.compare`, and views of any iteration of them."""

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

    def clamp(self, name: str, t: int) -> int:
        """``t`` within run ``name``'s iterations."""
        return max(0, min(int(t), len(self.run(name).loop.history) - 1))

    def run(self, name: str) -> Run:
        """The run of pool filter ``name``."""
        if name not in self.runs:
            raise InputError(f"no run {name!r}: the runs are {', '.join(self.runs)}")
        return self.runs[name]

    # ---- per-iteration views ---------------------------------------------------------

    def state(self, name: str, t: int) -> MapState:
        """The map of run ``name`` at iteration ``t``: labelled set before it, its anchors,
        subpool and batch."""
        run = self.run(name)
        t = self.clamp(name, t)
        record = run.loop.history[t]
        labelled = run.labelled_before(t)
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
        per = [sum(1 for c in r.batch_labels if c in minority) for r in self.run(name).loop.history]
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
        for r in self.run(name).loop.history:
            found |= hidden & set(self.groups[np.asarray(r.batch_ids, dtype=np.int64)].tolist())
            out.append(len(found))
        return np.asarray(out, dtype=np.int64)

    def curves(self, name: str):
        """The run's curves (:func:`~anchoral_widget.views.curves.curve_data`), with the
        pool's minority share to compare the subpools' with."""
        loop = self.run(name).loop
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
        t = self.clamp(name, t)
        if (name, t) not in self._models:
            run = self.run(name)
            loop = run.loop
            ids = run.labelled_before(t)
            features = loop.pool.features(loop.learner)
            y = loop.class_indices(self.labels[ids])
            minority = sorted(loop.minority_indices)
            excluded = np.zeros(len(loop.pool), dtype=bool)
            excluded[ids] = True  # a simulated run skips nothing
            draw = lambda size: unlabelled_sample(size, loop.seed, excluded, loop.pool.missing)
            X, sample = take(features, ids), unlabelled_rows(loop, features, draw)
            model = fit_learner(loop.learner, X, y, len(loop.classes), loop.seed, minority=minority, **sample)
            self._models[(name, t)] = BoundModel(model, features)
        return self._models[(name, t)]

    def uncertainty_name(self, name: str) -> str:
        """What :meth:`uncertainty` measures for run ``name``: its strategy's score when the
        strategy ranks by one (entropy, margin, least confidence), else the entropy."""
        strategy = self.run(name).loop.strategy
        return strategy.name if isinstance(strategy, Uncertainty) else "entropy"

    def uncertainty(self, name: str, t: int, ids=None) -> dict[int, float]:
        """id -> the model's uncertainty at iteration ``t`` (:meth:`uncertainty_name`; higher:
        less sure, the strategy's reason to pick) for ``ids``, by default the iteration's
        subpool and batch. The model is fitted again as the loop fitted it (a fraction of a
        second for a classifier on embeddings; a fine-tuned transformer takes minutes)."""
        t = self.clamp(name, t)
        record = self.run(name).loop.history[t]
        if ids is None:
            ids = list(dict.fromkeys(record.subpool_ids + record.batch_ids))
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) == 0:
            return {}
        scores = self.uncertainty_scores(name, t, ids)
        return dict(zip(ids.tolist(), scores.tolist()))

    def uncertainty_scores(self, name: str, t: int, ids: np.ndarray) -> np.ndarray:
        """The model's uncertainty at iteration ``t`` (:meth:`uncertainty_name`) for ``ids``."""
        bound = self._model(name, t)
        strategy = self.run(name).loop.strategy
        if isinstance(strategy, Uncertainty):
            return np.asarray(strategy.score(bound, ids), dtype=np.float64)
        return entropy(bound.proba(ids))

    def minority_probability(self, name: str, t: int, ids: np.ndarray) -> np.ndarray:
        """The model's probability at iteration ``t`` that each of ``ids`` is of a minority class."""
        columns = [self.classes.index(c) for c in self.minority]
        return self._model(name, t).proba(ids)[:, columns].sum(axis=1)

    # ---- tables (a researcher's view) ---------------------------------------------------

    def anchors_table(self, name: str, t: int):
        """The anchors of iteration ``t``, by class: id, class, how many batch items each
        retrieved, text."""
        return tables.anchors_table(self, name, t)

    def subpool_table(self, name: str, t: int, *, top: int | None = 15, by: str = "score"):
        """The subpool of iteration ``t``, ``top`` rows (None: all), best first ``by``
        ``"score"`` (AnchorAL's: the mean similarity to the anchors that retrieved an item) or
        ``"uncertainty"`` (the strategy's: why it picked the batch from the subpool).

        Columns: rank in the subpool by score, id, score, the model's uncertainty
        (:meth:`uncertainty`) and minority probability, rank in the batch (empty: not
        picked), the oracle's label, text, and the anchor that retrieved it (the most similar
        one)."""
        return tables.subpool_table(self, name, t, top=top, by=by)

    def batch_table(self, name: str, t: int):
        """The batch of iteration ``t`` in the order the strategy picked it (batch rank), with
        the same columns as :meth:`subpool_table`."""
        return tables.batch_table(self, name, t)

    def point(self, name: str, t: int, item: int) -> dict:
        """All the map of iteration ``t`` knows of pool item ``item``: its layers, label (the
        oracle's), and for a subpool or batch item its ranks, score, the model's uncertainty
        and minority probability and the anchor that retrieved it."""
        return tables.point(self, name, t, item)

    # ---- figures and widgets -----------------------------------------------------------

    def replay_figure(self, t: int = 0, *, height: int = 780):
        """One figure: the runs' maps at iteration ``t`` side by side, and under them, per
        filter by iteration, minority found, hidden clusters found (with ``groups``), the
        subpool's minority share (with the whole pool's as a dotted line) and the minority F1,
        with a dotted line at ``t``. As wide as where it is shown (``autosize``): the maps
        share the width, the rows the height."""
        return replayfigure.replay_figure(self, t, height=height)

    def replay(self, t: int = 0, *, height: int = 780):
        """An ipywidgets box: an iteration slider with play, pause and step buttons over one
        plotly FigureWidget that holds every run's map and the progress curves, all moving
        together, as wide as the output area. (One FigureWidget, not one per map: each
        carries plotly's whole JavaScript bundle.) Stop pauses where the slider is."""
        return viewers.replay(self, t, height=height)

    def inspect(self, name: str | None = None, t: int | None = None, *, height: int = 760):
        """One run's map at iteration ``t`` (default: the first filter's last iteration) with
        an iteration slider, for a researcher: hover over a point says all the map knows of it
        (its subpool rank and score, batch rank, the model's uncertainty, the anchor that
        retrieved it), and a click shows it under the map with its whole text
        (:meth:`point`). The grey pool sample is the background: it answers neither."""
        return viewers.inspect(self, name, t, height=height)


def _same(values: dict) -> str:
    distinct = sorted(set(values.values()))
    return str(distinct[0]) if len(distinct) == 1 else "/".join(str(v) for v in values.values())


def _ranked(values: dict, words) -> str:
    """``a 52, b 50, c 41``: most first (ties in the given order)."""
    order = sorted(values, key=lambda n: -values[n])
    return ", ".join(words(n, values[n]) for n in order)
