"""A session's review: the label check on its labels, check samples answered beside the batch,
and the stopping report, kept across a restart."""

import numpy as np
import pytest
from conftest import clustered_pool
from sessions import answer_all, batch_ids, make

from anchoral_widget.engine.loop.stopping import Rule
from anchoral_widget.errors import InputError
from anchoral_widget.session.review import SAMPLE, stop_verdict


def pool():
    X, y, _ = clustered_pool(n=600, d=64, rare_clusters=(0, 1, 2), seed=3)
    texts = [f"{'eye' if label == 'rare' else 'other'} text {i}" for i, label in enumerate(y)]
    return X, y, texts


def names(y, ids):
    return {int(i): ("eye" if y[i] == "rare" else "other") for i in ids}


def test_the_label_check_puts_wrong_labels_first_and_changes_no_label():
    _, y, texts = data = pool()
    rare, other = np.flatnonzero(y == "rare"), np.flatnonzero(y == "other")
    wrong = other[:3]
    seed_labels = {int(i): "eye" for i in rare} | {int(i): "other" for i in other[3:150]}
    seed_labels |= {int(i): "eye" for i in wrong}
    session = make(data, seed_labels=seed_labels)
    before = session.labels.sort_values("id").reset_index(drop=True)

    check = session.review.label_check()

    assert sorted(check["id"].tolist()) == sorted(seed_labels)
    assert set(wrong.tolist()) <= set(check["id"].head(5).tolist())
    top = check.set_index("id").loc[wrong]
    assert top["flagged"].all() and (top["label"] == "eye").all()
    assert (top.loc[top["flagged"], "suggested"] == "other").all()
    assert check["text"].tolist() == [texts[i] for i in check["id"]]
    assert check["probability"].is_monotonic_increasing, "the least probable label first"
    after = session.labels.sort_values("id").reset_index(drop=True)
    assert after[["id", "label"]].equals(before[["id", "label"]])

    eye_before = session.snapshot()["progress"]["counts"]["eye"]
    assert session.review.correct(wrong.tolist(), "other") == 3
    corrected = session.labels.set_index("id")["label"]
    assert (corrected.loc[wrong] == "other").all() and len(corrected) == len(seed_labels)
    assert session.snapshot()["progress"]["counts"]["eye"] == eye_before - 3
    assert session.loop.events[-1].kind == "correct" and session.loop.events[-1].source == "review"
    with pytest.raises(InputError, match="unknown class"):
        session.review.correct(wrong.tolist(), "nose")
    with pytest.raises(InputError, match="not labelled"):
        session.review.correct([int(other[-1])], "eye")
    assert session.labels.set_index("id")["label"].equals(corrected)
    session.close()


def test_the_label_check_reads_the_texts_where_the_vectors_say_nothing():
    rng = np.random.default_rng(5)
    y = np.where(rng.random(600) < 0.2, "rare", "other")
    filler = [f"w{i}" for i in range(40)]
    own = {"rare": ["retina", "cornea", "iris"], "other": ["invoice", "lunch", "printer"]}
    texts = [" ".join([*rng.choice(filler, 3), rng.choice(own[label])]) for label in y]
    X = rng.normal(size=(600, 16)).astype(np.float32)  # no class in the vectors
    rare, other = np.flatnonzero(y == "rare"), np.flatnonzero(y == "other")
    wrong = other[:4]
    seed_labels = {int(i): "eye" for i in [*rare, *wrong]} | {int(i): "other" for i in other[4:300]}
    session = make((X, y, texts), seed_labels=seed_labels)

    check = session.review.label_check()

    assert set(wrong.tolist()) <= set(check["id"].head(8).tolist())
    assert check.set_index("id").loc[wrong, "flagged"].all()
    session.close()


def test_a_check_sample_is_answered_beside_the_batch_and_estimates_what_is_left():
    _, y, texts = data = pool()
    session = make(data)
    on_screen = batch_ids(session)
    sample = session.review.check_sample(60)
    assert len(sample) > 20 and not set(sample["id"]) & set(session.loop.labels)
    assert sample["text"].tolist() == [texts[i] for i in sample["id"]]
    answers = names(y, [i for i in sample["id"] if i not in on_screen])
    before = session.snapshot()["progress"]["labelled"]

    assert session.review.answer_sample(answers) == len(answers)

    assert session.snapshot()["progress"]["labelled"] == before + len(answers)
    assert batch_ids(session) == on_screen, "the batch on screen stays"
    assert session.loop.events[-1].source == SAMPLE
    report = session.review.progress_report()
    truth_left = int(((y == "rare") & ~session.loop.excluded).sum())
    assert report["answered"] == len(answers) and report["low"] <= truth_left <= report["high"]
    assert "rare items found" in report["text"] and "since last rare" in report["text"]
    assert report["text"].split("\n")[1].startswith("Can I stop? ")
    # the panel says how many more answers a 20% interval needs, in words and as a number
    more = report["answers_for_precision"]
    assert more >= 0 and ("within 20% either way" in report["text"] or "within 20% of the estimate" in report["text"])
    if more:
        assert f" {more:,} more check-sample answers would narrow it" in report["text"]
    assert set(report["rules"]) == {"since_last_rare", "stability", "estimated_recall", "batches_beat_random"}
    session.close()


@pytest.mark.parametrize("case", ["not drawn", "labelled", "on screen", "unknown class"])
def test_bad_sample_answers_are_refused_and_nothing_is_stored(case):
    _, y, _ = data = pool()
    session = make(data)
    sample = session.review.check_sample(len(y) if case == "on screen" else 60)  # the whole pool: the cards too
    free = [i for i in sample["id"] if i not in batch_ids(session)]
    answers = names(y, free[:5])
    if case == "not drawn":
        answers[next(i for i in range(len(y)) if i not in set(sample["id"]))] = "other"
    elif case == "labelled":
        session.review.answer_sample({free[0]: answers[free[0]]})
    elif case == "on screen":
        answers[batch_ids(session)[0]] = "other"
    else:
        answers[free[1]] = "nose"
    labelled = len(session.loop.labels)
    with pytest.raises(InputError):
        session.review.answer_sample(answers)
    assert len(session.loop.labels) == labelled
    session.close()


def test_samples_and_their_estimate_survive_a_restart_and_stability_is_observed(tmp_path):
    _, y, _ = data = pool()
    store = tmp_path / "labels.db"
    first = make(data, store=store)
    for _ in range(4):  # four proposals: three kappas between successive models
        answer_all(first, "other")
        first.handle({"kind": "submit", "iteration": first.snapshot()["iteration"]})
        assert first.wait(30)
    sample = first.review.check_sample(60)
    first.review.answer_sample(names(y, [i for i in sample["id"] if i not in batch_ids(first)]))
    report = first.review.progress_report()
    assert report["rules"]["stability"]["holds"] is not None
    first.close()

    second = make(data, store=store, seed_labels={})
    again = second.review.progress_report()
    assert again["answered"] == report["answered"] and again["left"] == pytest.approx(report["left"])
    second.close()


def test_sample_answers_that_give_a_cold_start_its_missing_class_start_the_loop():
    _, y, _ = data = pool()
    session = make(data, seed_labels={int(np.flatnonzero(y == "other")[0]): "other"})
    assert session.snapshot()["phase"] == "cold"
    sample = session.review.check_sample(len(y))  # the whole pool: its rare items too
    session.review.answer_sample(names(y, sample["id"][:200]))
    assert session.wait(30)
    s = session.snapshot()
    assert s["phase"] == "ready" and len(s["batch"]) > 0
    session.close()


def rare_curve(session):
    traces = {t["uid"]: t for t in session.snapshot()["curves"]["traces"]}
    return traces["rare:estimate"]["y"], traces["rare:low"]["y"], traces["rare:high"]["y"]


def test_the_estimate_is_drawn_beside_the_labels_once_answered_after_each_batch_and_after_a_restart(tmp_path):
    X, y, _ = data = pool()
    store, coords = tmp_path / "labels.db", np.ascontiguousarray(X[:, :2], dtype=np.float32)
    session = make(data, store=store, map=coords)
    assert all(v is None for v in rare_curve(session)[0]), "no estimate before a check sample"
    sample = session.review.check_sample(60)
    session.review.answer_sample(names(y, [i for i in sample["id"] if i not in batch_ids(session)]))

    estimate, low, high = rare_curve(session)
    report = session.review.progress_report()
    total = report["found"] + report["left"]
    assert estimate[-1] == pytest.approx(total, abs=1e-3), "at the batch on screen: found plus left"
    assert low[-1] <= estimate[-1] <= high[-1]
    assert all(v is None for v in estimate[:-1])
    assert session.snapshot()["curves"]["titles"][3] == "Labels per class; rare items (estimate)"

    answer_all(session, "other")
    session.handle({"kind": "submit", "iteration": session.snapshot()["iteration"]})
    assert session.wait(30)
    before = rare_curve(session)
    assert sum(v is not None for v in before[0]) == 2, "the next batch has its own point"
    session.close()

    again = make(data, store=store, seed_labels={}, map=coords)
    assert rare_curve(again) == before, "every point comes back after a restart"
    again.close()


def test_an_estimate_from_answers_alone_is_drawn_again_after_a_restart(tmp_path):
    X, y, _ = data = pool()
    store, coords = tmp_path / "labels.db", np.ascontiguousarray(X[:, :2], dtype=np.float32)
    session = make(data, store=store, map=coords)
    assert session.wait(30)  # the batch's F1 estimate done: it keeps no note after the answers
    sample = session.review.check_sample(60)
    session.review.answer_sample(names(y, [i for i in sample["id"] if i not in batch_ids(session)]))
    before = rare_curve(session)
    assert before[0][-1] is not None
    session.close()

    again = make(data, store=store, seed_labels={}, map=coords)
    assert rare_curve(again) == before, "worked out again from the samples kept, before any next batch"
    again.close()


@pytest.mark.parametrize("recall", [True, False, None])
@pytest.mark.parametrize("blind", [(), ("stability",), ("since_last_rare", "stability")])
def test_the_verdict_rests_on_the_estimated_recall_alone(recall, blind):
    verdicts = [Rule(name, name in blind, 0.0, "") for name in ("since_last_rare", "stability")]
    verdicts += [Rule("estimated_recall", recall, 0.5, ""), Rule("batches_beat_random", True, 0.1, "")]
    said = stop_verdict(verdicts)
    if recall:
        assert said.startswith("Can I stop? Yes")
        return
    assert said.startswith("Can I stop? Not yet" if recall is False else "Can I stop? Cannot tell yet")
    # a rule blind to the rare items the model missed is named as not enough, never as a reason
    assert ("cannot see the rare items the model has missed" in said) == bool(blind)
    assert ("the models' stability" in said) == ("stability" in blind)
    assert ("since the last rare one" in said) == ("since_last_rare" in blind)


def test_presses_between_batches_draw_one_sample_again_and_a_batch_starts_another():
    _, y, _ = data = pool()
    session = make(data)
    on_screen = batch_ids(session)
    first = session.review.check_sample(20)
    session.review.answer_sample(names(y, [i for i in first["id"] if i not in on_screen]))
    second = session.review.check_sample(20)  # only the first's answers since: drawn again
    assert len(second) and not set(second["id"]) & set(first["id"])
    kept = session.review._samples
    assert len(kept) == 1 and kept[0].size == 40
    assert set(kept[0].ids.tolist()) == set(first["id"]) | set(second["id"])
    session.review.answer_sample(names(y, [i for i in second["id"] if i not in on_screen]))
    answer_all(session, "other")
    session.handle({"kind": "submit", "iteration": session.snapshot()["iteration"]})
    assert session.wait(30)
    session.review.check_sample(20)  # a batch and a new model since: a sample of its own
    assert len(session.review._samples) == 2
    assert session.review.progress_report()["answered"] >= len(first) + len(second) - len(on_screen)
    session.close()
