import numpy as np
import pytest
from conftest import Counting, clustered_pool

from anchoral_widget.engine.learners.learner import BoundModel, EmbeddingClassifier, make_learner
from anchoral_widget.engine.learners.transformer import TransformerClassifier
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


# ---- the recipe, warm start, faults: on a tiny BERT built here ----------------------------------

TEXTS = [f"the patient has an eye infection number {i}" for i in range(12)] + [
    f"quarterly revenue of the company grew {i} percent" for i in range(12)
]
Y = np.array([1] * 12 + [0] * 12)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A 2-layer BERT with random weights and the bundled MiniLM's tokenizer: fits in a second."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    from anchoral_widget.engine.vectors.encoder import default_model_path

    path = tmp_path_factory.mktemp("tiny-bert")
    tokenizer = AutoTokenizer.from_pretrained(str(default_model_path()))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    import torch

    torch.manual_seed(0)
    BertModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


def tiny(path, **kw):
    params = dict(batch_size=8, max_epochs=2, min_steps=4, max_length=32, lr=1e-3, device="cpu")
    params.update(kw)
    return TransformerClassifier(path, **params)


def test_the_recipe_defaults_are_the_papers():
    learner = TransformerClassifier()
    assert (learner.lr, learner.weight_decay, learner.batch_size, learner.max_epochs) == (4e-5, 0.01, 32, 10)
    assert (learner.min_steps, learner.max_length) == (100, 512)
    assert (learner.patience, learner.min_delta) == (10, 1e-5), "early stopping as the paper's code configures it"
    assert learner.warm_start is False, "re-initialised every iteration unless asked"


def test_the_best_epoch_is_chosen_on_the_minority_classes_given(tiny_model, monkeypatch):
    import anchoral_widget.engine.learners.metrics as metrics

    seen = []
    real = metrics.minority_f1
    monkeypatch.setattr(
        metrics, "minority_f1", lambda y, p, minority, n: seen.append(list(minority)) or real(y, p, minority, n)
    )
    y3 = np.array([0] * 10 + [1] * 8 + [2] * 6)
    tiny(tiny_model).fit(TEXTS, y3, n_classes=3, minority=[2])
    assert seen and all(m == [2] for m in seen), "class 2 alone, not every class but the most frequent"
    seen.clear()
    tiny(tiny_model, minority=[1]).fit(TEXTS, y3, n_classes=3)
    assert all(m == [1] for m in seen), "without the loop's, the learner's own"
    seen.clear()
    tiny(tiny_model).fit(TEXTS, y3, n_classes=3)
    assert all(m == [1, 2] for m in seen), "without either: every class but the most frequent"


def test_the_loop_tells_the_learner_its_minority_classes(pool):
    from anchoral_widget.engine.loop.active import ActiveLoop

    class Spy:
        inputs = "embeddings"

        def __init__(self):
            self.minority = None

        def fit(self, X, y, n_classes, seed, *, minority=None):
            self.minority = minority
            return EmbeddingClassifier().fit(X, y, n_classes, seed)

    X, y, _ = pool
    spy = Spy()
    loop = ActiveLoop(X, ["other", "rare", "third"], ["third"], learner=spy, subpool_size=200, index="exact")
    ids = np.r_[np.flatnonzero(y == "rare")[:3], np.flatnonzero(y == "other")[:30]]
    loop.label(ids, y[ids])
    loop.propose()
    assert spy.minority == [2], "the named minority class, though it has no label yet"


def test_fit_learner_passes_only_the_keywords_a_fit_takes():
    from anchoral_widget.engine.learners.learner import fit_learner

    class Plain:
        def fit(self, X, y, n_classes, seed):
            return ("plain", n_classes, seed)

    class Some:
        def fit(self, X, y, n_classes, seed, *, minority=None):
            return ("some", minority)

    class Any_:
        def fit(self, X, y, n_classes, seed, **kw):
            return ("any", sorted(kw))

    extra = dict(minority=[1], init=None, checkpoint=None)
    assert fit_learner(Plain(), [], np.array([0]), 2, 3, **extra) == ("plain", 2, 3)
    assert fit_learner(Some(), [], np.array([0]), 2, 3, **extra) == ("some", [1])
    assert fit_learner(Any_(), [], np.array([0]), 2, 3, **extra) == ("any", ["checkpoint", "init", "minority"])


def test_warm_start_goes_on_from_the_last_weights_for_a_few_epochs(tiny_model):
    first = tiny(tiny_model).fit(TEXTS, Y, n_classes=2, seed=0)
    assert first.warm is False
    still = tiny(tiny_model, warm_start=True, warm_epochs=2, lr=0.0)  # lr 0: the weights stay as given
    warm = still.fit(TEXTS, Y, n_classes=2, seed=1, init=first)
    assert warm.warm is True and warm.epochs <= 2
    assert np.allclose(warm.predict_proba(TEXTS), first.predict_proba(TEXTS), atol=1e-6), "started from init"
    assert warm.model is not first.model, "a copy: the model that proposes is never trained under it"
    cold = tiny(tiny_model, warm_start=False, lr=0.0).fit(TEXTS, Y, n_classes=2, seed=1, init=first)
    assert cold.warm is False and not np.allclose(cold.predict_proba(TEXTS), first.predict_proba(TEXTS))
    other = tiny(tiny_model, warm_start=True).fit(TEXTS, np.arange(24) % 3, n_classes=3, init=first)
    assert other.warm is False, "other classes: nothing to go on from"


def test_a_nan_loss_raises_a_training_error(tiny_model):
    import torch

    from anchoral_widget.engine.learners.learner import TrainingError

    broken = tiny(tiny_model).fit(TEXTS, Y, n_classes=2)
    with torch.no_grad():
        for p in broken.model.parameters():
            p.fill_(float("nan"))
    with pytest.raises(TrainingError, match="loss became nan at step 1"):
        tiny(tiny_model, warm_start=True).fit(TEXTS, Y, n_classes=2, init=broken)


def test_a_checkpoint_is_called_between_steps_and_can_cancel(tiny_model):
    from anchoral_widget.engine.learners.learner import FitCancelled

    calls = []

    def checkpoint():
        calls.append(1)
        if len(calls) == 3:
            raise FitCancelled("stop")

    with pytest.raises(FitCancelled):
        tiny(tiny_model).fit(TEXTS, Y, n_classes=2, checkpoint=checkpoint)
    assert len(calls) == 3


def test_forward_passes_sorted_by_length_give_each_text_its_own_row(tiny_model):
    model = tiny(tiny_model).fit(TEXTS, Y, n_classes=2)
    texts = ["a much longer text about the eye and its many infections", "eye", "revenue grew", *TEXTS[:5]]
    probs, h = model.predict_proba_and_represent(texts)
    for i, text in enumerate(texts):
        one, h_one = model.predict_proba_and_represent([text])
        assert np.allclose(one[0], probs[i], atol=1e-5) and np.allclose(h_one[0], h[i], atol=1e-4)
    assert model.predict_proba([]).shape == (0, 2)


def test_device_and_precision_choices():
    import torch

    from anchoral_widget.engine.learners.transformer import autocast_dtype, resolve_device

    assert resolve_device("cpu") == "cpu"
    assert autocast_dtype("auto", "cpu") is None and autocast_dtype("fp32", "cuda") is None
    assert autocast_dtype("bf16", "cpu") == torch.bfloat16
    with pytest.raises(InputError, match="fp16' needs a GPU"):
        autocast_dtype("fp16", "cpu")
    with pytest.raises(InputError, match="unknown precision"):
        autocast_dtype("fp8", "cpu")
    if not torch.cuda.is_available():
        assert resolve_device(None) == "cpu"
        with pytest.raises(InputError, match="no GPU"):
            resolve_device("cuda")


def test_remembering_scores_each_input_once():
    from anchoral_widget.engine.learners.learner import Remembering

    inner = Counting()
    model = Remembering(inner)
    texts = ["a", "bb", "ccc", "a"]
    assert np.array_equal(model.predict_proba(texts), inner.predict_proba(texts))
    inner.scored.clear()
    model.predict_proba(["bb", "a"])
    assert inner.scored == []
    model.remember(["dddd", "bb"], chunk=1)
    assert inner.scored == ["dddd", "dddd", "bb", "bb"], "proba and h of what it had not represented"
    inner.scored.clear()
    assert np.array_equal(model.represent(["dddd", "bb"]), [[4, 1], [2, 1]]) and inner.scored == []
    assert model.predict_proba([]).shape[0] == 0
    small = Remembering(Counting(), limit=2)
    small.predict_proba(["a", "b"])
    small.predict_proba(["c"])
    assert len(small) == 1, "past its limit it starts again"


@pytest.mark.gpu
def test_transformer_fine_tunes_and_predicts_on_the_gpu(tiny_model):
    """Run wherever torch sees a GPU (deselected elsewhere): the paper's learner, CUDA, autocast."""
    import torch

    learner = tiny(tiny_model, device=None, max_epochs=3, min_steps=6)
    model = learner.fit(TEXTS, Y, n_classes=2, seed=0)
    assert model.device == "cuda" and next(model.model.parameters()).is_cuda
    expected = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    assert model.dtype == expected, "mixed precision on the GPU"
    probs, h = model.predict_proba_and_represent(TEXTS)
    assert probs.shape == (24, 2) and np.allclose(probs.sum(1), 1, atol=1e-3) and h.shape == (24, 32)
    assert np.isfinite(probs).all() and model.train_minority_f1 > 0.9
    warm = tiny(tiny_model, device=None, warm_start=True).fit(TEXTS, Y, n_classes=2, init=model)
    assert warm.warm and next(warm.model.parameters()).is_cuda


def _blas_threads() -> set[int]:
    from threadpoolctl import threadpool_info

    return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}


@pytest.mark.parametrize("where", ["the caller's thread", "a thread of its own"])
def test_the_default_learner_fits_on_one_blas_thread(monkeypatch, where):
    """Two OpenBLAS builds (numpy's, scipy's) contend over the solver's small products: the fit
    runs with one BLAS thread, and the setting is given back after it, in any thread (the
    session's trainer fits in a thread of its own)."""
    import threading

    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    seen, after = [], []
    fit = LogisticRegression.fit

    def watched(self, X, y, sample_weight=None):
        seen.append(_blas_threads())
        return fit(self, X, y, sample_weight)

    monkeypatch.setattr(LogisticRegression, "fit", watched)
    X, y, _ = clustered_pool(n=300)

    def run():
        with threadpool_limits(limits=2, user_api="blas"):
            EmbeddingClassifier().fit(X, (y == "rare").astype(int), n_classes=2)
            after.append(_blas_threads())

    if where == "a thread of its own":
        worker = threading.Thread(target=run)
        worker.start()
        worker.join(30)
    else:
        run()
    assert seen == [{1}] and after == [{2}]


def test_the_fit_is_the_same_whatever_the_blas_threads():
    from threadpoolctl import threadpool_limits

    X, y, _ = clustered_pool(n=400)
    labels = (y == "rare").astype(int)
    with threadpool_limits(limits=2, user_api="blas"):
        model = EmbeddingClassifier().fit(X, labels, n_classes=2)
    again = EmbeddingClassifier().fit(X, labels, n_classes=2)
    assert np.allclose(model.predict_proba(X), again.predict_proba(X), atol=1e-6)
