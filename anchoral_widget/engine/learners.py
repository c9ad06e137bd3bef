"""Learners: what the loop trains on the labelled set each iteration.

A learner's ``fit(X, y, n_classes, seed)`` returns a fresh fitted model (re-initialised every
iteration, as in the paper) with ``predict_proba(X) -> (n, n_classes)`` and
``represent(X) -> (n, d)``, the representation h(x) that feeds the last layer (BADGE,
FT-BERTKM). ``inputs`` says what X is: ``"embeddings"`` (rows of the pool's embeddings) or
``"texts"`` (a list of strings).

- :class:`EmbeddingClassifier` (default): class-weighted logistic regression on the frozen
  sentence embeddings; trains in milliseconds on thousands of labels.
- :class:`TransformerClassifier`: the paper's fine-tuned Hugging Face model, from a local path.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence

import numpy as np

from ..errors import InputError


def take(features, ids: np.ndarray):
    """Rows ``ids`` of an embeddings array or a list of texts."""
    if isinstance(features, np.ndarray):
        return features[ids]
    return [features[int(i)] for i in ids]


class BoundModel:
    """A fitted model bound to the pool, so strategies can ask by id; works in chunks so that
    scoring a million-item pool never copies the whole pool at once."""

    def __init__(self, model, features, chunk: int = 65_536):
        self.model = model
        self._features = features
        self._chunk = chunk

    def _map(self, method, ids):
        ids = np.asarray(ids, dtype=np.int64)
        parts = [method(take(self._features, ids[s : s + self._chunk])) for s in range(0, len(ids), self._chunk)]
        return np.concatenate(parts) if parts else np.empty((0, 0))

    def proba(self, ids) -> np.ndarray:
        return self._map(self.model.predict_proba, ids)

    def represent(self, ids) -> np.ndarray:
        return self._map(self.model.represent, ids)

    def proba_and_represent(self, ids) -> tuple[np.ndarray, np.ndarray]:
        """Both at once: one forward pass for a model that can (a transformer), two otherwise."""
        both = getattr(self.model, "predict_proba_and_represent", None)
        if both is None:
            return self.proba(ids), self.represent(ids)
        ids = np.asarray(ids, dtype=np.int64)
        parts = [both(take(self._features, ids[s : s + self._chunk])) for s in range(0, len(ids), self._chunk)]
        return np.concatenate([p for p, _ in parts]), np.concatenate([h for _, h in parts])


def _expand(probs: np.ndarray, present: np.ndarray, n_classes: int) -> np.ndarray:
    """Probabilities over the classes seen in training -> over all classes (0 for unseen)."""
    full = np.zeros((len(probs), n_classes), dtype=np.float64)
    full[:, present] = probs
    return full


class _ConstantModel:
    """What a learner gives when the labels hold a single class: certain of that class."""

    def __init__(self, cls: int, n_classes: int, represent):
        self._cls, self._n = cls, n_classes
        self._represent = represent

    def predict_proba(self, X):
        probs = np.zeros((len(X), self._n))
        probs[:, self._cls] = 1.0
        return probs

    def represent(self, X):
        return self._represent(X)


def _check_training_set(X, y, n_classes):
    y = np.asarray(y, dtype=np.int64)
    if len(y) == 0:
        raise InputError("cannot train on an empty labelled set")
    if len(X) != len(y):
        raise InputError(f"{len(X)} training items but {len(y)} labels")
    if y.min() < 0 or y.max() >= n_classes:
        raise InputError(f"labels must be class indices in [0, {n_classes})")
    return y


class EmbeddingClassifier:
    """Logistic regression on frozen embeddings, class-weighted ("balanced") so that a 1%
    minority is not ignored. h(x) is the embedding itself."""

    inputs = "embeddings"

    def __init__(self, C: float = 1.0, max_iter: int = 1000):
        self.C = C
        self.max_iter = max_iter

    def fit(self, X: np.ndarray, y: np.ndarray, n_classes: int, seed: int = 0):
        from sklearn.linear_model import LogisticRegression

        y = _check_training_set(X, y, n_classes)
        present = np.unique(y)
        if len(present) == 1:
            return _ConstantModel(int(present[0]), n_classes, lambda X: np.asarray(X, dtype=np.float32))
        clf = LogisticRegression(C=self.C, max_iter=self.max_iter, class_weight="balanced", random_state=seed)
        clf.fit(X, y)
        return _FittedEmbeddingClassifier(clf, n_classes)


class _FittedEmbeddingClassifier:
    def __init__(self, clf, n_classes: int):
        self.clf = clf
        self.n_classes = n_classes

    def predict_proba(self, X):
        return _expand(self.clf.predict_proba(X), self.clf.classes_, self.n_classes)

    def represent(self, X):
        return np.asarray(X, dtype=np.float32)


def _last_linear(model):
    import torch

    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    if not linears:
        raise InputError("the model has no linear output layer to read h(x) from")
    return linears[-1]


class TransformerClassifier:
    """The paper's learner: a sequence-classification transformer fine-tuned from a local path,
    re-initialised every iteration.

    Recipe (METHOD.md): AdamW (lr 4e-5, weight decay 0.01), batch 32, 10 epochs but at least 100
    optimisation steps, keeping the epoch with the best training minority F1; early stop once
    that F1 has not improved by ``min_delta`` for ``patience`` epochs after the step minimum.
    h(x) is the input of the model's last linear layer (BERT's pooled output).
    """

    inputs = "texts"

    def __init__(
        self,
        model_path: str | None = None,
        *,
        minority: Sequence[int] = (),
        lr: float = 4e-5,
        weight_decay: float = 0.01,
        batch_size: int = 32,
        max_epochs: int = 10,
        min_steps: int = 100,
        patience: int = 2,
        min_delta: float = 1e-5,
        max_length: int = 512,
        device: str | None = None,
    ):
        self.model_path = model_path
        self.minority = tuple(minority)
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.min_steps = min_steps
        self.patience = patience
        self.min_delta = min_delta
        self.max_length = max_length
        self.device = device

    def _resolve(self):
        if self.model_path is not None:
            return str(self.model_path)
        from .embed import default_model_path

        return str(default_model_path())

    def fit(self, X: Sequence[str], y: np.ndarray, n_classes: int, seed: int = 0):
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from .metrics import minority_f1

        y = _check_training_set(X, y, n_classes)
        device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        torch.manual_seed(seed)
        path = self._resolve()
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=n_classes).to(device)
        optimiser = torch.optim.AdamW(model.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        fitted = _FittedTransformer(model, tokenizer, n_classes, device, self.max_length, self.batch_size)
        minority = list(self.minority) or [c for c in range(n_classes) if c != np.bincount(y).argmax()]

        steps_per_epoch = math.ceil(len(y) / self.batch_size)
        epochs = max(self.max_epochs, math.ceil(self.min_steps / steps_per_epoch))
        generator = torch.Generator().manual_seed(seed)
        best_f1, best_state, stale, steps = -1.0, None, 0, 0
        for _ in range(epochs):
            model.train()
            order = torch.randperm(len(y), generator=generator).numpy()
            for start in range(0, len(y), self.batch_size):
                batch = order[start : start + self.batch_size]
                enc = fitted.encode([X[i] for i in batch])
                out = model(**enc, labels=torch.as_tensor(y[batch], device=device))
                optimiser.zero_grad()
                out.loss.backward()
                optimiser.step()
                steps += 1
            f1 = minority_f1(y, fitted.predict_proba(X).argmax(axis=1), minority, n_classes)
            if f1 > best_f1 + self.min_delta:
                best_f1, best_state, stale = f1, copy.deepcopy(model.state_dict()), 0
            else:
                stale += 1
                if steps >= self.min_steps and stale >= self.patience:
                    break
        if best_state is not None:
            model.load_state_dict(best_state)
        fitted.train_minority_f1 = best_f1
        return fitted


class _FittedTransformer:
    def __init__(self, model, tokenizer, n_classes, device, max_length, batch_size):
        self.model = model
        self.tokenizer = tokenizer
        self.n_classes = n_classes
        self.device = device
        self.max_length = max_length
        self.batch_size = batch_size
        self._head = _last_linear(model)

    def encode(self, texts):
        enc = self.tokenizer(
            list(texts), padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        )
        return {k: v.to(self.device) for k, v in enc.items()}

    def _forward(self, X):
        import torch

        captured = []
        hook = self._head.register_forward_hook(lambda mod, inp, out: captured.append(inp[0].detach()))
        probs = []
        self.model.eval()
        try:
            with torch.no_grad():
                for start in range(0, len(X), self.batch_size):
                    logits = self.model(**self.encode(X[start : start + self.batch_size])).logits
                    probs.append(torch.softmax(logits.float(), dim=-1).cpu().numpy())
        finally:
            hook.remove()
        h = torch.cat(captured).float().cpu().numpy() if captured else np.empty((0, self._head.in_features))
        return (np.concatenate(probs) if probs else np.empty((0, self.n_classes))), h

    def predict_proba(self, X):
        return self._forward(list(X))[0].astype(np.float64)

    def predict_proba_and_represent(self, X):
        probs, h = self._forward(list(X))
        return probs.astype(np.float64), h

    def represent(self, X):
        return self._forward(list(X))[1]


def make_learner(name: str | object = "logreg", **kwargs):
    """A learner by name (``"logreg"`` or ``"transformer"``) or an object passed through."""
    if not isinstance(name, str):
        return name
    if name == "logreg":
        return EmbeddingClassifier(**kwargs)
    if name == "transformer":
        return TransformerClassifier(**kwargs)
    raise InputError(f"unknown learner {name!r}; use 'logreg', 'transformer' or a learner object")
