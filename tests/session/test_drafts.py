import pytest

from anchoral_widget.errors import InputError
from anchoral_widget.session.drafts import BatchDrafts

CARDS = [{"id": i} for i in (7, 8, 9)]


def test_answers_are_undone_one_action_at_a_time():
    d = BatchDrafts()
    d.show(CARDS, iteration=3)
    d.answer([7], "eye")
    d.answer([7], "other")  # a change of mind is its own action
    d.answer(None, None)  # skip the rest: 8 and 9
    assert d.answers == {7: "other", 8: None, 9: None}
    d.undo()
    assert d.answers == {7: "other"}
    d.undo()
    assert d.answers == {7: "eye"}
    d.undo()
    assert d.answers == {}
    with pytest.raises(InputError, match="nothing to undo"):
        d.undo()


def test_commands_must_be_about_the_batch_on_screen():
    d = BatchDrafts()
    with pytest.raises(InputError, match=r"no batch to label right now \(training…\)"):
        d.check(0, "training…")
    d.show(CARDS, iteration=3)
    d.check(3, "ready")
    with pytest.raises(InputError, match="for batch 2, but batch 3 is on screen"):
        d.check(2, "ready")
    with pytest.raises(InputError, match="text 5 is not in the current batch"):
        d.answer([5], "eye")
    assert d.answers == {}


def test_take_needs_every_card_and_empties_the_screen():
    d = BatchDrafts()
    d.show(CARDS, iteration=3)
    d.answer([7], "eye")
    with pytest.raises(InputError, match="2 card"):
        d.take()
    d.answer(None, "other")
    with pytest.raises(InputError, match="already has an answer"):
        d.answer(None, "other")
    answers, cards, iteration = d.take()
    assert answers == {7: "eye", 8: "other", 9: "other"} and cards == CARDS and iteration == 3
    assert not d and d.answers == {}
    d.show(cards, iteration, answers)  # a batch whose storing failed comes back as it was
    assert d.answers == answers and d.ids == {7, 8, 9}
