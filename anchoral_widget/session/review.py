"""The review of a labelling job: which labels to look at again, and how many rare items are left.

:class:`Review` is a part of :class:`~.labeller.LabelSession` (``w.review``):

- :meth:`Review.label_check`: every label, those that models fitted without them doubt most
  first. The labelled rows are copied under the loop's lock and checked outside it, so labelling
  goes on while the folds are fitted; the check always fits its own models on the pool's vectors
  (seconds), whatever learner proposes the batches: five fine-tunings of a transformer would take
  minutes to hours.
- :meth:`Review.check_sample` draws a check sample (see :mod:`~anchoral_widget.engine.loop.stopping`)
  and :meth:`Review.answer_sample` stores its answers as labels (``source="sample"``): they count
  like any others, and the design is kept in the session's notes so a restarted kernel still
  estimates from it.
- :meth:`Review.correct`: any past label changed, as an event of its own.
- :meth:`Review.progress_report`: the estimate of the rare items left and each stopping rule,
  in words. The models' stability is observed after each proposal, on a fixed set of 1,000 items,
  for learners on the embeddings only (a learner that reads text would take minutes per look).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..engine.learners.label_check import check_labels
from ..engine.loop.active import ActiveLoop
from ..engine.loop.agreement import Agreement
from ..engine.loop.check_samples import CheckSample, draw_check_sample, extend_check_sample
from ..engine.loop.stopping import (
    PRECISION,
    RECALL_TARGET,
    Rule,
    Stability,
    batch_advantage,
    estimate_left,
    rules,
)
from ..engine.pool import learner_reads_texts
from ..errors import InputError
from .guarded import GuardedLoop
from .mapchannel import MapChannel
from .notes import SessionNotes
from .reviewlist import review_page, weak_note
from .screen import Screen

SAMPLE = "sample"  # the event source of a check sample's answers
REVIEW = "review"  # the event source of a correction
SAMPLES = "check_samples"  # the notes' key for the samples' designs
CHECK_CARDS = 50  # check-sample texts the stopping panel shows at a time


class Review:
    """Label checks, check samples and the stopping report of one session.

    Parameters
    ----------
    guarded : GuardedLoop
        The session's loop behind its lock.
    screen, channel : Screen, MapChannel
        Told once a sample's answers are stored: the counts, the map.
    propose : callable
        Queues the session's next proposal: answers that give a cold start its missing class start it.
    """

    def __init__(self, guarded: GuardedLoop, screen: Screen, channel: MapChannel, propose: Callable[[], object]):
        self._guarded, self._screen, self._channel, self._propose = guarded, screen, channel, propose
        self._lock = threading.Lock()  # the samples and the stability: read by the kernel, grown by the worker
        self._samples: list[CheckSample] = []
        self._stability: Stability | None = None
        self._notes: SessionNotes | None = None
        self._doubted: tuple[int, dict[int, str], str] | None = None  # (the labels' hash, the doubts, a caveat)

    def attach(self, loop: ActiveLoop, notes: SessionNotes | None) -> None:
        """Start on ``loop``; samples kept in ``notes`` by an earlier session come back."""
        self._notes = notes
        kept = [] if notes is None else notes.get(SAMPLES) or []
        with self._lock:
            self._samples = [CheckSample.from_payload(p) for p in kept]
            reads_text = learner_reads_texts(loop.learner)
            self._stability = None if reads_text else Stability.for_pool(len(loop.embeddings), seed=loop.seed)

    def observe(self, loop: ActiveLoop) -> None:
        """After a proposal (on the worker, holding the loop): its model's predictions, and the
        estimate of the rare items left for the curves."""
        with self._lock:
            if self._stability is not None and loop.model_ is not None:
                self._stability.observe(loop)
        self._note_estimate(loop)

    def _note_estimate(self, loop: ActiveLoop) -> None:
        """The estimate from the check samples answered so far, at the batch on screen (holding the loop)."""
        with self._lock:
            samples = list(self._samples)
        if samples:
            estimate = estimate_left(loop, samples)
            if estimate.left == estimate.left:
                noted = {"found": estimate.found, "left": estimate.left, "low": estimate.low, "high": estimate.high}
                self._channel.note_rare_estimate(len(loop.history), noted)

    # ---- from the kernel --------------------------------------------------------------

    def label_check(self, seed: int = 0) -> pd.DataFrame:
        """Every label (whose vector is in), the least probable first: id, text, label, suggested,
        probability (out of fold, of the label given), flagged (the models prefer another class).
        ``attrs``: "separation", per class the ROC AUC with which the models tell its labels from the
        rest; "weak", the classes under :data:`~..engine.learners.label_check.WEAK_SEPARATION`."""
        with self._guarded.held() as loop:
            loop = _ready(loop)
            ids, given = loop.labelled_in_id_order()  # less items whose vectors are still to come
            X = np.array(loop.embeddings[ids], dtype=np.float32)
            texts, names = loop.texts, list(loop.classes)
            said = None if texts is None else [texts[i] for i in ids.tolist()]
        check = check_labels(X, given, len(names), texts=said, seed=seed)
        order = check.order
        frame = pd.DataFrame(
            {
                "id": ids[order],
                "text": [None] * len(order) if said is None else [said[i] for i in order.tolist()],
                "label": [names[c] for c in given[order]],
                "suggested": [names[c] for c in check.suggested[order]],
                "probability": check.quality[order],
                "flagged": check.flagged[order],
            }
        )
        frame.attrs["separation"] = {names[c]: float(auc) for c, auc in enumerate(check.separation.tolist())}
        frame.attrs["weak"] = [names[c] for c in check.weak_classes()]
        return frame

    def check_sample(self, size: int = 100) -> pd.DataFrame:
        """Draw about ``size`` unlabelled texts to estimate the rare items left: id, text, chance
        (of being drawn). Answer them with :meth:`answer_sample`; the batch on screen stays. While
        nothing but the last sample's answers came since it was drawn, it is drawn again for
        ``size`` more (one larger sample: the model's help and a steadier estimate)."""
        with self._guarded.held() as loop:
            loop = _ready(loop)
            with self._lock:
                last, seed = (self._samples[-1] if self._samples else None), len(self._samples)
            grown = None if last is None else extend_check_sample(loop, last, int(size), seed=seed)
            sample = draw_check_sample(loop, int(size), seed=seed) if grown is None else grown
            texts = loop.texts
        with self._lock:
            if grown is None:
                self._samples.append(sample)
            else:
                self._samples[-1] = sample
            kept = [s.payload() for s in self._samples]
        if self._notes is not None:
            self._notes.put(SAMPLES, kept)
        new = slice(0 if grown is None or last is None else len(last.ids), None)
        return pd.DataFrame(
            {
                "id": sample.ids[new],
                "text": [None if texts is None else texts[i] for i in sample.ids[new].tolist()],
                "chance": sample.chances[new],
            }
        )

    def answer_sample(self, answers: dict[int, str]) -> int:
        """Store ``{id: class}`` answers to check-sample texts as one event; all or nothing.
        Returns how many were stored. An InputError names an id that was not drawn, is labelled
        or skipped already, or is a card of the batch on screen (answer it there)."""
        with self._lock:
            drawn = set(np.concatenate([s.ids for s in self._samples]).tolist()) if self._samples else set()
        labelled = {}
        classes = self._guarded.class_names
        for item, name in answers.items():
            if int(item) not in drawn:
                raise InputError(f"text {item} is not in a check sample: draw one with check_sample()")
            if str(name) not in classes:
                raise InputError(f"unknown class {name!r}; the classes are {', '.join(classes)}")
            labelled[int(item)] = self._guarded.class_of(str(name))
        if not labelled:
            return 0
        with self._guarded.held() as loop:
            loop = _ready(loop)
            ids = np.fromiter(labelled, dtype=np.int64)
            done = ids[loop.excluded[ids]]
            if len(done):
                raise InputError(f"text {done[0]} is labelled or skipped already: nothing was stored")
            on_screen = [] if loop.pending is None else np.intersect1d(ids, loop.pending.batch_ids).tolist()
            if on_screen:
                raise InputError(f"text {on_screen[0]} is a card of the batch on screen: answer it there")
            self._guarded.store(labelled, source=SAMPLE)
            self._note_estimate(loop)
        self._screen.publish("progress", "minority")
        self._channel.update()
        if self._screen.phase == "cold":
            self._propose()
        return len(labelled)

    def correct(self, ids: Sequence[int], label: str) -> int:
        """Give past labels the class ``label``, as one event (the store keeps the answers it
        replaced; correct again to go back). Returns how many changed; an InputError names an id
        that is not labelled or an unknown class, and changes nothing."""
        if str(label) not in self._guarded.class_names:
            raise InputError(f"unknown class {label!r}; the classes are {', '.join(self._guarded.class_names)}")
        _ready(self._guarded.loop)
        changed = self._guarded.correct([int(i) for i in ids], str(label), source=REVIEW)
        self._screen.publish("progress")
        self._channel.update()
        return changed

    def remove(self, ids: Sequence[int]) -> None:
        """Take past labels away: the items are unlabelled again and may be proposed (one event;
        the store keeps the answers removed). An InputError names an id that is not labelled."""
        self._changed(lambda loop: loop.remove([int(i) for i in ids], source=REVIEW))

    def resolve(self, ids: Sequence[int], label: str) -> None:
        """Decide the class of items people answered differently (see :meth:`agreement`): an
        event of its own, logged even when the class stays."""
        self._changed(lambda loop: loop.resolve([int(i) for i in ids], [self._class(label)] * len(ids)))

    def agreement(self) -> Agreement:
        """How far the people labelling through a shared store agree, on the items two of them
        answered (``overlap=0.1`` asks for such items), and the conflicts left to resolve. A
        fresh look at the store first: the others' latest answers count."""
        with self._guarded.held() as loop:
            loop = _ready(loop)
            loop.sync()
            return loop.agreement()

    def send_page(self, filters: dict[str, Any], said: str = "") -> None:
        """Send the review view the page of past labels that ``filters`` ask for (a ``review_page``
        message; see :mod:`.reviewlist`)."""
        doubts = self._doubts() if filters.get("doubted") else None
        if doubts is not None and self._doubted is not None and self._doubted[2]:
            said = f"{said} {self._doubted[2]}".strip()
        with self._guarded.held() as loop:
            loop = _ready(loop)
            loop.sync()  # the others' latest answers, in a shared store
            page = review_page(loop, filters, said, doubts)
        self._channel.notify(page)

    def _doubts(self) -> dict[int, str]:
        """The labels :meth:`label_check` flags, least probable first, with its evidence in words;
        worked out again only once the labels changed (a check fits models: seconds on thousands)."""
        with self._guarded.held() as loop:
            key = hash(frozenset(_ready(loop).labels.items()))  # any label added, changed or taken back
        if self._doubted is None or self._doubted[0] != key:
            check = self.label_check()
            flagged = check[check.flagged]
            evidence = "the label check suggests {}: {:.0%} for {}"
            doubts = {
                int(i): evidence.format(suggested, probability, label)
                for i, suggested, probability, label in zip(
                    flagged.id.tolist(), flagged.suggested, flagged.probability, flagged.label
                )
            }
            self._doubted = (key, doubts, weak_note(check.attrs["separation"], check.attrs["weak"]))
        return self._doubted[1]

    def from_view(self, kind: str, fields: dict[str, Any]) -> None:
        """A change asked for in the review view (``review_correct``, ``review_remove``), then its page again."""
        filters = {k: v for k, v in fields.items() if k not in ("ids", "to")}
        ids = [int(i) for i in fields["ids"]]
        if kind == "review_correct":
            changed = self.correct(ids, fields["to"])
            said = f"{changed} {'label' if changed == 1 else 'labels'} changed to {fields['to']}"
        elif kind == "review_resolve":
            self.resolve(ids, fields["to"])
            said = f"decided: {fields['to']} ({len(ids)} {'item' if len(ids) == 1 else 'items'})"
        else:
            self.remove(ids)
            said = (
                f"{len(ids)} {'label' if len(ids) == 1 else 'labels'} removed: unlabelled, they may be proposed again"
            )
        self.send_page(filters, said)

    def send_stopping(self, said: str = "") -> None:
        """Send the stopping panel a ``stopping`` message: :meth:`progress_report` in words and the
        check-sample texts not answered yet (those on the batch's cards are answered there)."""
        report = self.progress_report()
        with self._guarded.held() as loop:
            loop = _ready(loop)
            with self._lock:
                drawn = [int(i) for s in self._samples for i in s.ids.tolist()]
            on_screen = set() if loop.pending is None else set(loop.pending.batch_ids.tolist())
            open_ids = [i for i in dict.fromkeys(drawn) if not loop.excluded[i] and i not in on_screen]
            texts = loop.texts
        cards = [{"id": i, "text": "" if texts is None else str(texts[i])} for i in open_ids[:CHECK_CARDS]]
        lines = report["text"].split("\n")
        self._channel.notify(
            {"kind": "stopping", "lines": lines, "open": cards, "unanswered": len(open_ids), "said": said}
        )

    def from_stopping(self, kind: str, fields: dict[str, Any]) -> None:
        """A check sample drawn (``check_sample``) or answered (``check_answer``) in the stopping
        panel, then the panel again."""
        if kind == "check_sample":
            drawn = len(self.check_sample(fields["size"]))
            said = f"{drawn} texts drawn at random, not by the model: answer them below"
        else:
            stored = self.answer_sample({int(i): fields["label"] for i in fields["ids"]})
            said = f"{stored} check {'answer' if stored == 1 else 'answers'} stored as {fields['label']}"
        self.send_stopping(said)

    def _class(self, label: str) -> object:
        if str(label) not in self._guarded.class_names:
            raise InputError(f"unknown class {label!r}; the classes are {', '.join(self._guarded.class_names)}")
        return self._guarded.class_of(str(label))

    def _changed(self, change: Callable[[ActiveLoop], object]) -> None:
        with self._guarded.held() as loop:
            change(_ready(loop))
        self._guarded.refresh()
        self._screen.publish("progress", "minority")
        self._channel.update()

    def progress_report(self) -> dict[str, Any]:
        """The rare items found and the estimate of those left, each stopping rule's verdict, and
        all of it in words (``text``)."""
        with self._guarded.held() as loop:
            loop = _ready(loop)
            with self._lock:
                estimate = estimate_left(loop, list(self._samples))
                verdicts = [*rules(loop, estimate, self._stability), batch_advantage(loop, estimate)]
        lines, more = [f"{estimate.found:,} rare items found."], estimate.answers_for()
        if estimate.left == estimate.left:
            lines.append(
                f"About {estimate.left:,.0f} left unlabelled (95% interval {estimate.low:,.0f}-{estimate.high:,.0f}), "
                f"from {estimate.answered} check-sample answers."
            )
            # measured against the interval's middle where the estimate sits below it: a floor
            about = "About" if estimate.left >= (estimate.low + estimate.high) / 2 else "At least"
            lines.append(
                f"{about} {more:,} more check-sample answers would narrow it to within {PRECISION:.0%} either way."
                if more
                else f"The interval is within {PRECISION:.0%} of the estimate either way."
            )
        lines.insert(1, stop_verdict(verdicts))
        for r in verdicts:
            verdict = "holds" if r.holds else "not yet" if r.holds is False else "cannot tell yet"
            lines.append(f"{r.name.replace('_', ' ')}: {verdict} ({r.says})")
        return {
            "found": estimate.found,
            "left": estimate.left,
            "low": estimate.low,
            "high": estimate.high,
            "recall": estimate.recall,
            "answered": estimate.answered,
            "needed": estimate.needed,
            "answers_for_precision": more,
            "rules": {r.name: {"holds": r.holds, "value": r.value, "says": r.says} for r in verdicts},
            "text": "\n".join(lines),
        }


_BLIND_RULES = {"since_last_rare": "the labels since the last rare one", "stability": "the models' stability"}


def stop_verdict(verdicts: list[Rule]) -> str:
    """Can I stop? In one line, from the estimated recall alone: the only rule that counts the rare
    items the model has never seen. The rules that hold without it are named as not enough (on
    icd10-eye at 0.1% the models' stability said "stop" in all 10 runs, at a true recall of 0.75)."""
    recall = next((r for r in verdicts if r.name == "estimated_recall"), None)
    if recall is not None and recall.holds:
        return f"Can I stop? Yes: the estimated recall is at least {RECALL_TARGET:.0%}."
    if recall is None or recall.holds is None:
        words = "Can I stop? Cannot tell yet: answer check cards for an estimate of the rare items left"
    else:
        words = f"Can I stop? Not yet: the estimated recall may be under {RECALL_TARGET:.0%}"
    blind = [_BLIND_RULES[r.name] for r in verdicts if r.holds and r.name in _BLIND_RULES]
    if blind:
        verb = "says" if len(blind) == 1 else "say"
        words += f" ({' and '.join(blind)} {verb} stop, but cannot see the rare items the model has missed)"
    return words + "."


def _ready(loop: ActiveLoop | None) -> ActiveLoop:
    if loop is None:
        raise InputError("the pool is still being prepared: nothing to review yet")
    return loop
