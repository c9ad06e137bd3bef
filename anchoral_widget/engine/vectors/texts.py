"""A pool's texts as the encoders take them: checked (:func:`check_texts`), hashed
(:func:`fingerprint_texts`, the key of every cache built from them) and looked over for what an
encoder handles but a person should hear of (:func:`warn_odd_pools`)."""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Sequence
from typing import Any

from ...errors import InputError

# texts longer than this are surely cut by every encoder (256 to 512 tokens): said in a warning
LONG_TEXT_CHARS = 10_000


def check_texts(texts: Any) -> list[str]:
    """The texts as a list, or an InputError naming non-strings and empty texts by row."""
    if isinstance(texts, (str, bytes)):
        raise InputError("texts must be a sequence of strings, not a single string")
    try:
        items: list[Any] = list(texts)
    except TypeError as exc:
        raise InputError(f"texts must be a sequence of strings, got {type(texts).__name__}") from exc
    if not items:
        raise InputError("texts is empty: nothing to encode")
    not_str = [i for i, t in enumerate(items) if not isinstance(t, str)]
    if not_str:
        kinds = sorted({type(items[i]).__name__ for i in not_str[:5]})
        raise InputError(f"{len(not_str)} texts are not strings ({', '.join(kinds)}), first rows: {not_str[:5]}")
    blank = [i for i, t in enumerate(items) if not t.strip()]
    if blank:
        raise InputError(f"{len(blank)} texts are empty or whitespace only, first rows: {blank[:5]}")
    return items


def fingerprint_texts(texts: Sequence[str]) -> str:
    """sha256 hex digest of the texts, sensitive to their order and to item boundaries."""
    h = hashlib.sha256()
    for text in texts:
        if not isinstance(text, str):
            raise InputError(f"texts must be strings, got {type(text).__name__}")
        data = text.encode("utf-8", "surrogatepass")
        # the length prefix keeps ["ab", "c"] and ["a", "bc"] apart
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


def warn_odd_pools(texts: list[str], name: str) -> None:
    """Warn about what the encoder handles but the user should know: very long texts (cut) and
    a pool of one text repeated (every vector the same)."""
    long = [i for i, t in enumerate(texts) if len(t) > LONG_TEXT_CHARS]
    if long:
        longest = max(len(texts[i]) for i in long)
        warnings.warn(
            f"{len(long)} texts are longer than {LONG_TEXT_CHARS:,} characters (longest {longest:,}), first rows "
            f"{long[:5]}: encoder {name!r} reads only the first 256-512 tokens of a text (a page or two), "
            "the rest does not count",
            stacklevel=3,
        )
    if len(texts) > 1 and len(set(texts)) == 1:
        warnings.warn(
            f"all {len(texts)} texts are the same text: their vectors are identical, so neighbours, anchors "
            "and the map cannot tell them apart",
            stacklevel=3,
        )
