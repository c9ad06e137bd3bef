"""The review view's kernel side: pages of past labels, newest first, filtered by class, person,
iteration and the model's disagreement; corrections and removals from it, each answered by the
page again with what was done."""

import numpy as np
import pytest
from sessions import eye_pool, heard_after_a_batch, seeds

from anchoral_widget.errors import InputError


@pytest.fixture
def session():
    # the paper's subpool: the planted-label test below plants into the labels its batch makes
    s = heard_after_a_batch("pages", "review_page", annotator="alice", outside_sample=0)
    yield s
    s.close(wait=True)


def test_a_page_lists_every_label_newest_first_with_who_and_when(session):
    session.handle({"kind": "review_page"})
    page = session.pages[-1]
    labels = session.loop.labels
    assert page["total"] == len(labels) == 7
    assert [r["id"] for r in page["rows"]] == list(reversed(list(labels)))
    assert page["annotators"] == ["alice"] and page["iterations"] == [-1, 0] and page["model"] is True
    row = page["rows"][0]
    assert row["label"] == labels[row["id"]] and row["annotator"] == "alice" and row["iteration"] == 0
    assert row["predicted"] in ("other", "eye") and 0.5 <= row["confidence"] <= 1 and row["others"] == []


def test_filters_narrow_the_page(session):
    data = eye_pool()
    eye = next(i for i, c in seeds(data[1]).items() if c == "eye")
    session.handle({"kind": "review_page", "label": "eye"})
    assert [r["id"] for r in session.pages[-1]["rows"]] == [eye]
    session.handle({"kind": "review_page", "iteration": -1})
    assert {r["id"] for r in session.pages[-1]["rows"]} == set(seeds(data[1]))
    session.handle({"kind": "review_page", "annotator": "bob"})
    assert session.pages[-1]["total"] == 0
    session.handle({"kind": "review_page"})
    disagreeing = [r["id"] for r in session.pages[-1]["rows"] if r["predicted"] != r["label"]]
    session.handle({"kind": "review_page", "disagree": True})
    assert [r["id"] for r in session.pages[-1]["rows"]] == disagreeing and session.pages[-1]["total"] == len(
        disagreeing
    )
    session.handle({"kind": "review_page", "offset": 5})
    assert session.pages[-1]["offset"] == 5 and len(session.pages[-1]["rows"]) == 2


def test_a_correction_and_a_removal_from_the_view_change_the_labels(session):
    item = session.loop.history[0].batch_ids[0]
    session.handle({"kind": "review_correct", "ids": [item], "to": "eye", "label": "eye"})
    page = session.pages[-1]
    assert page["text"] == "1 label changed to eye" and item in [r["id"] for r in page["rows"]]
    assert session.labels.set_index("id").label[item] == "eye"
    assert session.loop.events[-1].kind == "correct" and session.loop.events[-1].source == "review"
    session.handle({"kind": "review_remove", "ids": [item]})
    assert "1 label removed" in session.pages[-1]["text"] and item not in set(session.labels.id)
    assert session.pages[-1]["total"] == 6


def test_a_bad_review_command_changes_nothing(session):
    before = dict(session.loop.labels)
    with pytest.raises(InputError, match="unknown class"):
        session.handle({"kind": "review_correct", "ids": [next(iter(before))], "to": "ear"})
    unlabelled = next(i for i in range(400) if i not in before)
    with pytest.raises(InputError, match="not labelled"):
        session.handle({"kind": "review_remove", "ids": [unlabelled]})
    assert session.loop.labels == before


def test_the_doubted_filter_lists_what_the_label_check_flags_least_probable_first_with_its_evidence(session):
    _, y, _ = eye_pool()
    truth = {i: "eye" if y[i] == "rare" else "other" for i in range(len(y))}
    free = [i for i in range(len(y)) if i not in session.loop.labels and i not in session.snapshot()["answers"]]
    batch = {card["id"] for card in session.snapshot()["batch"]}
    rare = [i for i in free if truth[i] == "eye" and i not in batch][:12]
    common = [i for i in free if truth[i] == "other" and i not in batch][:60]
    planted = common[:2]  # two common texts labelled rare: wrong labels
    session.handle({"kind": "seed", "ids": rare + planted, "label": "eye"})
    session.handle({"kind": "seed", "ids": common[2:], "label": "other"})
    assert session.wait(30)
    check = session.review.label_check()
    flagged = check[check.flagged].id.tolist()
    session.handle({"kind": "review_page", "doubted": True})
    page = session.pages[-1]
    assert [r["id"] for r in page["rows"]] == flagged and page["total"] == len(flagged)
    doubted = [i for i in planted if i in flagged]
    assert doubted, "a planted wrong label is doubted (how many: benchmarks/label_check.py)"
    row = next(r for r in page["rows"] if r["id"] == doubted[0])
    assert row["doubt"].startswith("the label check suggests other: ") and row["doubt"].endswith("% for eye")
    assert check.attrs["weak"] == [] and "barely" not in page["text"]  # the check sees both classes here
    session.handle({"kind": "review_page"})
    assert all(r["doubt"] is None or r["id"] in flagged for r in session.pages[-1]["rows"])
    # a correction from the doubted list: the check runs again on the new labels
    session.handle({"kind": "review_correct", "ids": [doubted[0]], "to": "other", "doubted": True})
    rows = {r["id"]: r for r in session.pages[-1]["rows"]}
    assert doubted[0] not in rows or rows[doubted[0]]["doubt"].endswith("% for other")
    check = session.review.label_check()
    assert list(rows) == check[check.flagged].id.tolist(), "worked out again on the corrected labels"


def test_the_doubted_list_says_when_the_check_cannot_see_a_class(session):
    _, y, _ = eye_pool()
    free = [i for i in range(len(y)) if i not in session.loop.labels and i not in session.snapshot()["answers"]]
    batch = {card["id"] for card in session.snapshot()["batch"]}
    free = [i for i in free if i not in batch]
    # labels drawn at random, whatever the texts say: no model can tell the classes apart
    chosen = np.random.default_rng(5).choice(free, size=150, replace=False).tolist()
    session.handle({"kind": "seed", "ids": chosen[:50], "label": "eye"})
    session.handle({"kind": "seed", "ids": chosen[50:], "label": "other"})
    assert session.wait(30)
    check = session.review.label_check()
    assert set(check.attrs["weak"]) == {"eye", "other"} and check.attrs["separation"]["eye"] < 0.75
    session.handle({"kind": "review_page", "doubted": True})
    page = session.pages[-1]
    assert "The check barely tells other from eye (AUC 0." in page["text"] and "Look at a few doubts" in page["text"]
    assert page["rows"] and all(r["doubt"].startswith("the label check suggests ") for r in page["rows"])
    session.handle({"kind": "review_page"})  # the caveat is the doubted list's
    assert "barely" not in session.pages[-1]["text"]
