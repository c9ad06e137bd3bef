"""The next batch of a labelling session: the model it is proposed with, the loop's proposal, and
the cards the screen shows.

:class:`Proposer` is a part of :class:`~.labeller.LabelSession`, made once the loop exists (its
learner decides label-ahead). It owns the :class:`~.trainer.Trainer`: strict mode waits for the
fit of every label (the paper's), label-ahead proposes with the latest model that finished and
fits the new labels in the background. :meth:`Proposer.propose` runs on the session's worker,
holding the loop's lock.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from ..engine.loop.active import ActiveLoop
from ..engine.loop.proposing import neighbours_ahead
from ..errors import EmptyPoolError
from .cards import batch_cards
from .guarded import GuardedLoop
from .lookahead import Lookahead
from .mapchannel import MapChannel
from .screen import Screen
from .status import batch_seconds, ready_status, selecting_status, training_note
from .trainer import FitRequest, Trainer, label_ahead, score_ahead


class Proposer:
    """Proposes a session's batches and shows them.

    Parameters
    ----------
    loop : ActiveLoop
        The session's loop (its learner is what the trainer fits).
    guarded : GuardedLoop
        The loop behind its lock: a proposal holds it.
    screen : Screen
        Where the batch, its phase and status, and the trainer's note are shown.
    channel : MapChannel
        The map, updated with each proposal.
    training : {"auto", "ahead", "strict"}
        See :func:`~.trainer.label_ahead`.
    on_error : callable
        ``on_error(exc)`` for a background fit that failed (label-ahead; strict mode raises it
        where it waits).
    """

    def __init__(
        self,
        loop: ActiveLoop,
        guarded: GuardedLoop,
        screen: Screen,
        channel: MapChannel,
        *,
        training: str,
        on_error: Callable[[BaseException], None],
    ):
        self.ahead = label_ahead(training, loop.learner)
        self._guarded, self._screen, self._channel = guarded, screen, channel
        self._shown_model: int | None = None  # labels of the model that proposed the batch on screen
        self._subpools: list[np.ndarray] = []  # the last proposals' subpools, newest last: scored ahead
        scorer = lambda model, checkpoint, ready: score_ahead(model, loop, self._subpools, checkpoint, ready)
        self.trainer = Trainer(
            loop.learner,
            on_error=lambda exc: on_error(exc) if self.ahead else None,
            on_change=self.fit_changed,
            prepare=scorer if self.ahead else None,  # strict proposes at once, scoring what it needs
        )
        self.lookahead = Lookahead()  # the next subpool's neighbour lists, fetched while the person reads
        self.on_proposed: Callable[[ActiveLoop], None] = lambda loop: None  # after each proposal, the loop held

    def propose(self, budget: int | None) -> None:
        """Propose the next batch and show it (a worker job); nothing while a batch is on screen,
        at a cold start that still lacks a class, or once ``budget`` labels are in."""
        if self._screen.has_batch():
            return
        with self._guarded.held() as loop:
            assert loop is not None  # a proposer is made with the loop
            if self._screen.waiting(self._guarded.facts, budget):  # cold start, or budget reached
                return
            start = time.perf_counter()
            pending = len(loop.unanswered()) > 0
            if not (self.ahead or pending):
                self._screen.announce("training", "training…")
            trained = self.trainer.for_proposal(loop, fresh=not (self.ahead or pending))
            if trained is None:
                return  # closed meanwhile
            on_stage = lambda _stage: self._screen.announce("selecting", selecting_status(start, trained))
            try:
                with self.trainer.paused():  # on a CPU, a fit in the background would halve the speed
                    proposal = loop.propose(on_stage=on_stage, trained=trained)
            except EmptyPoolError:
                self._screen.announce("done", "the pool is exhausted: every text is labelled or skipped")
                return
            if self.ahead:
                self.trainer.request(FitRequest.of(loop))  # the new labels, in the background
            self.lookahead.submit(neighbours_ahead(loop, proposal.batch_ids))
            self.on_proposed(loop)
            self._subpools = [*self._subpools[-4:], proposal.subpool_ids]  # replaced whole: read unlocked
            self._shown_model = proposal.model_labelled
            cards = batch_cards(proposal, loop, self._guarded.class_names)
            wall = time.perf_counter() - start
            labelled = len(loop.labelled_ids)
        seconds = batch_seconds(proposal.seconds, None if pending else wall)  # pending: resumed, proposed before
        status = ready_status(len(cards), seconds, proposal.model_labelled, labelled, pending, proposal.model_stand_in)
        self._screen.show(cards, proposal.iteration, seconds, status)
        self.fit_changed()
        self._channel.update(proposal)

    def close(self, wait: bool = False) -> None:
        """Cancel the fit in the background and drop the work ahead."""
        self.trainer.close(wait=30 if wait else None)
        self.lookahead.close()

    def fit_changed(self) -> None:
        """Label-ahead: say in the status line what the fit in the background is doing."""
        if self.ahead:
            self._screen.set_note(training_note(self.trainer.fitting, self.trainer.ready, self._shown_model))
