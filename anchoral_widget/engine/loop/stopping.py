"""Have I found most of them, can I stop? Estimates of the rare items left and stopping rules.

The rare items left in the pool are estimated from *check samples* (:mod:`.check_samples`:
cards drawn from the unlabelled items by a known design, labelled like any other), whose answers
are weighted by the inverse of their chance of being drawn (Hajek's estimator). Each sample
estimates the rare items unlabelled when it was drawn; the rare items labelled since are taken
off, and the samples are pooled (:func:`pooling_weights`), their intervals' distances added as
variances, so that the interval narrows as answers come in. :meth:`Estimate.answers_for` says
how many more answers would narrow it to ``PRECISION`` of the estimate either way.

A sample that kept the model's probabilities (of the items drawn, and how the unlabelled items
spread over them) and holds ``ASSISTED_FROM`` rare answers is read with the model's help
(model-assisted, a generalised regression estimator): a logistic calibration of those
probabilities is fitted to the answers, weighted by the inverse chances, and summed over every
item the sample was drawn from; its intercept makes the weighted residuals of the answers sum to
zero, so the design still holds the sum unbiased, and its variance is the residuals'. The model
the sample was drawn with is kept, not the current one, which has learned the sample's answers.
What each choice gained is measured in ``docs/stopping-and-checks.md``.

The rules (each computed from the loop's own records, live):

- ``since_last_rare``: labels answered since the last rare one (ASReview's heuristic);
- ``stability``: Cohen's kappa between successive models' predictions on a fixed set of
  items, averaged over the last three pairs (Bloodgood & Vijay-Shanker's stabilising
  predictions, small-text's KappaAverage);
- ``estimated_recall``: rare items found over found plus the estimate of those left (its lower
  bound, from the upper end of the interval).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..learners.learner import BoundModel
from ..learners.metrics import cohen_kappa
from .active import ActiveLoop
from .check_samples import LEAN_EDGES, CheckSample

CALIBRATION_C = 100.0
ASSISTED_FROM = 10  # rare answers a sample needs for the model's help: fewer cannot fit a calibration
ASSISTED_ANSWERS = 50  # answers in all it needs: a calibration on 20 cards claimed a precision it lacked
Z_95 = 1.959964
KAPPA_WINDOW = 3
KAPPA_STABLE = 0.99
STABILITY_SET = 1000
PATIENCE = 200  # labels without a rare one before that rule holds
RECALL_TARGET = 0.95
MIN_ANSWERED = 20  # sample answers below which no estimate is given
PRECISION = 0.2  # an interval within 20% of the estimate either way is one to stop on


@dataclass
class Estimate:
    """Rare items left unlabelled: the estimate, its 95% interval, and what it rests on."""

    left: float
    low: float
    high: float
    found: int
    answered: int
    samples: int
    needed: int = 0  # sample answers still needed before an estimate is given
    note: str = ""

    @property
    def recall(self) -> float:
        return self.found / (self.found + self.left) if self.found + self.left > 0 else float("nan")

    @property
    def recall_low(self) -> float:
        return self.found / (self.found + self.high) if self.found + self.high > 0 else float("nan")

    def answers_for(self, within: float = PRECISION) -> int | None:
        """About how many more check-sample answers would bring the 95% interval within ``within``
        of the estimate either way, were it to narrow as one over their square root; None without
        an estimate. Below the interval's middle (few rare answers) it is measured against that: a floor."""
        if self.left != self.left or self.answered == 0:
            return None
        half = (self.high - self.low) / 2
        scale = max(self.left, (self.low + self.high) / 2)
        if half <= within * scale:
            return 0
        return int(np.ceil(self.answered * (half / (within * scale)) ** 2)) - self.answered


def _labelled_in_order(loop: ActiveLoop) -> tuple[np.ndarray, np.ndarray]:
    """The labelled ids in labelling order, and whether each is of a rare class."""
    return loop.labelled_ids, np.isin(loop.labelled_classes, sorted(loop.minority_indices))


def estimate_left(loop: ActiveLoop, samples: list[CheckSample]) -> Estimate:
    """Rare items still unlabelled, from the check samples' answered items (skipped or unanswered
    draws are left out: the rest are taken as a sample of the same design).

    Each sample's share of rare items is Hajek's; its interval is Wilson's on the sample's
    effective size, so that a sample with no rare item in it still bounds the share from above (a
    normal interval would shrink to nothing there). The samples are pooled with
    :func:`pooling_weights`; each side of the pooled interval adds the samples' distances from
    their estimates to their bounds as variances, weighted likewise.
    """
    ids, rare = _labelled_in_order(loop)
    found = int(rare.sum())
    rare_of = dict(zip(ids.tolist(), rare.tolist(), strict=True))
    answered = 0
    parts = []
    for sample in samples:
        known = np.array([i in rare_of for i in sample.ids.tolist()], dtype=bool)
        if not known.any():
            continue
        y = np.array([rare_of[i] for i in sample.ids[known].tolist()], dtype=np.float64)
        w = 1.0 / sample.chances[known]
        share = float((w * y).sum() / w.sum())
        low, high = wilson(share, effective_size(share, w, sample.chances[known], y))
        assisted_variance = float("nan")
        leans, spread = sample.leans, sample.spread
        if leans is not None and spread is not None and ASSISTED_ANSWERS <= len(y) > y.sum() >= ASSISTED_FROM:
            share, size = model_assisted(leans[known], y, sample.chances[known], spread)
            assisted_variance = share * (1 - share) / size
            # the residuals' variance leaves out the calibration's own error: the interval is at
            # least as wide as the weights' alone, and a count is uncertain by an item either way
            assisted = wilson(share, size)
            low = min(low, assisted[0] - 1 / sample.unlabelled)
            high = max(high, assisted[1] + 1 / sample.unlabelled)
        found_since = int(rare[sample.labels_before :].sum())
        bounds = [max(0.0, bound * sample.unlabelled - found_since) for bound in (share, low, high)]
        kish = w.sum() ** 2 / (w**2).sum()
        parts.append([*bounds, kish, sample.unlabelled, found_since, assisted_variance])
        answered += int(known.sum())
    if answered < MIN_ANSWERED:
        needed, nan = MIN_ANSWERED - answered, float("nan")
        note = f"{needed} more check-sample answers are needed for an estimate"
        return Estimate(nan, nan, nan, found, answered, len(parts), needed=needed, note=note)
    table = np.asarray(parts)
    weights = pooling_weights(table)
    left = float(weights @ table[:, 0])
    below = float(np.sqrt((weights**2) @ (table[:, 0] - table[:, 1]) ** 2))
    above = float(np.sqrt((weights**2) @ (table[:, 2] - table[:, 0]) ** 2))
    return Estimate(left, max(0.0, left - below), left + above, found, answered, len(parts))


def pooling_weights(table: np.ndarray) -> np.ndarray:
    """Each sample's weight: the inverse of the variance its count would have were the pooled
    estimate true (``share (1 - share) / Kish size``, or a model-assisted sample's residuals'), not
    its own: that is least where it saw no rare item, and pulled ten 20-card samples' estimate to
    half the truth. ``table``'s columns: left, low, high, Kish size, unlabelled, found since, the
    assisted variance (NaN: none)."""
    kish, unlabelled, found_since, assisted = table[:, 3], table[:, 4], table[:, 5], table[:, 6]
    weights = kish / kish.sum()
    for _ in range(2):  # from the estimate the sizes give, then from the one the variances give
        left = float(weights @ table[:, 0])
        share = np.clip((left + found_since) / unlabelled, 0.5 / unlabelled, 1.0)
        variance = np.where(np.isnan(assisted), share * (1 - share) / kish, assisted) * unlabelled**2
        if not (variance > 0).all():
            break
        weights = (1 / variance) / (1 / variance).sum()
    return np.asarray(weights)


def model_assisted(leans: np.ndarray, y: np.ndarray, chances: np.ndarray, spread: np.ndarray) -> tuple[float, float]:
    """The share of rare items among those a sample was drawn from, and its effective size: a
    logistic calibration of the drawn items' ``leans`` (logits) fitted to their answers ``y``
    (weights: inverse ``chances``), summed over the bins of the unlabelled items' ``spread``;
    the variance from the residuals under Poisson sampling."""
    from sklearn.linear_model import LogisticRegression

    w = 1.0 / chances
    calibration = LogisticRegression(C=CALIBRATION_C, max_iter=1000)
    calibration.fit(leans[:, None], y, sample_weight=w)
    centres = (LEAN_EDGES[:-1] + LEAN_EDGES[1:]) / 2
    n = float(spread.sum())
    share = float(spread @ calibration.predict_proba(centres[:, None])[:, 1]) / n
    residuals = y - calibration.predict_proba(leans[:, None])[:, 1]
    variance = float(((1 - chances) * (w * residuals) ** 2).sum()) / n**2
    share = min(1.0, max(0.0, share))
    if not 0 < share < 1 or variance <= 0:
        return share, float(len(y))
    return share, share * (1 - share) / variance


def effective_size(share: float, w: np.ndarray, chances: np.ndarray, y: np.ndarray) -> float:
    """The size of a simple random sample as precise as this one: from the linearised variance of
    Hajek's share under Poisson sampling, or, with no rare item seen (no variance to read),
    Kish's size from the weights alone."""
    variance = float(((1 - chances) * (w * (y - share)) ** 2).sum() / w.sum() ** 2)
    if 0 < share < 1 and variance > 0:
        return share * (1 - share) / variance
    return float(w.sum() ** 2 / (w**2).sum())


def wilson(share: float, n: float, z: float = Z_95) -> tuple[float, float]:
    """Wilson's score interval for a proportion seen in ``n`` (effective) draws."""
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(share * (1 - share) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class Stability:
    """Successive models' predictions on a fixed set of items, and the kappa between each pair."""

    items: np.ndarray
    predictions: list[np.ndarray] = field(default_factory=list)
    kappas: list[float] = field(default_factory=list)

    @classmethod
    def for_pool(cls, size: int, seed: int = 0, count: int = STABILITY_SET) -> Stability:
        rng = np.random.default_rng([seed, 7302])
        return cls(np.sort(rng.choice(size, size=min(size, count), replace=False)))

    def observe(self, loop: ActiveLoop, model: Any = None) -> None:
        """Record the predictions of ``model`` (the loop's current one by default)."""
        model = loop.model_ if model is None else model
        if model is None:
            return
        predicted = BoundModel(model, loop.pool.features(loop.learner)).predicted(self.items)
        if self.predictions:
            self.kappas.append(cohen_kappa(self.predictions[-1], predicted))
        self.predictions.append(predicted)

    def average(self, window: int = KAPPA_WINDOW) -> float:
        return float(np.mean(self.kappas[-window:])) if len(self.kappas) >= window else float("nan")


@dataclass
class Rule:
    name: str
    holds: bool | None  # None: not enough to say
    value: float
    says: str


def since_last_rare(loop: ActiveLoop) -> int:
    """Labels given after the last rare one (all of them if none is rare)."""
    _, rare = _labelled_in_order(loop)
    hits = np.flatnonzero(rare)
    return len(rare) if len(hits) == 0 else int(len(rare) - 1 - hits[-1])


def rules(
    loop: ActiveLoop,
    estimate: Estimate,
    stability: Stability | None = None,
    *,
    patience: int = PATIENCE,
    recall_target: float = RECALL_TARGET,
) -> list[Rule]:
    """Each rule's verdict now, in words."""
    gap = since_last_rare(loop)
    out = [
        Rule(
            "since_last_rare",
            gap >= patience,
            gap,
            f"{gap} labels since the last rare one ({'at least' if gap >= patience else 'fewer than'} {patience})",
        )
    ]
    kappa = float("nan") if stability is None else stability.average()
    if kappa != kappa:
        out.append(Rule("stability", None, kappa, f"needs {KAPPA_WINDOW + 1} models to compare"))
    else:
        steady = kappa >= KAPPA_STABLE
        verb = "agree" if steady else "still change"
        says = f"the models' predictions {verb}: kappa {kappa:.3f} over the last {KAPPA_WINDOW} pairs"
        out.append(Rule("stability", steady, kappa, says))
    if estimate.left != estimate.left:
        out.append(Rule("estimated_recall", None, float("nan"), estimate.note))
    else:
        low = estimate.recall_low
        out.append(
            Rule(
                "estimated_recall",
                low >= recall_target,
                estimate.recall,
                f"about {estimate.left:.0f} rare items left (95% interval {estimate.low:.0f}-{estimate.high:.0f}); "
                f"recall {estimate.recall:.0%}, at least {low:.0%}",
            )
        )
    return out


def batch_advantage(loop: ActiveLoop, estimate: Estimate, *, last: int = 10) -> Rule:
    """Do the batches find rare items faster than random picks would? The rare share of the
    answers to the last ``last`` batches against the estimated share among the unlabelled items
    (the check samples'): a pool whose rare class has no neighbourhood of its own (sentiment, say)
    gives AnchorAL nothing to follow."""
    first = loop.iteration - last
    answered = [e for e in loop.events if e.kind == "label" and e.source is None and e.iteration >= max(0, first)]
    classes = np.concatenate([e.classes for e in answered if e.classes is not None]) if answered else np.empty(0)
    if len(classes) == 0 or estimate.left != estimate.left:
        return Rule("batches_beat_random", None, float("nan"), "needs answered batches and a check sample's estimate")
    share = float(np.isin(classes, sorted(loop.minority_indices)).mean())
    unlabelled = max(1, loop.unlabelled_count)
    low, mid, high = (x / unlabelled for x in (estimate.low, estimate.left, estimate.high))
    words = (
        f"the last batches hold {share:.1%} rare items, against about {mid:.1%} ({low:.1%}-{high:.1%}) left in the pool"
    )
    if share > high:
        return Rule("batches_beat_random", True, share, f"{words}: they find them faster than random picks would")
    if share <= mid:
        return Rule(
            "batches_beat_random",
            False,
            share,
            f"{words}: AnchorAL is not helping here (no faster than random picks); the rare class may have no "
            "neighbourhood of its own in these embeddings",
        )
    return Rule("batches_beat_random", None, share, f"{words}: too close to tell yet")
