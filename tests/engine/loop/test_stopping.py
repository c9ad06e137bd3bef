import numpy as np
import pytest
from conftest import clustered_pool, rare_class_loop

from anchoral_widget.engine.learners.metrics import cohen_kappa
from anchoral_widget.engine.loop.active import ActiveLoop
from anchoral_widget.engine.loop.check_samples import CheckSample, draw_check_sample
from anchoral_widget.engine.loop.stopping import (
    MIN_ANSWERED,
    Estimate,
    Stability,
    batch_advantage,
    estimate_left,
    rules,
    since_last_rare,
    wilson,
)

started_loop = rare_class_loop


def rare_left(loop, y):
    return int(((y == "rare") & ~loop.excluded).sum())


def test_the_estimate_centres_on_the_truth_and_its_interval_covers_it():
    loop, y = started_loop()
    truth = rare_left(loop, y)
    lefts, covered = [], []
    for seed in range(40):
        sample = draw_check_sample(loop, 60, seed=seed)
        loop.label(sample.ids, y[sample.ids], source="sample")
        estimate = estimate_left(loop, [sample])
        # what the sample itself found is no longer left
        left_now = rare_left(loop, y)
        lefts.append(estimate.left - left_now + truth)
        covered.append(estimate.low <= left_now <= estimate.high)
        loop.undo()
    assert truth > 20
    assert abs(np.mean(lefts) - truth) <= 0.15 * truth
    assert np.mean(covered) >= 0.8


def test_rare_items_labelled_after_the_sample_are_taken_off():
    loop, y = started_loop(seed=1)
    sample = draw_check_sample(loop, 80, seed=0)
    loop.label(sample.ids, y[sample.ids], source="sample")
    before = estimate_left(loop, [sample])
    more_rare = np.flatnonzero((y == "rare") & ~loop.excluded)[:5]
    loop.label(more_rare, y[more_rare])
    after = estimate_left(loop, [sample])
    assert after.found == before.found + 5
    assert after.left == pytest.approx(max(0.0, before.left - 5))


def noisy_loop(seed):
    """A larger pool whose rare class the model learns only roughly: check samples find a few."""
    return rare_class_loop(n=20000, seed=seed, noise=0.9)


def test_many_small_samples_estimate_as_one_large_sample_does():
    """The panel draws 20 cards a press: pooled, small samples with no rare answer must not
    outweigh those with one (they have the narrower intervals), and the interval narrows."""
    ratios, widths = [], []
    for seed in range(4):
        loop, y = noisy_loop(seed)
        small = [draw_check_sample(loop, 20, seed=s) for s in range(1, 11)]
        large = draw_check_sample(loop, 200, seed=99)
        ids = np.unique(np.concatenate([large.ids, *(s.ids for s in small)]))
        loop.label(ids, y[ids], source="sample")
        pooled, alone = estimate_left(loop, small), estimate_left(loop, [large])
        truth = rare_left(loop, y)
        assert pooled.low <= truth <= pooled.high
        ratios.append(pooled.left / truth)
        widths.append((pooled.high - pooled.low) / (alone.high - alone.low))
    assert 0.8 <= np.mean(ratios) <= 1.25
    assert np.median(widths) <= 1.5


def test_the_answers_asked_for_narrow_the_interval():
    for seed in range(3):
        loop, y = noisy_loop(seed)
        first = draw_check_sample(loop, 200, seed=0)
        loop.label(first.ids, y[first.ids], source="sample")
        before = estimate_left(loop, [first])
        more = before.answers_for()
        assert more, "200 cards cannot pin the rare items left to 20% here"
        extra = draw_check_sample(loop, more, seed=1)
        loop.label(extra.ids, y[extra.ids], source="sample")
        after = estimate_left(loop, [first, extra])
        assert (after.high - after.low) / after.left < (before.high - before.low) / before.left
        assert after.low <= rare_left(loop, y) <= after.high


def test_the_answers_asked_for_scale_with_the_interval():
    def asked(left, low, high, answered=100):
        return Estimate(left, low, high, found=10, answered=answered, samples=1).answers_for()

    assert asked(100, 60, 140) == 300  # twice too wide: four times the answers
    assert asked(100, 85, 115) == 0
    assert asked(0, 0, 50) == 2400  # no rare answer yet: measured against the interval's middle
    assert asked(float("nan"), float("nan"), float("nan")) is None
    assert asked(0, 0, 0) == 0  # nothing can be left


def test_skipped_draws_are_left_out_and_too_few_answers_give_no_estimate():
    loop, y = started_loop(seed=2)
    sample = draw_check_sample(loop, 30, seed=0)
    answered = sample.ids[: MIN_ANSWERED - 1]
    loop.label(answered, y[answered], source="sample")
    loop.skip(sample.ids[MIN_ANSWERED - 1 :], source="sample")
    estimate = estimate_left(loop, [sample])
    assert estimate.answered == MIN_ANSWERED - 1 and estimate.needed == 1
    assert np.isnan(estimate.left) and "1 more check-sample answers" in estimate.note
    words = {rule.name: rule for rule in rules(loop, estimate)}
    assert words["estimated_recall"].holds is None and words["stability"].holds is None


def test_a_sample_leans_on_the_model_and_draws_only_unlabelled_items():
    loop, y = started_loop(seed=3)
    sample = draw_check_sample(loop, 100, seed=0)
    assert not loop.excluded[sample.ids].any() and (sample.chances > 0).all() and (sample.chances <= 1).all()
    # the rare items are drawn with a higher chance than the rest
    rare = y[sample.ids] == "rare"
    assert rare.any() and sample.chances[rare].mean() > 3 * sample.chances[~rare].mean()
    assert CheckSample.from_payload(sample.payload()).payload() == sample.payload()
    again = draw_check_sample(loop, 100, seed=0)
    assert np.array_equal(again.ids, sample.ids)
    with pytest.raises(ValueError, match="at least one"):
        draw_check_sample(loop, 0)


def test_since_last_rare_counts_the_labels_after_the_last_rare_one():
    X, y, _ = clustered_pool(n=300)
    loop = ActiveLoop(X, classes=["other", "rare"], minority=["rare"], index="exact")
    other, rare = np.flatnonzero(y == "other"), np.flatnonzero(y == "rare")
    loop.label(other[:4], ["other"] * 4)
    assert since_last_rare(loop) == 4
    loop.label(rare[:1], ["rare"])
    loop.label(other[4:10], ["other"] * 6)
    assert since_last_rare(loop) == 6
    verdict = rules(loop, estimate_left(loop, []), patience=6)[0]
    assert verdict.holds and "6 labels since the last rare one" in verdict.says


def test_kappa_and_stability():
    a = np.array([0, 0, 1, 1, 0, 1])
    assert cohen_kappa(a, a) == 1 and cohen_kappa(a, 1 - a) == -1
    assert cohen_kappa(np.zeros(4, int), np.zeros(4, int)) == 1
    loop, y = started_loop(seed=4)
    stability = Stability.for_pool(len(y), count=500)
    for _ in range(4):
        stability.observe(loop)  # the same model: its predictions do not move
    assert stability.kappas == [1.0, 1.0, 1.0] and stability.average() == 1.0
    stability.kappas.append(0.5)
    assert stability.average() == pytest.approx(2.5 / 3)


def test_a_sample_without_a_rare_item_still_bounds_what_is_left_and_the_recall_rule_waits():
    loop, _ = started_loop(seed=5)
    sample = draw_check_sample(loop, 60, seed=0)
    answers = np.full(len(sample.ids), "other", dtype=object)  # as if none of the drawn were rare
    loop.label(sample.ids, answers, source="sample")
    estimate = estimate_left(loop, [sample])
    assert estimate.left == 0 and estimate.high > 0
    recall = {rule.name: rule for rule in rules(loop, estimate)}["estimated_recall"]
    assert recall.holds is False and "at least" in recall.says


def test_wilson_interval():
    low, high = wilson(0.0, 100)
    assert low == 0 and high == pytest.approx(0.037, abs=0.001)  # 3.84 / 103.84
    low, high = wilson(0.5, 100)
    assert (low, high) == pytest.approx((0.404, 0.596), abs=0.001)


def test_batches_that_find_rare_items_faster_than_random_picks_are_told_apart_from_those_that_do_not():
    loop, y = started_loop(seed=6)  # AnchorAL on rare clusters: its batches are rich in them
    sample = draw_check_sample(loop, 200, seed=0)
    loop.label(sample.ids, y[sample.ids], source="sample")
    helping = batch_advantage(loop, estimate_left(loop, [sample]))
    assert helping.holds is True and "faster than random picks" in helping.says

    blind, y = started_loop(seed=6, budget=0)
    blind.simulate(["other"] * len(y), 100)  # batches that never meet a rare item
    sample = draw_check_sample(blind, 200, seed=0)
    blind.label(sample.ids, y[sample.ids], source="sample")
    warning = batch_advantage(blind, estimate_left(blind, [sample]))
    assert warning.holds is False and "not helping" in warning.says and warning.value == 0


def test_a_sample_leans_on_the_balanced_model_of_one_fitted_against_the_pool():
    # the model fitted against the pool gathers its probabilities on the rare items it knows; a
    # sample leaning there would miss the others while its interval claimed certainty
    from anchoral_widget.engine.learners.learner import EmbeddingClassifier
    from anchoral_widget.engine.loop.check_samples import rare_probability

    # fitted against the pool from the first rare label: a model with both parts to tell apart
    loop, _ = started_loop(seed=4, budget=200, learner=EmbeddingClassifier(unlabelled_from=0))
    model = loop.model_
    assert hasattr(model, "balanced"), "the default learner's model"
    free = np.flatnonzero(~loop.excluded)
    leaned = rare_probability(loop, free)
    assert np.array_equal(leaned, model.balanced.predict_proba(loop.embeddings[free])[:, 1])
    assert not np.allclose(leaned, model.predict_proba(loop.embeddings[free])[:, 1])


def test_a_sample_read_with_the_models_help_is_tighter_than_by_its_weights_alone_and_still_covers_the_truth():
    loop, y = started_loop(seed=4)
    truth = rare_left(loop, y)
    errors: dict[str, list[float]] = {"assisted": [], "weights": []}
    covered = []
    for seed in range(30):
        sample = draw_check_sample(loop, 60, seed=seed)
        assert sample.leans is not None and sample.spread is not None and sample.spread.sum() == sample.unlabelled
        bare = CheckSample(sample.ids, sample.chances, sample.unlabelled, sample.labels_before)
        loop.label(sample.ids, y[sample.ids], source="sample")
        left_now = rare_left(loop, y)
        assisted, weights = estimate_left(loop, [sample]), estimate_left(loop, [bare])
        errors["assisted"].append(assisted.left - left_now)
        errors["weights"].append(weights.left - left_now)
        covered.append(assisted.low <= left_now <= assisted.high)
        loop.undo()
    assert abs(np.mean(errors["assisted"])) <= 0.05 * truth
    assert np.std(errors["assisted"]) < 0.5 * np.std(errors["weights"])
    assert np.mean(covered) >= 0.8


def test_a_sample_kept_without_the_models_probabilities_is_read_by_its_weights():
    loop, y = started_loop(seed=5)
    sample = draw_check_sample(loop, 80, seed=0)
    loop.label(sample.ids, y[sample.ids], source="sample")
    old = {k: v for k, v in sample.payload().items() if k not in ("leans", "spread")}
    kept = CheckSample.from_payload(old)
    assert kept.leans is None and kept.payload() == old
    bare = CheckSample(sample.ids, sample.chances, sample.unlabelled, sample.labels_before)
    assert estimate_left(loop, [kept]) == estimate_left(loop, [bare])
    assert estimate_left(loop, [sample]).left != estimate_left(loop, [kept]).left
