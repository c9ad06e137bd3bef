"""The paper's learner: a Hugging Face transformer fine-tuned on the labelled set.

:class:`TransformerClassifier` loads a local model (no hub), fine-tunes it with the paper's
recipe (re-initialised every fit, best epoch on minority F1, early stopping) on the GPU when
there is one (bf16/fp16 where safe, :func:`autocast_dtype`), or warm starts from the last model.
Its fitted model scores texts and reads h(x) from the last linear layer. It follows the learner
contract of :mod:`.learners`; torch is imported only when one is made.
"""

from __future__ import annotations

import contextlib
import copy
import math
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ...errors import InputError
from .learner import Remembering, TrainingError, check_training_set


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
        from ..vectors.encoder_kinds import default_model_path

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

        y = check_training_set(X, y, n_classes)
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
