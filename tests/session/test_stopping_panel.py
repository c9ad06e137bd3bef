"""The stopping panel's kernel side: the report in words, a check sample drawn from it and
answered card by card, each command answered by the panel again; the estimate appears once the
sample is answered, and bad requests change nothing."""

import pytest
from sessions import eye_pool, heard_after_a_batch

from anchoral_widget.errors import InputError


@pytest.fixture
def session():
    s = heard_after_a_batch("panels", "stopping")
    yield s
    s.close(wait=True)


def test_the_panel_says_what_was_found_and_which_rules_hold_before_any_check_sample(session):
    session.handle({"kind": "stopping"})
    panel = session.panels[-1]
    found = sum(1 for c in session.loop.labels.values() if c == "eye")
    assert panel["lines"][0] == f"{found:,} rare items found."
    assert not any(line.startswith("About ") for line in panel["lines"]), "no estimate without a check sample"
    assert any(line.startswith("since last rare: ") for line in panel["lines"])
    assert panel["open"] == [] and panel["unanswered"] == 0 and panel["said"] == ""


def test_a_check_sample_is_drawn_answered_in_the_panel_and_gives_the_estimate(session):
    session.handle({"kind": "check_sample", "size": 30})
    panel = session.panels[-1]
    ids = [card["id"] for card in panel["open"]]
    assert panel["said"].endswith("texts drawn at random, not by the model: answer them below")
    assert ids and panel["unanswered"] == len(ids) and len(set(ids)) == len(ids)
    _, y, texts = eye_pool()
    assert all(card["text"] == texts[card["id"]] for card in panel["open"])
    assert not set(ids) & set(session.loop.labels), "only unlabelled texts are drawn"
    truth = {i: "eye" if y[i] == "rare" else "other" for i in range(len(y))}
    for label in ("other", "eye"):
        answered = [i for i in ids if truth[i] == label]
        if answered:
            session.handle({"kind": "check_answer", "ids": answered, "label": label})
    panel = session.panels[-1]
    assert panel["open"] == [] and panel["unanswered"] == 0
    assert any(line.startswith("About ") and "check-sample answers" in line for line in panel["lines"])
    stored = session.labels.set_index("id").label
    assert all(stored[i] == truth[i] for i in ids), "the answers are labels like any other"


def test_bad_requests_change_nothing(session):
    before = len(session.labels)
    with pytest.raises(InputError, match="is not in a check sample"):
        session.handle({"kind": "check_answer", "ids": [max(session.loop.labels) + 1], "label": "eye"})
    with pytest.raises(InputError, match="size"):
        session.handle({"kind": "check_sample", "size": "ten"})
    assert len(session.labels) == before
