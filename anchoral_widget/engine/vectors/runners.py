"""Runners: a built encoder model loaded and turning batches of texts into rows.

:func:`load_runner` picks the runner for an encoder kind (:mod:`.encoders`): sentence-transformers
on torch, onnxruntime with the tokenizer and the model's pooling, or model2vec-style static token
embeddings. Each loads its libraries only when made, so a session that never uses torch never
imports it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ...errors import InputError
from .cachefiles import read_json
from .encoder_kinds import STATIC_MAX_TOKENS, EncoderSpec, offline


class TorchRunner:
    """A sentence-transformers model on torch. On CUDA the weights are cast to float16."""

    def __init__(self, path: Path, device: str | None):
        offline()
        import torch
        from sentence_transformers import SentenceTransformer

        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model = SentenceTransformer(str(path), device=self.device, local_files_only=True)
        if self.device.startswith("cuda"):
            self.model.half()
        get = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        dim = get()
        if dim is None:
            raise InputError(f"{path}: the model does not say the size of its embeddings")
        self.dim = int(dim)

    def encode(self, texts: list[str]) -> np.ndarray:
        vecs = self.model.encode(
            texts,
            batch_size=len(texts),
            show_progress_bar=False,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.asarray(vecs, dtype=np.float32)


class OnnxRunner:
    """A model exported by :func:`build_model` (``onnx`` / ``onnx-int8``), run by onnxruntime
    with the ``tokenizers`` library: no torch at encode time."""

    def __init__(self, folder: Path, device: str | None, threads: int | None = None):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        config = read_json(folder / "config.json")
        if config is None:
            raise InputError(f"{folder} is not an exported encoder: config.json is missing")
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(int(config["max_length"]))
        self.tokenizer.enable_padding(pad_id=int(config["pad_id"]), pad_token=str(config["pad_token"]))
        providers = ["CPUExecutionProvider"]
        wants_cuda = device is None or str(device).startswith("cuda")
        if wants_cuda and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        options = ort.SessionOptions()
        options.log_severity_level = 3
        if threads is not None:  # a background encode keeps to its share of the cores
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            # idle workers sleep instead of spinning: the cores they leave are the loop's
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(folder / "model.onnx"), options, providers=providers)
        self.device = "cuda" if self.session.get_providers()[0] == "CUDAExecutionProvider" else "cpu"
        self.dim = int(config["dim"])

    def encode(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        (vecs,) = self.session.run(["embedding"], {"input_ids": ids, "attention_mask": mask})
        return np.asarray(vecs, dtype=np.float32)


class StaticRunner:
    """Static token embeddings in model2vec's format: a text is the mean of its tokens' vectors.

    Read with ``safetensors`` and ``tokenizers`` alone and averaged with numpy, all texts of a
    call at once. As in model2vec, unknown tokens are dropped and a text is cut at 512 tokens;
    unlike it, a text made only of unknown tokens (emoji, say) gets the unknown token's vector
    rather than zeros, so that every row has a direction.
    """

    device = "cpu"

    def __init__(self, folder: Path):
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        tensors = load_file(str(folder / "model.safetensors"))
        table = np.asarray(tensors["embeddings"], dtype=np.float32)
        if "mapping" in tensors:  # vocabulary quantisation: token -> row of a smaller table
            table = table[np.asarray(tensors["mapping"], dtype=np.int64)]
        if "weights" in tensors:
            table = table * np.asarray(tensors["weights"], dtype=np.float32)[:, None]
        self.table = np.ascontiguousarray(table)
        self.dim = int(self.table.shape[1])
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(STATIC_MAX_TOKENS)
        model = json.loads(self.tokenizer.to_str()).get("model", {})
        unk = model.get("unk_token")
        self.unk_id = None if unk is None else self.tokenizer.token_to_id(unk)

    def encode(self, texts: list[str]) -> np.ndarray:
        # scipy ships no type information (that is the separate scipy-stubs package)
        from scipy.sparse import csr_matrix  # type: ignore[import-untyped]

        encodings = self.tokenizer.encode_batch_fast(texts, add_special_tokens=False)
        ids = [e.ids for e in encodings]
        lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
        flat = np.fromiter((i for x in ids for i in x), dtype=np.int64, count=int(lengths.sum()))
        weight = np.ones(len(flat), dtype=np.float32)
        if self.unk_id is not None:
            weight[flat == self.unk_id] = 0.0
        counts = np.bincount(np.repeat(np.arange(len(ids)), lengths), weights=weight, minlength=len(ids))
        # texts x vocabulary, one entry per token: the sum of a row's vectors is one sparse product
        indptr = np.r_[0, np.cumsum(lengths)]
        tokens = csr_matrix((weight, flat, indptr), shape=(len(ids), len(self.table)))
        out = np.asarray(tokens @ self.table, dtype=np.float32)
        empty = counts == 0
        if empty.any() and self.unk_id is not None:
            out[empty] = self.table[self.unk_id]
            counts[empty] = 1.0
        out /= np.maximum(counts, 1.0)[:, None]
        return out


def load_runner(
    spec: EncoderSpec, folder: Path, device: str | None, threads: int | None = None
) -> TorchRunner | OnnxRunner | StaticRunner:
    """The object that encodes for ``spec``, from ``folder`` (its built model, or its source).
    ``threads`` caps onnxruntime's threads (None: every core); torch's count is the process's,
    and static embeddings run on the calling thread."""
    if spec.kind == "torch":
        return TorchRunner(folder, device)
    if spec.kind in ("onnx", "onnx-int8"):
        return OnnxRunner(folder, device, threads)
    if spec.kind == "static":
        return StaticRunner(folder)
    raise InputError(f"unknown encoder kind {spec.kind!r}")
