"""Learners: what the loop trains on the labelled set each iteration.

A learner's ``fit(X, y, n_classes, seed)`` returns a fresh fitted model (re-initialised every
iteration, as in the paper) with ``predict_proba(X) -> (n, n_classes)`` and
``represent(X) -> (n, d)``, the representation h(x) that feeds the last layer (BADGE,
FT-BERTKM). ``inputs`` says what X is: ``"embeddings"`` (rows of the pool's embeddings) or
``"texts"`` (a list of strings). A fit may also take the keywords ``minority``, ``init`` and
``checkpoint``; :func:`fit_learner` passes those it takes.

- :class:`EmbeddingClassifier` (default): class-weighted logistic regression on the frozen
  sentence embeddings; trains in milliseconds on thousands of labels.
- :class:`TransformerClassifier`: the paper's fine-tuned Hugging Face model, from a local path,
  on the GPU when there is one; optionally warm started from the last model.
- :class:`Trained`: a model and the labelled count it was fitted on, for a proposal scored by a
  model fitted in the background; :class:`Remembering`: a model that scores an input once.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import AnchorALError, InputError


def take(features: Any, ids: Any) -> Any:
    """Rows ``ids`` of an embeddings array or a list of texts."""
    if isinstance(features, np.ndarray):
        return features[ids]
    return [features[int(i)] for i in ids]


class BoundModel:
    """A fitted model bound to the pool, so strategies can ask by id; works in chunks so that
    scoring a million-item pool never copies the whole pool at once."""

    def __init__(self, model: Any, features: Any, chunk: int = 65_536) -> None:
        self.model = model
        self._features = features
        self._chunk = chunk

    def _map(self, method: Callable[[Any], np.ndarray], ids: Any) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64)
        parts = [method(take(self._features, ids[s : s + self._chunk])) for s in range(0, len(ids), self._chunk)]
        return np.concatenate(parts) if parts else np.empty((0, 0))

    def proba(self, ids: Any) -> np.ndarray:
        return self._map(self.model.predict_proba, ids)

    def represent(self, ids: Any) -> np.ndarray:
        return self._map(self.model.represent, ids)

    def proba_and_represent(self, ids: Any) -> tuple[np.ndarray, np.ndarray]:
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

    def __init__(self, cls: int, n_classes: int, represent: Callable[[Any], np.ndarray]) -> None:
        self._cls, self._n = cls, n_classes
        self._represent = represent

    def predict_proba(self, X: Any) -> np.ndarray:
        probs = np.zeros((len(X), self._n))
        probs[:, self._cls] = 1.0
        return probs

    def represent(self, X: Any) -> np.ndarray:
        return self._represent(X)


def _check_training_set(X: Any, y: Any, n_classes: int) -> np.ndarray:
    labels = np.asarray(y, dtype=np.int64)
    if len(labels) == 0:
        raise InputError("cannot train on an empty labelled set")
    if len(X) != len(labels):
        raise InputError(f"{len(X)} training items but {len(labels)} labels")
    if labels.min() < 0 or labels.max() >= n_classes:
        raise InputError(f"labels must be class indices in [0, {n_classes})")
    return labels


class EmbeddingClassifier:
    """Logistic regression on frozen embeddings, class-weighted ("balanced") so that a 1%
    minority is not ignored. h(x) is the embedding itself."""

    inputs = "embeddings"

    def __init__(self, C: float = 1.0, max_iter: int = 1000) -> None:
        self.C = C
        self.max_iter = max_iter

    def fit(self, X: np.ndarray, y: np.ndarray, n_classes: int, seed: int = 0) -> Any:
        from sklearn.linear_model import LogisticRegression

        y = _check_training_set(X, y, n_classes)
        present = np.unique(y)
        if len(present) == 1:
            return _ConstantModel(int(present[0]), n_classes, lambda X: np.asarray(X, dtype=np.float32))
        clf = LogisticRegression(C=self.C, max_iter=self.max_iter, class_weight="balanced", random_state=seed)
        clf.fit(X, y)
        return _FittedEmbeddingClassifier(clf, n_classes)


class _FittedEmbeddingClassifier:
    def __init__(self, clf: Any, n_classes: int) -> None:
        self.clf = clf
        self.n_classes = n_classes

    def predict_proba(self, X: Any) -> np.ndarray:
        return _expand(self.clf.predict_proba(X), self.clf.classes_, self.n_classes)

    def represent(self, X: Any) -> np.ndarray:
        return np.asarray(X, dtype=np.float32)


def fit_learner(learner: Any, X: Any, y: np.ndarray, n_classes: int, seed: int = 0, **optional: Any) -> Any:
    """``learner.fit(X, y, n_classes, seed)`` with those of ``optional`` its ``fit`` takes.

    The loop and the session's trainer offer ``minority`` (the class indices to choose the best
    epoch on), ``init`` (the last model fitted, to warm start from) and ``checkpoint`` (called
    between optimisation steps; it may block to lend the CPU, or raise :class:`FitCancelled`),
    so that a learner written for the plain four arguments still works.
    """
    try:
        params = inspect.signature(learner.fit).parameters
    except (TypeError, ValueError):  # a builtin or C-level fit: the plain call only
        params = {}  # type: ignore[assignment]
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    given = {k: v for k, v in optional.items() if takes_any or k in params}
    return learner.fit(X, y, n_classes, seed, **given)


class FitCancelled(Exception):
    """Raised by a fit's ``checkpoint`` to stop it: its session closed."""


class TrainingError(AnchorALError):
    """A fit that cannot go on: the loss became NaN or infinite, or the device ran out of memory."""


@dataclass(frozen=True)
class Trained:
    """A model fitted on the labelled set as it was, for :meth:`ActiveLoop.propose` to score with.

    ``model`` None: no model yet (the batch is drawn at random from the subpool). ``labelled``:
    how many labels it was fitted on (with label-ahead, maybe fewer than the loop holds now).
    ``waited``: seconds the caller waited for it, counted as the proposal's training time.
    ``stand_in``: fitted on the pool's embeddings by :class:`EmbeddingClassifier` (milliseconds)
    while the session's own learner, a fine-tuned transformer, has no model yet; it scores the
    embeddings, not the texts.
    """

    model: Any
    labelled: int
    waited: float = 0.0
    stand_in: bool = False


class Remembering:
    """A fitted model that keeps what it computed for each input (a text, or an embedding row's
    bytes), so that a model kept for several proposals scores an item once.

    Consecutive subpools overlap, and a model fitted in the background proposes until the next
    one is ready: with a transformer (milliseconds per item on a CPU) this is most of the wait
    after a submit. :meth:`remember` scores items ahead of time, in chunks, between calls to a
    ``checkpoint``. Holds at most ``limit`` inputs; beyond that it starts again empty.
    """

    def __init__(self, model: Any, limit: int = 200_000) -> None:
        self.model = model
        self.limit = limit
        self._proba: dict[Any, np.ndarray] = {}
        self._h: dict[Any, np.ndarray] = {}
        self.asked = 0  # inputs asked for, and of those computed here: what scoring ahead saved
        self.computed = 0

    def __getattr__(self, name: str) -> Any:  # train_minority_f1, seconds, ... of the model
        if name == "model":
            raise AttributeError(name)
        return getattr(self.model, name)

    @staticmethod
    def _key(x: Any) -> Any:
        return x if isinstance(x, str) else np.asarray(x).tobytes()

    def _fill(self, X: Any, represent: bool) -> list[Any]:
        keys = [self._key(x) for x in X]
        have = self._h if represent else self._proba
        missing = list({k: i for i, k in enumerate(keys) if k not in have}.values())
        self.asked += len(keys)
        self.computed += len(missing)
        if missing:
            if len(self._proba) + len(missing) > self.limit:
                self._proba, self._h = {}, {}
            rows = take(X, np.asarray(missing, dtype=np.int64))
            both = getattr(self.model, "predict_proba_and_represent", None)
            if both is not None:  # one forward pass gives both: keep both
                proba, h = both(rows)
            elif represent:
                proba, h = self.model.predict_proba(rows), self.model.represent(rows)
            else:
                proba, h = self.model.predict_proba(rows), None
            for j, i in enumerate(missing):
                self._proba[keys[i]] = proba[j]
                if h is not None:
                    self._h[keys[i]] = h[j]
        return keys

    def predict_proba(self, X: Any) -> np.ndarray:
        keys = self._fill(X, represent=False)
        return np.stack([self._proba[k] for k in keys]) if keys else self.model.predict_proba(X)

    def represent(self, X: Any) -> np.ndarray:
        keys = self._fill(X, represent=True)
        return np.stack([self._h[k] for k in keys]) if keys else self.model.represent(X)

    def predict_proba_and_represent(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        keys = self._fill(X, represent=True)
        if not keys:
            return self.predict_proba(X), self.represent(X)
        return np.stack([self._proba[k] for k in keys]), np.stack([self._h[k] for k in keys])

    def remember(self, X: Any, checkpoint: Callable[[], None] | None = None, chunk: int = 64) -> None:
        """Score ``X`` now, ``chunk`` inputs at a time, calling ``checkpoint()`` between chunks."""
        for start in range(0, len(X), chunk):
            if checkpoint is not None:
                checkpoint()
            self._fill(X[start : start + chunk], represent=True)

    def __len__(self) -> int:
        return len(self._proba)


def _last_linear(model: Any) -> Any:
    import torch

    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    if not linears:
        raise InputError("the model has no linear output layer to read h(x) from")
    return linears[-1]


PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def resolve_device(device: str | None) -> str:
    """``device``, or CUDA when there is a GPU and the CPU otherwise."""
    import torch

    if device is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"device {device!r} asked for, but torch sees no GPU here; use device=None or 'cpu'")
    return str(device)


def autocast_dtype(precision: str, device: str) -> Any:
    """The dtype a fit and its forward passes autocast to, or None for float32.

    ``"auto"``: bfloat16 on a GPU that supports it, float16 (with a loss scaler) on an older
    GPU, float32 on the CPU (CPU half precision is slower on most CPUs, and not always exact
    enough to rank items by entropy). The weights stay float32 in every case.
    """
    import torch

    if precision not in PRECISIONS:
        raise InputError(f"unknown precision {precision!r}; choose from {', '.join(PRECISIONS)}")
    cuda = device.startswith("cuda")
    if precision == "auto":
        if not cuda:
            return None
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if precision == "fp16" and not cuda:
        raise InputError("precision 'fp16' needs a GPU; on the CPU use 'fp32' or 'bf16'")
    return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


class TransformerClassifier:
    """The paper's learner: a sequence-classification transformer fine-tuned from a local path.

    Recipe (the paper's appendix A.2 and its code's configuration; METHOD.md): AdamW (lr 4e-5,
    weight decay 0.01, constant schedule), batch 32, inputs truncated to 512 tokens, 10 epochs
    but at least 100 optimisation steps, keeping the epoch with the best training F1 on the
    minority classes; early stop once that F1 has not improved by ``min_delta`` (1e-5) for
    ``patience`` (10) epochs after the step minimum. The minority classes are the loop's (it
    passes them to :meth:`fit`); ``minority`` here is the fallback for a direct call, and without
    either every class but the most frequent one. h(x) is the input of the model's last linear
    layer (BERT's pooled output).

    Beyond the paper:

    - ``warm_start=True``: given the last model fitted (``init``, the session's trainer passes
      it), continue from its weights for ``warm_epochs`` epochs, with no step minimum, instead of
      re-initialising; still keeping the best epoch. Much faster; see RESULTS.md for what it
      costs in minority F1.
    - ``device``: None for CUDA when present, else the CPU. ``precision``: ``"auto"`` trains and
      predicts in bfloat16 autocast on a GPU that has it (float16 with a loss scaler on older
      ones) and float32 on the CPU; ``"fp32"``, ``"bf16"``, ``"fp16"`` force one.

    A loss that becomes NaN or infinite, or a device out of memory, raises
    :class:`TrainingError`: the session keeps the last good model and shows the error.
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
        patience: int = 10,
        min_delta: float = 1e-5,
        max_length: int = 512,
        device: str | None = None,
        precision: str = "auto",
        warm_start: bool = False,
        warm_epochs: int = 3,
    ) -> None:
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
        self.precision = precision
        self.warm_start = warm_start
        self.warm_epochs = warm_epochs

    def _resolve(self) -> str:
        if self.model_path is not None:
            return str(self.model_path)
        from .encoders import default_model_path

        return str(default_model_path())

    def fit(
        self,
        X: Sequence[str],
        y: np.ndarray,
        n_classes: int,
        seed: int = 0,
        *,
        minority: Sequence[int] | None = None,
        init: Any = None,
        checkpoint: Callable[[], None] | None = None,
    ) -> _FittedTransformer:
        """Fine-tune on (X, y) and return the fitted model.

        ``minority``: the class indices whose training F1 picks the best epoch. ``init``: the
        last model fitted, warm started from when ``warm_start`` is on (and it has the same
        classes and weights' source). ``checkpoint()``: called before every optimisation step
        and every chunk of the per-epoch evaluation; it may block, or raise to cancel.
        """
        import torch

        from .metrics import minority_f1

        y = _check_training_set(X, y, n_classes)
        device = resolve_device(self.device)
        dtype = autocast_dtype(self.precision, device)
        path = self._resolve()
        check = checkpoint or (lambda: None)
        chosen = list(minority) if minority is not None else list(self.minority)
        chosen = chosen or [c for c in range(n_classes) if c != np.bincount(y).argmax()]
        init = getattr(init, "model", None) if isinstance(init, Remembering) else init
        warm = (
            self.warm_start
            and isinstance(init, _FittedTransformer)
            and init.n_classes == n_classes
            and init.source == path
        )
        started = time.perf_counter()
        torch.manual_seed(seed)
        try:
            if warm:
                model, tokenizer = init.copy_model(device), init.tokenizer
                epochs, min_steps = self.warm_epochs, 0
            else:
                from transformers import AutoModelForSequenceClassification, AutoTokenizer

                tokenizer = AutoTokenizer.from_pretrained(path)
                model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=n_classes).to(device)
                steps_per_epoch = math.ceil(len(y) / self.batch_size)
                epochs = max(self.max_epochs, math.ceil(self.min_steps / steps_per_epoch))
                min_steps = self.min_steps
            fitted = _FittedTransformer(
                model, tokenizer, n_classes, device, self.max_length, self.batch_size, dtype=dtype, source=path
            )
            best = self._train(fitted, X, y, chosen, epochs, min_steps, seed, check, minority_f1)
        except (torch.cuda.OutOfMemoryError, MemoryError) as err:
            if device.startswith("cuda"):
                torch.cuda.empty_cache()
            raise TrainingError(
                f"the {device} ran out of memory while fine-tuning on {len(y)} labels: lower batch_size or "
                f"max_length, or use another device ({err})"
            ) from err
        fitted.train_minority_f1, fitted.epochs = best
        fitted.warm = warm
        fitted.seconds = time.perf_counter() - started
        return fitted

    def _train(
        self,
        fitted: _FittedTransformer,
        X: Sequence[str],
        y: np.ndarray,
        minority: list[int],
        epochs: int,
        min_steps: int,
        seed: int,
        check: Callable[[], None],
        minority_f1: Callable[..., float],
    ) -> tuple[float, int]:
        import torch

        model, device, dtype = fitted.model, fitted.device, fitted.dtype
        optimiser = torch.optim.AdamW(model.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None
        generator = torch.Generator().manual_seed(seed)
        best_f1, best_state, stale, steps, epoch = -1.0, None, 0, 0, 0
        for epoch in range(1, epochs + 1):
            model.train()
            order = torch.randperm(len(y), generator=generator).numpy()
            for start in range(0, len(y), self.batch_size):
                check()
                batch = order[start : start + self.batch_size]
                with fitted.autocast():
                    out = model(**fitted.encode([X[i] for i in batch]), labels=torch.as_tensor(y[batch], device=device))
                if not torch.isfinite(out.loss.detach()).item():
                    raise TrainingError(
                        f"the training loss became {out.loss.item()} at step {steps + 1} (epoch {epoch}): "
                        "lower the learning rate, or use precision='fp32'"
                    )
                optimiser.zero_grad()
                if scaler is None:
                    out.loss.backward()
                    optimiser.step()
                else:
                    scaler.scale(out.loss).backward()
                    scaler.step(optimiser)
                    scaler.update()
                steps += 1
            predicted = []
            for start in range(0, len(y), 256):  # the training set, in chunks the checkpoint can split
                check()
                predicted.append(fitted.predict_proba(X[start : start + 256]).argmax(axis=1))
            f1 = minority_f1(y, np.concatenate(predicted), minority, fitted.n_classes)
            if f1 > best_f1 + self.min_delta:
                best_f1, stale = f1, 0
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                stale += 1
                if steps >= min_steps and stale >= self.patience:
                    break
        if best_state is not None:
            model.load_state_dict(best_state)
        model.eval()
        return best_f1, epoch


class _FittedTransformer:
    """A fine-tuned model: forward passes in batches of texts sorted by length (less padding),
    one at a time (a lock: the session scores from two threads)."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        n_classes: int,
        device: str,
        max_length: int,
        batch_size: int,
        *,
        dtype: Any = None,
        source: str = "",
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.n_classes = n_classes
        self.device = device
        self.max_length = max_length
        self.batch_size = batch_size
        self.dtype = dtype
        self.source = source
        self.train_minority_f1 = float("nan")
        self.epochs = 0
        self.warm = False
        self.seconds = 0.0
        self._head = _last_linear(model)
        self._lock = threading.Lock()

    def autocast(self) -> Any:
        import torch

        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type="cuda", dtype=self.dtype)

    def encode(self, texts: Any) -> dict[str, Any]:
        enc = self.tokenizer(
            list(texts), padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        )
        return {k: v.to(self.device) for k, v in enc.items()}

    def copy_model(self, device: str) -> Any:
        """A copy of the weights to go on training (taken under the lock: no hook is in it)."""
        with self._lock:
            return copy.deepcopy(self.model).to(device)

    def _forward(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        import torch

        X = list(X)
        order = np.argsort([len(x) for x in X], kind="stable")
        captured, probs = [], []
        with self._lock:
            hook = self._head.register_forward_hook(lambda mod, inp, out: captured.append(inp[0].detach()))
            self.model.eval()
            try:
                with torch.inference_mode(), self.autocast():
                    for start in range(0, len(X), self.batch_size):
                        batch = [X[i] for i in order[start : start + self.batch_size]]
                        logits = self.model(**self.encode(batch)).logits
                        probs.append(torch.softmax(logits.float(), dim=-1).cpu().numpy())
            finally:
                hook.remove()
        if not probs:
            return np.empty((0, self.n_classes)), np.empty((0, self._head.in_features), dtype=np.float32)
        back = np.argsort(order, kind="stable")
        h = torch.cat(captured).float().cpu().numpy()
        return np.concatenate(probs)[back], h[back]

    def predict_proba(self, X: Any) -> np.ndarray:
        return self._forward(X)[0].astype(np.float64)

    def predict_proba_and_represent(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        probs, h = self._forward(X)
        return probs.astype(np.float64), h

    def represent(self, X: Any) -> np.ndarray:
        return self._forward(X)[1]


def make_learner(name: str | object = "logreg", **kwargs: Any) -> Any:
    """A learner by name (``"logreg"`` or ``"transformer"``) or an object passed through."""
    if not isinstance(name, str):
        return name
    if name == "logreg":
        return EmbeddingClassifier(**kwargs)
    if name == "transformer":
        return TransformerClassifier(**kwargs)
    raise InputError(f"unknown learner {name!r}; use 'logreg', 'transformer' or a learner object")
