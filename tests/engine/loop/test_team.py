"""Several people label one pool through one shared store: each sees the others' labels before
proposing, batches never overlap, an item two people answered keeps the first answer as its label
and the second as an opinion, undo takes back one's own last call, and a loop that labelled live
always agrees with a loop that replays the log afterwards."""

import json
from contextlib import contextmanager

import numpy as np
import pytest

from anchoral_widget.engine.loop.active import ActiveLoop

PARAMS = dict(classes=["other", "rare"], minority=["rare"], batch_size=8, subpool_size=150, index="exact", seed=0)


def member(X, where, name, **kw):
    return ActiveLoop(X, store=where, annotator=name, **{**PARAMS, **kw})


def seed(loop, y):
    init = np.r_[np.flatnonzero(y == "rare")[:3], np.flatnonzero(y == "other")[:12]]
    loop.label(init, y[init])


def answer(loop, y, skip=0):
    batch = loop.propose().unanswered(loop.excluded)
    if skip:
        loop.skip(batch[:skip])
    loop.label(batch[skip:], y[batch[skip:]])
    return batch


@contextmanager
def blind(loop):
    """``loop`` does not look at the others' rows before proposing (the race of two kernels that
    propose at the same moment); writing still applies them, as it always does."""
    real = loop._follower.catch_up
    loop._follower.catch_up = lambda: 0
    try:
        yield
    finally:
        loop._follower.catch_up = real


def state(loop):
    loop.sync()
    return loop.labels, loop.skipped_ids.tolist(), {i: list(o) for i, o in loop._labelled.opinions.items() if o}


def test_each_sees_the_others_labels_and_batches_never_overlap(store_at, pool):
    X, y, _ = pool
    where = store_at()
    alice, bob = member(X, where, "alice"), member(X, where, "bob")
    seed(alice, y)
    a = alice.propose().batch_ids
    b = bob.propose().batch_ids  # proposed from alice's seed labels, around her open batch
    assert bob.labelled_count == alice.labelled_count == 15
    assert len(a) == len(b) == 8 and not set(a.tolist()) & set(b.tolist())
    bob.label(b, y[b])
    alice.label(a, y[a])
    assert alice.propose().labelled_count == 31, "the next proposal is trained on everyone's labels"
    assert state(alice)[0] == state(bob)[0] == member(X, where, "carol").labels
    rows = alice.store.rows()
    assert {r.annotator for r in rows} == {"alice", "bob"}


def test_two_proposals_at_the_same_moment_split_the_items(store_at, pool):
    """Bob proposes before he has seen alice's proposal (both from the same labels: the same
    batch); the one logged first keeps the items, the other proposes again around them."""
    X, y, _ = pool
    where = store_at()
    alice, bob = member(X, where, "alice"), member(X, where, "bob")
    seed(alice, y)
    bob.sync()
    a = alice.propose().batch_ids
    with blind(bob):  # the race: alice's row is not seen before bob's proposal is made
        b = bob.propose().batch_ids
    assert len(b) == 8 and not set(a.tolist()) & set(b.tolist())
    assert state(member(X, where, "carol")) == state(alice) == state(bob)
    # each resumes its own batch after a restart, not the other's
    assert member(X, where, "bob").pending.batch_ids.tolist() == b.tolist()
    assert member(X, where, "alice").pending.batch_ids.tolist() == a.tolist()


def test_a_second_answer_is_an_opinion_and_undo_is_ones_own(store_at, pool):
    X, y, _ = pool
    where = store_at()
    alice, bob = member(X, where, "alice"), member(X, where, "bob")
    seed(alice, y)
    bob.sync()
    first = int(np.flatnonzero(y == "rare")[0])
    bob.label([first], ["other"])  # bob disagrees with alice's label: an opinion, not an error
    assert bob.labels[first] == "rare" and bob._labelled.opinions[first] == [("bob", 0)]
    with pytest.raises(Exception, match="already labelled"):
        bob.label([first], ["rare"])  # bob has answered it already
    bob.label([1999], [y[1999]])
    alice.label([1998], [y[1998]])
    bob.sync()
    bob.undo()  # bob's last call (1999), not alice's later one
    assert 1999 not in bob.labels and 1998 in bob.labels
    alice.sync()
    assert state(alice) == state(bob) == state(member(X, where, "carol"))


def test_the_later_correction_wins_and_both_are_kept(store_at, pool):
    X, y, _ = pool
    where = store_at()
    alice, bob = member(X, where, "alice"), member(X, where, "bob")
    seed(alice, y)
    bob.sync()
    item = int(np.flatnonzero(y == "other")[0])
    alice.correct([item], ["rare"])
    bob.correct([item], ["rare"])  # bob has not seen alice's: he corrects from "other" too
    assert state(alice)[0][item] == state(bob)[0][item] == "rare"
    bob.correct([item], ["other"])
    assert state(alice)[0][item] == "other"
    kinds = [(r.kind, r.annotator) for r in alice.store.rows()]
    assert ("correct", "alice") in kinds and kinds.count(("correct", "bob")) == 2


@pytest.mark.parametrize("trial", range(4))
def test_any_interleaving_ends_where_a_replay_of_the_log_does(tmp_path, pool, trial):
    """The property: three people doing random things in random order (label, skip, correct,
    undo, propose, with and without syncing first); afterwards every one of them, a fresh replay
    and each one's own restart agree on labels, skips and opinions, and no item is labelled twice."""
    X, y, _ = pool
    where = tmp_path / "team.db"
    rng = np.random.default_rng(trial)
    people = {name: member(X, where, name) for name in ("alice", "bob", "carol")}
    seed(people["alice"], y)
    for _ in range(40):
        name = str(rng.choice(list(people)))
        loop = people[name]
        if rng.random() < 0.5:
            loop.sync()
        move = rng.choice(
            ["answer", "label", "skip", "correct", "remove", "undo"], p=[0.35, 0.2, 0.1, 0.15, 0.05, 0.15]
        )
        free = np.flatnonzero(~loop.excluded)
        if move == "answer":
            answer(loop, y, skip=int(rng.integers(0, 2)))
        elif move == "label":
            ids = rng.choice(free, 2, replace=False)
            loop.label(ids, y[ids])
        elif move == "skip":
            loop.skip(rng.choice(free, 1))
        elif move == "correct" and loop.labelled_count:
            item = int(rng.choice(loop.labelled_ids))
            loop.correct([item], [str(rng.choice(["other", "rare"]))])
        elif move == "remove" and loop.labelled_count:
            loop.remove([int(rng.choice(loop.labelled_ids))])
        elif move == "undo":
            loop.undo()
    replayed = member(X, where, "dave")
    expected = state(replayed)
    for name, loop in people.items():
        assert state(loop) == expected, name
        assert state(member(X, where, name)) == expected, f"{name} after a restart"
    ids = replayed.labelled_ids
    assert len(ids) == len(set(ids.tolist())), "no item labelled twice"


@pytest.mark.filterwarnings("ignore:.*configuration changed")  # bob's batches are larger
def test_a_proposal_made_while_others_labelled_is_made_again_around_their_answers(store_at, pool):
    """Bob's batch of 16 is chosen from the seed labels, blind to alice's batch of 8 (in it) and
    to her answers to it meanwhile: he gets a whole batch of 16 items no one answered."""
    X, y, _ = pool
    where = store_at()
    alice, bob = member(X, where, "alice"), member(X, where, "bob", batch_size=16)
    seed(alice, y)
    bob.sync()
    a = alice.propose().batch_ids
    alice.label(a, y[a])
    with blind(bob):
        b = bob.propose().batch_ids
    assert len(b) == 16 and not bob.excluded[b].any() and not set(a.tolist()) & set(b.tolist())
    assert len(bob.unanswered()) == 16
    assert state(member(X, where, "carol")) == state(alice) == state(bob)


@pytest.mark.filterwarnings("ignore:.*configuration changed")  # bob's batches are smaller
def test_a_batch_chosen_again_keeps_its_own_items_for_everyone_else(store_at, pool):
    """Alice, blind to bob's batch, proposes much the same one: hers is cut short and chosen
    again, holding items of her first. Carol, replaying it all, leaves every item of alice's
    open batch alone (a batch replaces its owner's last, it is not cut by it)."""
    X, y, _ = pool
    where = store_at()
    alice, bob = member(X, where, "alice"), member(X, where, "bob", batch_size=4)
    seed(alice, y)
    alice.sync()
    b = bob.propose().batch_ids
    with blind(alice):
        a = alice.propose().batch_ids
    first = [json.loads(r.payload)["batch_ids"] for r in alice.store.rows() if r.kind == "propose"][1]
    assert set(first) & set(a.tolist()), "her second choice holds items of her first"
    carol = member(X, where, "carol")
    assert set(carol.held_for_others().tolist()) == set(a.tolist()) | set(b.tolist())
    assert not set(carol.propose().batch_ids.tolist()) & (set(a.tolist()) | set(b.tolist()))
