"""The first-batch pools: 10k to 1M distinct short texts built from the bundled corpora (eye at
1%), a repeated text varied with a prefix and a suffix drawn for it, and the held-out set.
"""

from __future__ import annotations

import json
import os
import sys
import zlib
from pathlib import Path

MINORITY_SHARE = 0.01
PREFIXES = ["", "Note: ", "Re: ", "Update: ", "Seen today: ", "Repost: ", "Again: ", "Reported: ", "Quote: ", "FYI "]
SUFFIXES = [
    "",
    " (follow-up)",
    " [2]",
    " - see above",
    " (repeat)",
    " again",
    " #update",
    " (copy)",
    " (cont.)",
    " - noted",
]


def base_corpus() -> dict:
    """Distinct texts per class from the bundled corpora, and the held-out set."""
    from anchoral_widget.data import load_dataset
    from anchoral_widget.data.sources import health_tweets_source, tweets_source

    data = load_dataset("icd10-eye", seed=0)
    eye = [t for t, c in zip(data.texts, data.labels) if c == "eye"]
    held_out = set(data.test_texts)
    other, seen = [], set(eye) | held_out
    for text in (
        [t for t, c in zip(data.texts, data.labels) if c != "eye"]
        + list(tweets_source()[0])
        + list(health_tweets_source()[0])
    ):
        text = " ".join(str(text).split())
        if text and text not in seen:
            seen.add(text)
            other.append(text)
    return {"eye": eye, "other": other, "test_texts": list(data.test_texts), "test_labels": list(data.test_labels)}


def variant(text: str, k: int) -> str:
    """The k-th copy of ``text``: itself for k = 0, else a prefix and a suffix drawn for it."""
    if k == 0:
        return text
    import numpy as np

    combos = np.random.default_rng(zlib.crc32(text.encode())).permutation(len(PREFIXES) * len(SUFFIXES) - 1) + 1
    p, s = divmod(int(combos[(k - 1) % len(combos)]), len(SUFFIXES))
    return f"{PREFIXES[p]}{text}{SUFFIXES[s]}" + (f" ({k // len(combos)})" if k >= len(combos) else "")


def build_pool(n: int, base: dict, seed: int = 0) -> tuple[list[str], list[str]]:
    """``n`` texts (eye at 1%), each class cycling through its texts with variations, shuffled."""
    import numpy as np

    counts = {"eye": round(n * MINORITY_SHARE)}
    counts["other"] = n - counts["eye"]
    texts, labels = [], []
    for cls, count in counts.items():
        source = base[cls]
        texts += [variant(source[i % len(source)], i // len(source)) for i in range(count)]
        labels += [cls] * count
    order = np.random.default_rng(seed).permutation(n)
    return [texts[i] for i in order], [labels[i] for i in order]


def cached_pool(n: int, root: Path) -> Path:
    """The pool of size ``n`` and the test set, as JSON under ``root`` (built once)."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"pool-{n}.json"
    if not path.exists():
        base = _base(root)
        texts, labels = build_pool(n, base)
        assert len(set(texts)) == n, "every item of a pool is a text of its own"
        tmp = path.with_name(path.name + f".tmp{os.getpid()}")
        tmp.write_text(
            json.dumps(
                {"texts": texts, "labels": labels, "test_texts": base["test_texts"], "test_labels": base["test_labels"]}
            )
        )
        os.replace(tmp, path)
    return path


_BASE: dict = {}


def _base(root: Path) -> dict:
    if not _BASE:
        _BASE.update(base_corpus())
        print(
            f"base corpus: {len(_BASE['eye']):,} eye, {len(_BASE['other']):,} other, test {len(_BASE['test_texts']):,}",
            file=sys.stderr,
        )
    return _BASE
