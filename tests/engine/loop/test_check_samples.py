import numpy as np
import pytest
from conftest import rare_class_loop

from anchoral_widget.engine.loop.check_samples import (
    LEAN_POWER,
    UNIFORM_SHARE,
    CheckSample,
    draw_check_sample,
    extend_check_sample,
    rare_probability,
)
from anchoral_widget.engine.loop.stopping import estimate_left

started_loop = rare_class_loop


def test_a_sample_drawn_again_is_one_sample_of_the_larger_size():
    loop, y = started_loop()
    free = np.flatnonzero(~loop.excluded)
    lean = rare_probability(loop, free) ** LEAN_POWER
    # the design's chances for a sample of 60, written out
    chance = np.zeros(len(loop.excluded))
    chance[free] = np.minimum(1, 60 * (UNIFORM_SHARE / len(free) + (1 - UNIFORM_SHARE) * lean / lean.sum()))
    counts, sizes = np.zeros(len(loop.excluded)), []
    for seed in range(400):
        first = draw_check_sample(loop, 20, seed=seed)
        loop.label(first.ids, y[first.ids], source="sample")  # answered before the next press
        both = extend_check_sample(loop, first, 40, seed=seed)
        assert both is not None and both.size == 60
        assert np.array_equal(both.ids[: len(first.ids)], first.ids) and len(set(both.ids.tolist())) == len(both.ids)
        assert np.allclose(both.chances, chance[both.ids])  # each item's chance is the larger sample's
        counts[both.ids] += 1
        sizes.append(len(both.ids))
        loop.undo()
    assert abs(np.mean(sizes) - chance.sum()) < 2
    # each item drawn about as often as its chance says: the 60 the model leans to most, and all
    top = free[np.argsort(chance[free])[-60:]]
    assert np.abs(counts[top] / 400 - chance[top]).max() < 0.1
    assert abs(counts[free].sum() / 400 - chance[free].sum()) < 2


def test_a_sample_is_drawn_again_only_while_nothing_else_has_changed():
    loop, y = started_loop(seed=1)
    sample = draw_check_sample(loop, 20, seed=0)
    loop.label(sample.ids, y[sample.ids], source="sample")
    assert extend_check_sample(loop, sample, 20) is not None
    # a batch answered: other items labelled, and the model fitted again
    loop.simulate(y, 25)
    loop.propose()
    assert extend_check_sample(loop, sample, 20) is None
    kept_before = CheckSample.from_payload({k: v for k, v in sample.payload().items() if k != "size"})
    assert kept_before.size == 0 and extend_check_sample(loop, kept_before, 20) is None
    assert CheckSample.from_payload(sample.payload()).payload() == sample.payload()
    with pytest.raises(ValueError, match="one item more"):
        extend_check_sample(loop, sample, 0)


def test_a_different_model_is_not_drawn_again_with():
    loop, y = started_loop(seed=2)
    sample = draw_check_sample(loop, 20, seed=0)
    loop.label(sample.ids, y[sample.ids], source="sample")
    other = loop.train()
    assert extend_check_sample(loop, sample, 20, model=other) is None


def test_presses_drawn_as_one_sample_estimate_as_one_sample_drawn_at_once():
    """Ten presses of 20, each answered before the next, drawn as one sample of 200."""
    ratios, covered = [], []
    for seed in range(12):
        loop, y = started_loop(n=20000, seed=seed, noise=0.9)
        sample = draw_check_sample(loop, 20, seed=0)
        loop.label(sample.ids, y[sample.ids], source="sample")
        for press in range(1, 10):
            grown = extend_check_sample(loop, sample, 20, seed=press)
            assert grown is not None
            new = grown.ids[len(sample.ids) :]
            loop.label(new, y[new], source="sample")
            sample = grown
        estimate = estimate_left(loop, [sample])
        truth = int(((y == "rare") & ~loop.excluded).sum())
        ratios.append(estimate.left / truth)
        covered.append(estimate.low <= truth <= estimate.high)
    # as one sample of 200 does on these pools: median 0.95, the truth covered in 12 of 12
    assert 0.85 <= np.median(ratios) <= 1.15 and sum(covered) >= 10
