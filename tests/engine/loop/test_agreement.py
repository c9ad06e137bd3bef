"""Agreement in a team: with overlap, a share of each batch goes to items someone else labelled;
kappas are measured on the items answered twice; conflicts wait for a resolve, an event of its own."""

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from anchoral_widget.engine.loop.active import ActiveLoop
from anchoral_widget.engine.loop.agreement import agreement
from anchoral_widget.engine.loop.labelled import LabelledSet
from anchoral_widget.engine.loop.records import Event
from anchoral_widget.errors import InputError

PARAMS = dict(classes=["other", "rare"], minority=["rare"], batch_size=8, subpool_size=150, index="exact", seed=0)

# Fleiss (1971) as worked on Wikipedia's "Fleiss' kappa" page: 10 items, 14 raters, 5 classes, 0.210.
FLEISS_TABLE = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def answered(table_rows):
    """A labelled set where rater r gave item i the classes of ``table_rows`` (counts per class)."""
    labelled = LabelledSet(len(table_rows))
    for item, counts in enumerate(table_rows):
        given = [c for c, n in enumerate(counts) for _ in range(n)]
        for rater, cls in enumerate(given):
            labelled.apply(Event("label", np.array([item]), np.array([cls]), 0, 0.0, annotator=f"r{rater}"))
    return labelled


def test_fleiss_kappa_matches_the_worked_example():
    result = agreement(answered(FLEISS_TABLE), list("abcde"))
    assert result.fleiss == pytest.approx(0.210, abs=0.001)
    assert result.items == 10 and len(result.conflicts) == 9  # all but the first item disagree


def test_cohens_kappa_per_pair_is_scikit_learns():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 3, 40)
    b = np.where(rng.random(40) < 0.7, a, rng.integers(0, 3, 40))
    labelled = LabelledSet(40)
    for item in range(40):
        for who, cls in (("ann", a[item]), ("ben", b[item])):
            labelled.apply(Event("label", np.array([item]), np.array([cls]), 0, 0.0, annotator=who))
    result = agreement(labelled, ["x", "y", "z"])
    assert result.cohen[("ann", "ben")] == pytest.approx(cohen_kappa_score(a, b))
    assert "Cohen's kappa ann & ben" in str(result)


def test_overlap_asks_for_second_answers_and_a_resolve_settles_a_conflict(store_at, pool):
    X, y, _ = pool
    where = store_at()
    alice = ActiveLoop(X, store=where, annotator="alice", overlap=0.25, **PARAMS)
    bob = ActiveLoop(X, store=where, annotator="bob", overlap=0.25, **PARAMS)
    init = np.r_[np.flatnonzero(y == "rare")[:3], np.flatnonzero(y == "other")[:12]]
    alice.label(init, y[init])
    proposal = bob.propose()
    second = proposal.second_ids
    assert len(second) == 2 and set(second.tolist()) <= set(init.tolist()), "two of eight: items alice labelled"
    assert len(proposal.batch_ids) == 8 and set(second.tolist()) <= set(bob.unanswered().tolist())
    answers = y[proposal.batch_ids].copy()
    flipped = int(second[0])
    answers[proposal.batch_ids == flipped] = "rare" if y[flipped] == "other" else "other"
    bob.label(proposal.batch_ids, answers)
    assert len(bob.unanswered()) == 0 and bob.iteration == 1, "the second answers finished the batch too"
    assert bob.labels[flipped] == y[flipped], "the first answer stays the label"

    alice.sync()
    result = alice.agreement()
    assert result.items == 2 and result.conflicts == [flipped]
    assert result.answers[flipped] == {"alice": y[flipped], "bob": answers[proposal.batch_ids == flipped][0]}
    alice.resolve([flipped], [y[flipped]])  # alice decides: her answer stands
    assert alice.agreement().conflicts == [] and alice.labels[flipped] == y[flipped]
    assert [r.kind for r in alice.store.rows()][-1] == "resolve", "the decision is logged, though nothing changed"
    replayed = ActiveLoop(X, store=where, annotator="carol", **PARAMS)
    assert replayed.agreement().answers == alice.agreement().answers and replayed.agreement().conflicts == []
    alice.undo()
    assert alice.agreement().conflicts == [flipped]


def test_overlap_outside_zero_to_one_is_refused(pool):
    X, _, _ = pool
    with pytest.raises(InputError, match="overlap is a share"):
        ActiveLoop(X, overlap=1.5, **PARAMS)


def test_without_a_shared_store_there_is_no_second_answer(tmp_path, pool):
    X, y, _ = pool
    loop = ActiveLoop(X, store=tmp_path / "alone.db", annotator="alice", overlap=0.5, **PARAMS)
    init = np.r_[np.flatnonzero(y == "rare")[:3], np.flatnonzero(y == "other")[:12]]
    loop.label(init, y[init])
    assert len(loop.propose().second_ids) == 0 and "no item answered by two people" in str(loop.agreement())
