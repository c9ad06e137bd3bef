"""The paper's claims 2 and 3 on real text: a bundled ICD-10 pool with a 1% minority, real
MiniLM embeddings, a small seeded configuration."""

import numpy as np
import pytest

from anchoral_widget.data.datasets import load_dataset
from anchoral_widget.engine.learners.learner import EmbeddingClassifier
from anchoral_widget.engine.loop.active import ActiveLoop
from anchoral_widget.engine.vectors.encoder import Encoder
from anchoral_widget.replay.simulation import initial_sample


@pytest.fixture(scope="module")
def icd10():
    data = load_dataset("icd10-eye", seed=0, max_size=4000)
    encoder = Encoder("minilm", progress=False)  # MiniLM, as the docstring says, whatever the default
    return data, encoder.encode(data.texts), np.asarray(data.labels)


def run(icd10, pool_filter, subpool_size, learner=None):
    data, X, y = icd10
    # the paper's claims, with the paper's method (the balanced model alone, the anchors' subpool
    # alone) unless a learner is given: then the default session's
    paper = {"outside_sample": 0} if learner is None and pool_filter == "anchoral" else {}
    learner = EmbeddingClassifier(unlabelled_sample=0) if learner is None else learner
    loop = ActiveLoop(
        X,
        classes=data.classes,
        minority=data.minority,
        pool_filter=pool_filter,
        subpool_size=subpool_size,
        seed=0,
        learner=learner,
        **paper,
    )
    initial = initial_sample(y, data.minority, 100, 5, seed=0)
    loop.label(initial, y[initial])
    loop.simulate(y, 150)
    found = sum(1 for i, label in loop.labels.items() if label in data.minority and i not in set(initial.tolist()))
    share = float(np.mean([r.minority_in_subpool for r in loop.history]))
    return found, share


@pytest.mark.slow
def test_anchoral_beats_random_subpools_on_icd10(icd10):
    data, _X, y = icd10
    assert np.isin(y, data.minority).mean() == pytest.approx(0.01, abs=0.001)
    anchoral = run(icd10, "anchoral", 1000)
    no_anchoring = run(icd10, "randsub", 1000)
    randsub = run(icd10, "randsub", None)  # the paper's M=10,000, here the whole 4,000-item pool
    print(f"found / subpool share: anchoral {anchoral}, randsub M=1000 {no_anchoring}, randsub {randsub}")
    assert anchoral[1] > 3 * no_anchoring[1] and anchoral[1] > 3 * randsub[1]
    assert anchoral[0] > no_anchoring[0] and anchoral[0] > randsub[0]
    # the default learner, fitted against the pool as well, finds more than the paper's
    assert run(icd10, "anchoral", 1000, "logreg")[0] > anchoral[0]
