import numpy as np
import pytest
from conftest import clustered_pool
from sklearn.metrics import average_precision_score

from anchoral_widget.engine.learners.label_check import SPLIT_STRIDE, check_labels


def planted(seed: int, n: int = 600, share: float = 0.02):
    """A labelled set from a clustered pool (rare clusters 0-2) with ``share`` of its labels flipped."""
    X, y, _ = clustered_pool(n=n, d=64, rare_clusters=(0, 1, 2), seed=seed)
    truth = (y == "rare").astype(np.int64)
    rng = np.random.default_rng(seed)
    wrong = rng.choice(n, size=int(share * n), replace=False)
    given = truth.copy()
    given[wrong] = 1 - given[wrong]
    return X, given, np.isin(np.arange(n), wrong)


@pytest.mark.parametrize("seed", range(5))
def test_planted_wrong_labels_come_first(seed):
    X, given, wrong = planted(seed)
    check = check_labels(X, given, 2, seed=seed)
    rank = np.empty(len(given))
    rank[check.order] = np.arange(len(given))[::-1]  # earlier in the order, higher the score
    assert average_precision_score(wrong, rank) >= 0.8
    # most flags were planted, and most planted labels are flagged
    assert wrong[check.flagged].mean() >= 0.6 and check.flagged[wrong].mean() >= 0.6


def test_the_order_is_every_item_once_least_probable_label_first():
    X, given, _ = planted(7)
    check = check_labels(X, given, 2, seed=0)
    assert sorted(check.order.tolist()) == list(range(len(given)))
    assert (np.diff(check.quality[check.order]) >= 0).all()
    assert np.array_equal(check.flagged_order, check.order[check.flagged[check.order]])
    flagged = check.flagged
    assert (check.suggested[flagged] != given[flagged]).all()
    assert (check.quality[flagged] < check.thresholds[given[flagged]]).all()
    # an item is flagged exactly when the models prefer another class and its label is under its threshold
    prefer_other = check.suggested != given
    assert np.array_equal(flagged, prefer_other & (check.quality < check.thresholds[given]))


def test_same_seed_same_check_and_the_learner_never_sees_the_item_it_scores():
    X, given, _ = planted(3)
    a, b = check_labels(X, given, 2, seed=4), check_labels(X, given, 2, seed=4)
    assert np.array_equal(a.order, b.order) and np.allclose(a.quality, b.quality)

    class Recording:
        def __init__(self):
            self.fitted = []

        def fit(self, X, y, n_classes, seed=0):
            self.fitted.append({tuple(row) for row in np.round(X, 6)})
            from anchoral_widget.engine.learners.learner import EmbeddingClassifier

            return EmbeddingClassifier().fit(X, y, n_classes, seed)

    learner = Recording()
    check = check_labels(X, given, 2, learner=learner, folds=3, repeats=2)
    assert check.folds == 3 and len(learner.fitted) == 6
    for split in (learner.fitted[:3], learner.fitted[3:]):
        assert not set.intersection(*split)  # each item was held out of one fold of each split
    assert learner.fitted[:3] != learner.fitted[3:]  # two splits, not one twice


def test_a_label_s_doubt_is_its_mean_over_the_splits():
    X, given, _ = planted(2)
    splits = [check_labels(X, given, 2, seed=5 + SPLIT_STRIDE * r, repeats=1) for r in range(3)]
    check = check_labels(X, given, 2, seed=5, repeats=3)
    assert np.allclose(check.quality, np.mean([s.quality for s in splits], axis=0))
    assert check.order.tolist() == np.lexsort((np.arange(len(given)), check.quality)).tolist()
    with pytest.raises(ValueError, match="repeats"):
        check_labels(X, given, 2, repeats=0)


def test_averaging_splits_makes_the_doubts_depend_less_on_the_split():
    """Which labels share a fold is luck: over seeds, a label's probability varies less when three
    splits are averaged than with one."""
    X, given, _ = planted(4)
    spread = {}
    for repeats in (1, 3):
        qualities = np.array([check_labels(X, given, 2, seed=s, repeats=repeats).quality for s in range(4)])
        spread[repeats] = float(qualities.std(axis=0).mean())
    assert spread[3] < 0.8 * spread[1]


@pytest.mark.parametrize("seed", range(3))
def test_separation_says_whether_the_models_can_see_a_class(seed):
    X, given, _ = planted(seed)
    seen = check_labels(X, given, 2, seed=seed)
    assert (seen.separation >= 0.85).all() and seen.weak_classes() == []  # its 2% wrong labels count against it
    # the same vectors with labels that have nothing to do with them: nothing to see
    shuffled = np.random.default_rng(seed).permutation(given)
    blind = check_labels(X, shuffled, 2, seed=seed)
    assert (np.abs(blind.separation - 0.5) <= 0.15).all() and blind.weak_classes() == [0, 1]
    assert blind.weak_classes(below=0.2) == []


def test_a_class_with_one_label_is_left_unchecked_and_never_flagged():
    X, given, _ = planted(1)
    labels = given.copy()
    labels[5] = 2  # a third class, one label
    check = check_labels(X, labels, 3)
    assert check.unchecked.tolist() == [5]
    assert not check.flagged[5] and check.suggested[5] == 2 and check.quality[5] == 1


def test_too_few_labels_flag_nothing_and_bad_labels_are_refused():
    X, _, _ = clustered_pool(n=50)
    one_class = check_labels(X[:10], np.zeros(10, dtype=int), 2)
    assert one_class.folds == 0 and not one_class.flagged.any() and len(one_class.unchecked) == 10
    assert np.isnan(one_class.separation).all() and one_class.weak_classes() == []  # nothing held out: no verdict
    with pytest.raises(ValueError, match="class indices"):
        check_labels(X[:3], [0, 1, 2], 2)


def test_the_neighbour_vote_is_the_share_of_each_class_among_the_nearest_labels():
    from anchoral_widget.engine.learners.label_check import NeighbourVote

    X = np.array([[0.0], [0.1], [0.2], [5.0], [5.1]], dtype=np.float32)
    model = NeighbourVote(k=3).fit(X, np.array([0, 0, 1, 1, 1]), n_classes=3)
    assert model.predict_proba(np.array([[0.05], [5.05]])).tolist() == [[2 / 3, 1 / 3, 0], [0, 1, 0]]


def band(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Points on the sphere, class 1 within a band around its equator: no plane separates it."""
    rows = np.random.default_rng(seed).normal(size=(n, 3))
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return rows.astype(np.float32), (np.abs(rows[:, 2]) < 0.35).astype(np.int64)


def test_the_kernel_checker_fits_a_boundary_no_plane_can():
    from anchoral_widget.engine.learners.estimates import out_of_fold_proba
    from anchoral_widget.engine.learners.label_check import KernelClassifier
    from anchoral_widget.engine.learners.learner import EmbeddingClassifier

    X, y = band(600, seed=2)
    accuracy = {}
    for name, learner in {"kernel": KernelClassifier(), "linear": EmbeddingClassifier(C=10)}.items():
        proba, _, _ = out_of_fold_proba(X, y, 2, learner=learner, seed=0)
        accuracy[name] = (proba.argmax(axis=1) == y).mean()
    assert accuracy["kernel"] >= 0.9 and accuracy["linear"] <= 0.7, accuracy


def test_the_kernel_checker_gives_probabilities_of_every_class_whatever_the_rows_length():
    from anchoral_widget.engine.learners.label_check import KernelClassifier

    X, y = band(200, seed=3)
    model = KernelClassifier().fit(X, y, n_classes=3)
    proba = model.predict_proba(X)
    assert proba.shape == (200, 3) and np.allclose(proba.sum(axis=1), 1) and not proba[:, 2].any()
    # a cosine geometry: rows scaled by any length get the same probabilities
    assert np.allclose(KernelClassifier().fit(X * 7, y, n_classes=3).predict_proba(X / 3), proba, atol=0.05)
    only = KernelClassifier().fit(X[:5], np.full(5, 2), n_classes=3).predict_proba(X[:4])
    assert only.tolist() == [[0, 0, 1]] * 4


def worded(seed: int, n: int = 600, share: float = 0.02):
    """Vectors that know nothing of the class, texts that say it: each text is filler words and one
    word of its class's own; ``share`` of the labels flipped."""
    rng = np.random.default_rng(seed)
    truth = (rng.random(n) < 0.15).astype(np.int64)
    filler = [f"w{i}" for i in range(60)]
    own = {
        0: ["invoice", "meeting", "lunch", "parking", "printer"],
        1: ["retina", "cornea", "glaucoma", "iris", "lens"],
    }
    texts = [" ".join([*rng.choice(filler, 4), rng.choice(own[int(c)])]) for c in truth]
    X = rng.normal(size=(n, 32)).astype(np.float32)
    wrong = rng.choice(n, size=int(share * n), replace=False)
    given = truth.copy()
    given[wrong] = 1 - given[wrong]
    return X, given, texts, np.isin(np.arange(n), wrong)


@pytest.mark.parametrize("seed", range(3))
def test_the_texts_words_find_wrong_labels_the_vectors_cannot(seed):
    X, given, texts, wrong = worded(seed)

    def precision(check):
        rank = np.empty(len(given))
        rank[check.order] = np.arange(len(given))[::-1]
        return average_precision_score(wrong, rank)

    with_words = check_labels(X, given, 2, texts=texts, seed=seed)
    assert precision(with_words) >= 0.8
    assert precision(check_labels(X, given, 2, seed=seed)) <= 0.3  # the vectors alone: noise
    assert with_words.flagged[wrong].mean() >= 0.6


def test_texts_without_a_word_leave_the_check_to_the_vectors_and_a_count_mismatch_is_refused():
    X, given, _ = planted(2)
    alone = check_labels(X, given, 2, seed=1)
    blank = check_labels(X, given, 2, texts=[None, *[""] * (len(given) - 1)], seed=1)
    assert np.array_equal(alone.order, blank.order) and np.allclose(alone.quality, blank.quality)
    with pytest.raises(ValueError, match="one per label: 3 texts for 600 labels"):
        check_labels(X, given, 2, texts=["a", "b", "c"])
