"""The loop's settings: checked against the pool's size (an InputError names a bad one), kept as
its ``config`` (and its store's), and the parts of the method they make."""

from __future__ import annotations

from typing import Any

from ...errors import InputError
from ..learners.learner import make_learner
from ..method.filters import POOL_FILTERS, make_filter
from ..method.strategies import make_strategy

# items from beyond the anchors' neighbourhoods in each AnchorAL subpool, by default: with 5,000
# the default session found at least as many rare items as randsub on every bundled pool, its
# minority F1 nowhere significantly below (`benchmarks/subpool_breadth.py`); 0 is the paper's
OUTSIDE_SAMPLE = 5000


def loop_settings(
    pool_size: int,
    *,
    pool_filter: str,
    strategy: str,
    learner: str,
    batch_size: int,
    anchors_per_class: int,
    neighbours: int,
    subpool_size: int | None,
    anchor_strategy: str,
    minority_anchor_strategy: str,
    seed: int,
    outside_sample: int | None = None,
) -> dict[str, Any]:
    """The loop's settings as its ``config`` (and its store) keep them, checked against the pool."""
    if pool_filter not in POOL_FILTERS:
        raise InputError(f"unknown pool filter {pool_filter!r}; choose from {', '.join(POOL_FILTERS)}")
    if outside_sample is None:
        outside_sample = OUTSIDE_SAMPLE if pool_filter == "anchoral" else 0
    elif outside_sample and pool_filter != "anchoral":
        raise InputError(f"outside_sample adds to AnchorAL's subpool; the {pool_filter!r} filter has none to add to")
    if outside_sample < 0:
        raise InputError(f"outside_sample is a number of items, 0 or more: got {outside_sample}")
    if subpool_size is None:  # the paper's defaults, never more than the pool
        subpool_size = min(10_000 if pool_filter == "randsub" else 1_000, pool_size)
    config: dict[str, Any] = {
        "pool_filter": pool_filter,
        "strategy": strategy,
        "learner": learner,
        "batch_size": int(batch_size),
        "anchors_per_class": int(anchors_per_class),
        "neighbours": int(neighbours),
        "subpool_size": int(subpool_size),
        "anchor_strategy": anchor_strategy,
        "minority_anchor_strategy": minority_anchor_strategy,
        "seed": int(seed),
        "outside_sample": int(outside_sample),
    }
    check_sizes(config, pool_size)
    return config


def check_sizes(cfg: dict[str, Any], n: int) -> None:
    """Settings that a pool of ``n`` items can serve: at least one batch, one subpool, K neighbours."""
    if cfg["batch_size"] < 1:
        raise InputError(f"batch_size must be at least 1, got {cfg['batch_size']}")
    if n < cfg["batch_size"]:
        raise InputError(f"the pool has {n} items, fewer than one batch (batch_size={cfg['batch_size']})")
    if cfg["pool_filter"] in ("anchoral", "seals") and n < cfg["neighbours"]:
        raise InputError(f"the pool has {n} items, fewer than neighbours={cfg['neighbours']}")
    if cfg["pool_filter"] in ("anchoral", "randsub") and n < cfg["subpool_size"]:
        raise InputError(f"the pool has {n} items, fewer than subpool_size={cfg['subpool_size']}")
    if cfg["anchors_per_class"] < 1 or cfg["neighbours"] < 1 or cfg["subpool_size"] < 1:
        raise InputError("anchors_per_class, neighbours and subpool_size must be at least 1")


def checked_overlap(overlap: float) -> float:
    """A team's overlap (the share of each batch given to second answers), checked."""
    if not 0.0 <= overlap < 1.0:
        raise InputError(f"overlap is a share of each batch, from 0 up to (not including) 1: got {overlap}")
    return float(overlap)


def method_parts(config: dict[str, Any], learner: str | object) -> tuple[Any, Any, Any]:
    """The pool filter, the strategy and the learner that ``config`` names (``learner`` as given:
    a name or a learner object)."""
    pool_filter = make_filter(
        config["pool_filter"],
        anchors_per_class=config["anchors_per_class"],
        neighbours=config["neighbours"],
        subpool_size=config["subpool_size"],
        minority_anchor_strategy=config["minority_anchor_strategy"],
        majority_anchor_strategy=config["anchor_strategy"],
        outside=config["outside_sample"],
    )
    return pool_filter, make_strategy(config["strategy"]), make_learner(learner)
