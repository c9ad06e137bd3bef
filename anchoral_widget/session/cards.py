"""What a card shows of a batch item: its text, the model's guess and which model made it
(how many labels it was trained on), the AnchorAL score, and the anchor that retrieved it
("why am I seeing this"), or that it was drawn from outside the anchors' neighbourhoods."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

ANCHOR_TEXT_CHARS = 400


def batch_cards(proposal, loop, class_names: Sequence[str]) -> list[dict]:
    """JSON-ready cards for the proposal's items that are not yet labelled or skipped (their
    texts read from the loop's pool)."""
    texts = loop.pool.texts
    open_here = set(loop.unanswered().tolist()) if proposal is loop.pending else None
    taken = set(loop.labels) | set(loop.skipped_ids.tolist())
    ids = np.array(
        [i for i in proposal.batch_ids.tolist() if (i in open_here if open_here is not None else i not in taken)],
        dtype=np.int64,
    )
    proba = np.asarray(proposal.batch_proba)[np.flatnonzero(np.isin(proposal.batch_ids, ids))]
    scores = {}
    if proposal.subpool_scores is not None:
        scores = dict(zip(proposal.subpool_ids.tolist(), np.asarray(proposal.subpool_scores).tolist()))
    retriever = {}
    if proposal.batch_retrieved_by is not None:
        retriever = dict(zip(proposal.batch_ids.tolist(), proposal.batch_retrieved_by.tolist()))
    second = set(np.asarray(proposal.second_ids).tolist())
    anchor_class = dict(zip(np.asarray(proposal.anchor_ids).tolist(), np.asarray(proposal.anchor_classes).tolist()))
    cards = []
    for row, item in enumerate(ids.tolist()):
        p = proba[row]
        top = int(np.argmax(p))
        anchor = None
        by = retriever.get(item)  # -1: drawn from beyond the anchors' neighbourhoods, or a second answer
        outside = by == -1 and item not in second
        if by is not None and by >= 0:
            a = int(by)
            anchor = {
                "id": a,
                "text": clip(str(texts[a]), ANCHOR_TEXT_CHARS),
                "label": class_names[int(anchor_class[a])],
                "similarity": round(cosine(loop.embeddings[item], loop.embeddings[a]), 4),
            }
        cards.append(
            {
                "id": item,
                "text": str(texts[item]),
                "predicted": class_names[top],
                "confidence": round(float(p[top]), 4),
                "proba": [round(float(x), 4) for x in p],
                "score": None if item not in scores or outside else round(float(scores[item]), 4),
                "anchor": anchor,
                "outside": outside,
                "model_labelled": proposal.model_labelled,  # None: no model yet, drawn at random
                "model_stand_in": proposal.model_stand_in,  # the embedding model, until the first fit
            }
        )
    return cards


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12))


def clip(text: str, limit: int) -> str:
    """At most ``limit`` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
