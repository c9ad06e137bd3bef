import numpy as np
import pytest
from conftest import clustered_pool

from anchoral_widget.engine.learners import BoundModel, EmbeddingClassifier, TransformerClassifier, make_learner
from anchoral_widget.errors import InputError


def test_embedding_classifier_probabilities_cover_every_class():
    X, y, _ = clustered_pool(n=800)
    labels = (y == "rare").astype(int)
    model = EmbeddingClassifier().fit(X[:400], labels[:400], n_classes=3)
    probs = model.predict_proba(X[400:])
    assert probs.shape == (400, 3) and np.allclose(probs.sum(1), 1) and (probs[:, 2] == 0).all()
    # Class-weighted: the rare class is found on held-out items.
    predicted = probs.argmax(1)
    assert (predicted[labels[400:] == 1] == 1).mean() > 0.8
    assert np.array_equal(model.represent(X[:5]), X[:5])


def test_a_single_class_gives_a_certain_model():
    X, _, _ = clustered_pool(n=100)
    model = EmbeddingClassifier().fit(X[:10], np.full(10, 1), n_classes=2)
    assert model.predict_proba(X[10:13]).tolist() == [[0, 1]] * 3


def test_training_set_errors():
    X, _, _ = clustered_pool(n=100)
    with pytest.raises(InputError, match="empty"):
        EmbeddingClassifier().fit(X[:0], np.array([], dtype=int), n_classes=2)
    with pytest.raises(InputError, match="class indices"):
        EmbeddingClassifier().fit(X[:2], np.array([0, 5]), n_classes=2)
    with pytest.raises(InputError, match="unknown learner"):
        make_learner("svm")


def test_bound_model_works_in_chunks():
    X, _y, _ = clustered_pool(n=300)
    model = EmbeddingClassifier().fit(X[:100], np.arange(100) % 2, n_classes=2)
    whole = BoundModel(model, X, chunk=1000).proba(np.arange(300))
    chunked = BoundModel(model, X, chunk=7).proba(np.arange(300))
    assert np.allclose(whole, chunked)


def test_transformer_fine_tunes_on_cpu_for_a_few_steps():
    """The paper's learner, on the bundled MiniLM weights, a few optimisation steps."""
    texts = [f"the patient has an eye infection number {i}" for i in range(12)] + [
        f"quarterly revenue of the company grew {i} percent" for i in range(12)
    ]
    y = np.array([1] * 12 + [0] * 12)
    learner = TransformerClassifier(
        minority=[1], batch_size=8, max_epochs=1, min_steps=6, max_length=32, lr=1e-4, device="cpu"
    )
    model = learner.fit(texts, y, n_classes=2, seed=0)
    probs = model.predict_proba(texts)
    h = model.represent(texts[:5])
    assert probs.shape == (24, 2) and np.allclose(probs.sum(1), 1, atol=1e-5)
    assert h.shape == (5, 384)  # the pooled output that feeds BERT's classifier
    both = model.predict_proba_and_represent(texts[:5])  # BADGE's single forward pass
    assert np.allclose(both[0], probs[:5], atol=1e-5) and np.allclose(both[1], h, atol=1e-5)
    assert model.train_minority_f1 > 0.9, "six steps separate two obvious topics"
    again = learner.fit(texts, y, n_classes=2, seed=0).predict_proba(texts)
    assert np.allclose(probs, again, atol=1e-5), "seeded: same data, same model"
