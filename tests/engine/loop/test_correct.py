"""Correcting past labels: one event, undone exactly, kept in the store with the answers it
replaced, replayed on restart, learned from by the next model; first-release stores take them."""

import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from conftest import clustered_pool

from anchoral_widget.engine.loop.active import ActiveLoop
from anchoral_widget.engine.loop.store import SCHEMA_VERSION
from anchoral_widget.errors import InputError

PARAMS = dict(classes=["other", "rare"], minority=["rare"], batch_size=10, subpool_size=200, index="exact", seed=0)
FIXTURES = Path(__file__).parent / "fixtures"


def seeded(X, y, **kw):
    loop = ActiveLoop(X, **PARAMS, **kw)
    seeds = np.r_[np.flatnonzero(y == "rare")[:3], np.flatnonzero(y == "other")[:12]]
    loop.label(seeds, y[seeds])
    return loop, seeds


def test_a_correction_changes_classes_in_place_and_its_undo_restores_them():
    X, y, _ = clustered_pool()
    loop, seeds = seeded(X, y)
    order, times = list(loop.labels), [loop.label_time(i) for i in seeds]
    target = seeds[[0, 5]]
    assert loop.correct(np.r_[target, seeds[6]], ["other", "rare", y[seeds[6]]]) == 2, "an unchanged item is left out"
    assert loop.labels[target[0]] == "other" and loop.labels[target[1]] == "rare"
    assert list(loop.labels) == order and [loop.label_time(i) for i in seeds] == times
    event = loop.events[-1]
    assert event.kind == "correct" and event.ids.tolist() == target.tolist()
    assert [loop.classes[c] for c in event.previous] == [y[target[0]], y[target[1]]]
    assert loop.correct(target[:1], ["other"]) == 0 and loop.events[-1] is event, "nothing changed: no event"
    loop.undo()
    assert loop.labels == {int(i): y[i] for i in seeds}


@pytest.mark.parametrize("seed", range(6))
def test_any_sequence_of_labels_corrections_removals_and_undos_matches_a_plain_record(seed):
    X, y, _ = clustered_pool()
    loop, seeds = seeded(X, y)
    rng = np.random.default_rng(seed)
    truth = {int(i): str(y[i]) for i in seeds}
    undo: list[dict] = []
    free = [int(i) for i in np.flatnonzero(~loop.excluded)]
    for _ in range(40):
        step = rng.choice(["label", "correct", "remove", "undo"], p=[0.3, 0.35, 0.15, 0.2])
        if step == "label":
            item = free.pop(int(rng.integers(len(free))))
            loop.label([item], [y[item]])
            undo.append({item: None})
            truth[item] = str(y[item])
        elif step == "correct":
            items = rng.choice(list(truth), size=3, replace=False).tolist()
            new = rng.choice(["other", "rare"], size=3).tolist()
            if loop.correct(items, new):
                undo.append({i: truth[i] for i, n in zip(items, new, strict=True) if truth[i] != n})
                truth.update(dict(zip(items, new, strict=True)))
        elif step == "remove":
            items = rng.choice(list(truth), size=2, replace=False).tolist()
            loop.remove(items)
            undo.append({i: ("removed", truth.pop(i)) for i in items})
            free.extend(items)
        elif undo and loop.undo() is not None:
            for item, before in undo.pop().items():
                if before is None:
                    del truth[item]
                    free.append(item)
                elif isinstance(before, tuple):
                    truth[item] = before[1]
                    free.remove(item)
                else:
                    truth[item] = before
        assert loop.labels == truth
        assert loop.unlabelled_count == int((~loop.excluded).sum()) == len(X) - len(truth)


def test_corrections_are_stored_with_the_answers_they_replaced_and_replayed(store_at):
    X, y, _ = clustered_pool()
    path = store_at()
    loop, seeds = seeded(X, y, store=path)
    loop.propose()
    loop.correct(seeds[:2], ["other", "other"])
    labels, pending = loop.labels, loop.pending.batch_ids.tolist()
    row = [p for kind, p in loop.store.log() if kind == "correct"][-1]
    assert row["labels"] == ["other", "other"] and row["previous"] == ["rare", "rare"]
    loop.store.close()
    again = ActiveLoop(X, **PARAMS, store=path)
    assert again.labels == labels and again.pending.batch_ids.tolist() == pending
    again.undo()
    assert again.labels[int(seeds[0])] == "rare"


def test_the_next_model_learns_the_corrected_classes():
    X, y, _ = clustered_pool()
    wrong = y.copy()
    seeds = np.r_[np.flatnonzero(y == "rare")[:3], np.flatnonzero(y == "other")[:12]]
    wrong[seeds[3]] = "rare"  # an "other" item labelled rare, then corrected
    corrected = ActiveLoop(X, **PARAMS)
    corrected.label(seeds, wrong[seeds])
    corrected.correct([seeds[3]], ["other"])
    direct = ActiveLoop(X, **PARAMS)
    direct.label(seeds, y[seeds])
    assert corrected.propose().batch_ids.tolist() == direct.propose().batch_ids.tolist()


def test_bad_corrections_change_nothing():
    X, y, _ = clustered_pool()
    loop, seeds = seeded(X, y)
    before, events = loop.labels, len(loop.events)
    unlabelled = int(np.flatnonzero(~loop.excluded)[0])
    with pytest.raises(InputError, match="not labelled"):
        loop.correct([seeds[0], unlabelled], ["other", "other"])
    with pytest.raises(InputError):
        loop.correct([seeds[0]], ["nose"])
    with pytest.raises(InputError, match="ids but"):
        loop.correct(seeds[:2], ["other"])
    assert loop.labels == before and len(loop.events) == events


def test_a_first_release_store_takes_corrections_after_it_is_opened(tmp_path):
    X, _, _ = clustered_pool()
    path = tmp_path / "v1.db"
    shutil.copy(FIXTURES / "v1-anchoral.db", path)
    loop = ActiveLoop(X, pool_filter="anchoral", store=path, **PARAMS)
    count = len(loop.store.log())
    item = next(iter(loop.labels))
    flipped = "other" if loop.labels[item] == "rare" else "rare"
    loop.correct([item], [flipped])
    assert loop.store.meta["schema"] == SCHEMA_VERSION and len(loop.store.log()) == count + 1
    loop.store.close()
    with sqlite3.connect(path) as db:
        seqs = [s for (s,) in db.execute("SELECT seq FROM log ORDER BY seq")]
    assert seqs == list(range(1, count + 2)), "rows kept in order, with their sequence numbers"
    assert ActiveLoop(X, pool_filter="anchoral", store=path, **PARAMS).labels[item] == flipped


def test_a_removal_is_stored_with_the_answers_it_took_and_replayed(store_at):
    X, y, _ = clustered_pool()
    path = store_at()
    loop, seeds = seeded(X, y, store=path)
    loop.remove(seeds[:2])
    assert int(seeds[0]) not in loop.labels and not loop.excluded[seeds[0]], "unlabelled: it may be proposed again"
    row = [p for kind, p in loop.store.log() if kind == "remove"][-1]
    assert row["ids"] == seeds[:2].tolist() and row["previous"] == [str(y[i]) for i in seeds[:2]]
    again = ActiveLoop(X, **PARAMS, store=path)
    assert again.labels == loop.labels
    again.undo()
    assert again.labels[int(seeds[0])] == y[seeds[0]] and again.excluded[seeds[0]]
    with pytest.raises(InputError, match="nothing to remove"):
        again.remove([int(np.flatnonzero(~again.excluded)[0])])
