"""What the loop records: a proposal, a label or skip call, a finished iteration."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np


@dataclass
class Proposal:
    """One iteration's proposal: the batch to label and how it was chosen."""

    iteration: int
    batch_ids: np.ndarray
    subpool_ids: np.ndarray
    subpool_scores: np.ndarray | None
    anchor_ids: np.ndarray
    anchor_classes: np.ndarray
    batch_proba: np.ndarray  # (len(batch), C): the model's probabilities for each batch item
    seconds: dict[str, float]
    labelled_count: int
    minority_in_labelled: float
    test: dict[str, Any] | None = None
    events_seen: int = 0  # how many label/skip calls it was proposed after
    batch_retrieved_by: np.ndarray | None = None  # per batch item: the anchor that retrieved it
    model_labelled: int | None = None  # labels the scoring model was fitted on; None: no model (random)
    model_stand_in: bool = False  # scored by the embedding classifier standing in for the learner
    # items of the batch someone else labelled, shown again for a second answer (a team's overlap)
    second_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def unanswered(self, excluded: np.ndarray) -> np.ndarray:
        return np.asarray(self.batch_ids[~excluded[self.batch_ids]])

    def without(self, ids: np.ndarray) -> Proposal:
        """The proposal less the batch items in ``ids`` (held in someone else's batch)."""
        keep = ~np.isin(self.batch_ids, ids)
        if keep.all():
            return self
        by = self.batch_retrieved_by
        return replace(
            self,
            batch_ids=self.batch_ids[keep],
            batch_proba=self.batch_proba[keep],
            batch_retrieved_by=None if by is None else by[keep],
        )

    def payload(self, keep_subpool: bool = True) -> dict[str, Any]:
        """JSON-ready fields, for the store."""
        return {
            "iteration": self.iteration,
            "batch_ids": self.batch_ids.tolist(),
            "subpool_ids": self.subpool_ids.tolist() if keep_subpool else [],
            "subpool_scores": None if self.subpool_scores is None else self.subpool_scores.tolist(),
            "anchor_ids": self.anchor_ids.tolist(),
            "anchor_classes": self.anchor_classes.tolist(),
            "batch_proba": self.batch_proba.tolist(),
            "seconds": self.seconds,
            "labelled_count": self.labelled_count,
            "minority_in_labelled": self.minority_in_labelled,
            "test": self.test,
            "events_seen": self.events_seen,
            "batch_retrieved_by": None if self.batch_retrieved_by is None else self.batch_retrieved_by.tolist(),
            "model_labelled": self.model_labelled,
            "model_stand_in": self.model_stand_in,
            **({"second_ids": self.second_ids.tolist()} if len(self.second_ids) else {}),
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Proposal:
        fields = dict(payload)
        fields.setdefault("second_ids", [])
        for key in ("batch_ids", "subpool_ids", "anchor_ids", "anchor_classes", "second_ids"):
            fields[key] = np.asarray(fields[key], dtype=np.int64)
        scores = fields["subpool_scores"]
        fields["subpool_scores"] = None if scores is None else np.asarray(scores, dtype=np.float32)
        fields["batch_proba"] = np.asarray(fields["batch_proba"], dtype=np.float64)
        by = fields.get("batch_retrieved_by")
        fields["batch_retrieved_by"] = None if by is None else np.asarray(by, dtype=np.int64)
        return cls(**fields)


@dataclass
class Event:
    """One call of ``label``, ``skip``, ``correct`` or ``resolve``: what undo reverts."""

    kind: str
    ids: np.ndarray
    classes: np.ndarray | None
    iteration: int
    time: float
    completed: Proposal | None = None  # the proposal this call finished, if it did
    unskipped: list[int] = field(default_factory=list)  # skipped items this call labelled
    source: str | None = None  # where the call came from when not a batch or seed: "map" (a selection)
    previous: np.ndarray | None = None  # a correction: the classes the items had before it
    annotator: str = ""  # who gave it ("" in stores older than annotators)
    second: list[int] = field(default_factory=list)  # items labelled by someone else first: second opinions
    taken: dict[int, Any] = field(default_factory=dict)  # a removal: what each item's label was, for its undo

    @classmethod
    def from_payload(
        cls, kind: str, ids: np.ndarray, classes: np.ndarray | None, payload: dict[str, Any], annotator: str = ""
    ) -> Event:
        """The event a store logged, with its ids and classes checked by the loop."""
        return cls(
            kind, ids, classes, payload["iteration"], payload["time"], source=payload.get("source"), annotator=annotator
        )

    def payload(self, class_names: list[Any]) -> dict[str, Any]:
        """The event as the store logs it, with class names."""
        payload: dict[str, Any] = {
            "ids": self.ids,
            "labels": None if self.classes is None else [class_names[c] for c in self.classes.tolist()],
            "iteration": self.iteration,
            "time": self.time,
        }
        if self.source is not None:  # absent from batch and seed rows, as in every older store
            payload["source"] = self.source
        if self.previous is not None:  # kept in the log: a correction never erases the answer it replaced
            payload["previous"] = [class_names[c] for c in self.previous.tolist()]
        return payload


@dataclass
class IterationRecord:
    """One finished iteration, as it appears in the history and the trace."""

    iteration: int
    labelled_count: int
    anchor_ids: list[int]
    anchor_classes: list[Any]
    subpool_ids: list[int]
    subpool_scores: list[float]
    batch_ids: list[int]
    batch_labels: list[Any]
    skipped_ids: list[int]
    minority_in_labelled: float
    minority_in_subpool: float | None
    seconds: dict[str, float]
    test: dict[str, Any] | None = None
    model_labelled: int | None = None  # labels of the model that proposed the batch (label-ahead: maybe older)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(
        cls, proposal: Proposal, labels: dict[int, int], skipped: set[int], class_names: list[Any]
    ) -> IterationRecord:
        """The record of a finished ``proposal`` (its subpool as kept), given the labels
        (id -> class index) and skips that answered it."""
        batch = proposal.batch_ids.tolist()
        answered = [i for i in batch if i in labels]
        return cls(
            iteration=proposal.iteration,
            labelled_count=proposal.labelled_count,
            anchor_ids=proposal.anchor_ids.tolist(),
            anchor_classes=[class_names[c] for c in proposal.anchor_classes.tolist()],
            subpool_ids=proposal.subpool_ids.tolist(),
            subpool_scores=[] if proposal.subpool_scores is None else proposal.subpool_scores.tolist(),
            batch_ids=answered,
            batch_labels=[class_names[labels[i]] for i in answered],
            skipped_ids=[i for i in batch if i in skipped],
            minority_in_labelled=proposal.minority_in_labelled,
            minority_in_subpool=None,
            seconds=dict(proposal.seconds),
            test=proposal.test,
            model_labelled=proposal.model_labelled,
        )


def kept_subpool(proposal: Proposal, pool_filter: str, subpool_size: int) -> Proposal:
    """The proposal as the history and the store keep it: the full pool as a subpool is not
    worth a copy per iteration, and a subpool that grows with the labelled set (SEALS: K
    neighbours of every label) is kept as its ``subpool_size`` best-scored items and the
    batch, or the history would grow with the square of the labels; AnchorAL's items from
    outside the anchors' neighbourhoods (listed after them) are kept where the batch took
    them. The strategy saw all of it."""
    if pool_filter == "none":
        return replace(proposal, subpool_ids=proposal.subpool_ids[:0], subpool_scores=None)
    keep = subpool_size
    if len(proposal.subpool_ids) <= keep:
        return proposal
    # Filters list a scored subpool best first (filters.top_by_score).
    kept = np.arange(len(proposal.subpool_ids)) < keep
    kept |= np.isin(proposal.subpool_ids, proposal.batch_ids)
    scores = None if proposal.subpool_scores is None else proposal.subpool_scores[kept]
    return replace(proposal, subpool_ids=proposal.subpool_ids[kept], subpool_scores=scores)
