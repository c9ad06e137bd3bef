"""The review view's pages: every past label, newest first, filtered by class, by who gave it, by
iteration, by whether the last model disagrees and by whether the label check doubts it (then
the least probable first, with its evidence), with everyone's answers to it. The view keeps its
filters and sends them with each command; a page is worked out afresh each time."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine.learners.learner import BoundModel
from ..engine.loop.active import ActiveLoop
from ..engine.pool import learner_reads_texts

PAGE = 50
TEXT_CHARS = 300


def review_page(
    loop: ActiveLoop, filters: dict[str, Any], said: str = "", doubts: dict[int, str] | None = None
) -> dict[str, Any]:
    """The ``review_page`` message for ``filters`` (see ``protocol._REVIEW_FILTERS``); ``doubts``:
    the labels the label check flags, least probable first, each with its evidence in words."""
    doubts = doubts or {}
    labels = loop.labels
    ids = np.fromiter(reversed(list(labels)), dtype=np.int64, count=len(labels))  # newest first
    first_by = {i: loop.answers(i)[0][0] for i in ids.tolist()}
    iteration = {i: loop.label_time(i)[0] for i in ids.tolist()}
    predicted, confidence = _predictions(loop, ids)
    agreement = loop.agreement()
    conflicts = set(agreement.conflicts)
    keep = np.ones(len(ids), dtype=bool)
    if "label" in filters:
        keep &= np.array([labels[i] == filters["label"] for i in ids.tolist()], dtype=bool)
    if "annotator" in filters:
        keep &= np.array([first_by[i] == filters["annotator"] for i in ids.tolist()], dtype=bool)
    if "iteration" in filters:
        keep &= np.array([iteration[i] == filters["iteration"] for i in ids.tolist()], dtype=bool)
    if filters.get("disagree"):
        keep &= np.array([predicted.get(i, labels[i]) != labels[i] for i in ids.tolist()], dtype=bool)
    if filters.get("conflicts"):
        keep &= np.isin(ids, list(conflicts))
    shown = ids[keep]
    if filters.get("doubted"):
        kept = set(shown.tolist())
        shown = np.array([i for i in doubts if i in kept], dtype=np.int64)
    offset = max(0, min(int(filters.get("offset", 0)), max(len(shown) - 1, 0)))
    texts = loop.pool.texts
    rows = []
    for item in shown[offset : offset + PAGE].tolist():
        answers = loop.answers(item)
        text = "" if texts is None else str(texts[item])
        rows.append(
            {
                "id": item,
                "text": text if len(text) <= TEXT_CHARS else text[: TEXT_CHARS - 1] + "…",
                "label": labels[item],
                "annotator": answers[0][0],
                "iteration": iteration[item],
                "predicted": predicted.get(item),
                "confidence": confidence.get(item),
                "others": [[who, label] for who, label in answers[1:]],
                "conflict": item in conflicts,
                "doubt": doubts.get(item),
            }
        )
    return {
        "kind": "review_page",
        "rows": rows,
        "total": len(shown),
        "offset": offset,
        "annotators": sorted(set(first_by.values())),
        "iterations": sorted(set(iteration.values())),
        "model": loop.model_ is not None and not learner_reads_texts(loop.learner),
        "text": said,
        "agreement": str(agreement) if agreement.items or len(set(first_by.values())) > 1 else "",
    }


def weak_note(separation: dict[str, float], weak: list[str]) -> str:
    """What the review view says of classes whose labels the label check's models barely tell from
    the rest. From the labels alone two causes look the same: the models cannot see the class
    (sentiment on MiniLM's vectors), or many of its labels are wrong (then the doubts are right)."""
    if not weak:
        return ""
    if len(separation) == 2:  # two classes: one boundary, the same AUC for both
        said = " from ".join(weak) + f" (AUC {separation[weak[0]]:.2f})"
    else:
        said = ", ".join(f"{name} (AUC {separation[name]:.2f})" for name in weak) + " from the rest"
    return (
        f"The check barely tells {said}: either its models cannot see what sets these labels apart, "
        "and its doubts are guesses, or many of these labels are wrong. Look at a few doubts to tell which."
    )


def _predictions(loop: ActiveLoop, ids: np.ndarray) -> tuple[dict[int, Any], dict[int, float]]:
    """The last model's class and confidence for each of ``ids``; none when there is no model or
    it reads text (scoring every labelled text again is a fine-tuned transformer's whole pass)."""
    model = loop.model_
    if model is None or learner_reads_texts(loop.learner) or not len(ids):
        return {}, {}
    proba = BoundModel(model, loop.embeddings).proba(ids)
    top = proba.argmax(axis=1)
    names = [loop.classes[c] for c in top.tolist()]
    return dict(zip(ids.tolist(), names, strict=True)), {
        i: round(float(p), 4) for i, p in zip(ids.tolist(), proba.max(axis=1).tolist(), strict=True)
    }
