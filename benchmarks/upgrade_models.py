"""The encoders the upgrade section compares: the static model distilled from MiniLM without
PCA (built once), and how many texts per second an encoder turns into vectors.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

STATIC_FULL = "static-384"  # model2vec distilled from MiniLM without PCA: 384 dimensions


def distil_full(root: Path) -> tuple[Path, float | None]:
    """The static model without PCA (SIF weights as `fast`), built once into ``root``;
    (folder, seconds to build, None when found built)."""
    from anchoral_widget.engine.vectors.encoder_kinds import SIF_COEFFICIENT, default_model_path

    folder = root / "models" / STATIC_FULL
    info = folder / "anchoral-build.json"
    if (folder / "config.json").is_file():
        return folder, json.loads(info.read_text())["seconds"] if info.is_file() else None
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from model2vec.distill import distill

    t0 = time.perf_counter()
    model = distill(model_name=str(default_model_path()), pca_dims=None, sif_coefficient=SIF_COEFFICIENT, device="cpu")
    seconds = time.perf_counter() - t0
    model.save_pretrained(str(folder))
    info.write_text(json.dumps({"seconds": seconds}))
    return folder, seconds


def rate(model, texts: list[str], threads: int | None) -> float:
    """Texts per second, model loaded first, no cache."""
    from anchoral_widget.engine.vectors.encoder import Encoder

    enc = Encoder(model, device="cpu", cache_dir=False, progress=False, threads=threads)
    enc.encode(texts[:32])
    t0 = time.perf_counter()
    enc.encode(texts)
    return len(texts) / (time.perf_counter() - t0)
