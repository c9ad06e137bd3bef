"""A restarted kernel (a fresh session on the same label store) shows what was on screen: the
drafts of the batch (answers given, not submitted, and their undo steps), every iteration of
the F1 estimate and of the subpool's predicted minority share; and the status line's parts never
add up to more than its total, for a batch proposed before the restart too."""

import re
import time

import numpy as np
import pytest

from anchoral_widget.data.toy import load_toy
from anchoral_widget.engine.learners.learner import make_learner
from anchoral_widget.session.startup import build_session
from anchoral_widget.session.status import batch_seconds, ready_status


@pytest.fixture(scope="module")
def toy():
    return load_toy(n_majority=600, cluster_size=15, seen_size=20, seed=0)


class SlowLearner:
    """The default learner, a fit taking 0.2 s more: a batch whose seconds show at 2 decimals."""

    inputs = "embeddings"

    def __init__(self):
        self.base = make_learner("logreg")

    def fit(self, X, y, n_classes, seed):
        time.sleep(0.2)
        return self.base.fit(X, y, n_classes, seed)


def session(toy, store, *, map=True, **params):
    texts = [f"point {i}" for i in range(len(toy.coords))]
    seeds = {int(i): str(toy.labels[i]) for c in toy.classes for i in np.flatnonzero(toy.labels == c)[:2]}
    s = build_session(
        texts,
        toy.classes,
        toy.minority,
        embeddings=toy.embeddings,
        seed_labels=seeds,
        store=store,
        map=toy.coords if map else False,
        batch_size=5,
        index="exact",
        neighbours=20,
        subpool_size=100,
        **params,
    )
    s.start()
    assert s.wait(60)
    return s


def restart(s, toy, store, **params):
    s.close(wait=True)
    s.loop.store.close()
    return session(toy, store, **params)


def submit_all(s, toy):
    """Answer the batch on screen with the true classes, and submit it."""
    it = s.snapshot()["iteration"]
    for card in s.snapshot()["batch"]:
        s.handle({"kind": "label", "iteration": it, "ids": [card["id"]], "label": str(toy.labels[card["id"]])})
    s.handle({"kind": "submit", "iteration": it})
    assert s.wait(60)


def test_the_drafts_on_screen_come_back_after_a_restart_with_their_undo_steps(toy, tmp_path):
    store = tmp_path / "labels.db"
    s = session(toy, store, map=False)
    submit_all(s, toy)
    it, ids = s.snapshot()["iteration"], [c["id"] for c in s.snapshot()["batch"]]
    s.handle({"kind": "label", "iteration": it, "ids": [ids[0]], "label": "minority"})
    s.handle({"kind": "skip", "iteration": it, "ids": [ids[1]]})
    s.handle({"kind": "label", "iteration": it, "ids": [ids[0]], "label": "majority"})  # changed its mind
    drafts = s.snapshot()["answers"]

    again = restart(s, toy, store, map=False)
    snap = again.snapshot()
    assert snap["iteration"] == it and [c["id"] for c in snap["batch"]] == ids
    assert snap["answers"] == drafts == {str(ids[0]): "majority", str(ids[1]): None}
    again.handle({"kind": "undo", "iteration": it})  # the last step: back to its first answer
    assert again.snapshot()["answers"] == {str(ids[0]): "minority", str(ids[1]): None}
    again.handle({"kind": "rest", "iteration": it, "label": "majority"})
    again.handle({"kind": "submit", "iteration": it})
    assert again.wait(60)
    assert again.loop.labels[ids[0]] == "minority" and ids[1] in again.loop.skipped_ids.tolist()

    third = restart(again, toy, store, map=False)
    assert third.snapshot()["answers"] == {}, "a new batch: the old drafts are not its own"
    third.close(wait=True)


def test_every_iteration_of_the_curves_comes_back_after_a_restart(toy, tmp_path):
    store = tmp_path / "labels.db"
    s = session(toy, store)
    for _ in range(3):
        submit_all(s, toy)
    before = {t["uid"]: t["y"] for t in s.snapshot()["curves"]["traces"]}
    again = restart(s, toy, store)
    after = {t["uid"]: t["y"] for t in again.snapshot()["curves"]["traces"]}
    for uid in ("f1:minority:estimate", "minority:subpool:predicted"):
        assert sum(v is not None for v in before[uid]) == 4, uid  # 3 iterations and the batch on screen
        assert after[uid] == before[uid], f"{uid}: every iteration is drawn again"
    again.close(wait=True)


def test_the_status_parts_never_add_up_to_more_than_its_total():
    rng = np.random.default_rng(0)
    for _ in range(2000):
        train, subpool, strategy = rng.uniform(0, 0.02, 3) * rng.choice([1, 100])
        proposed = {"train": train, "subpool": subpool, "strategy": strategy, "total": train + subpool + strategy}
        wall = None if rng.random() < 0.3 else train + subpool + strategy + rng.uniform(0, 0.01)
        shown = batch_seconds(proposed, wall)
        assert shown["train"] + shown["select"] <= shown["total"] + 1e-9, (proposed, wall, shown)
        numbers = re.findall(r"(\d+\.\d+) s", ready_status(5, shown, 10, 10))
        total, parts = float(numbers[0]), float(numbers[1]) + float(numbers[2])
        assert parts <= total + 1e-9, (shown, numbers)


def test_a_batch_shown_again_after_a_restart_says_its_own_seconds(toy, tmp_path):
    store = tmp_path / "labels.db"
    s = session(toy, store, map=False, learner=SlowLearner(), training="strict")
    submit_all(s, toy)
    proposed = s.loop.pending.seconds
    again = restart(s, toy, store, map=False, learner=SlowLearner(), training="strict")
    snap = again.snapshot()
    assert snap["seconds"]["total"] == pytest.approx(proposed["total"], abs=1e-3), "not the seconds of reading it back"
    numbers = [float(x) for x in re.findall(r"(\d+\.\d+) s", snap["status"])]
    assert "as proposed before" in snap["status"]
    assert numbers[1] + numbers[2] <= numbers[0] and numbers[1] >= 0.2
    again.close(wait=True)
