"""The status line's words: how long a batch took (its parts never more than its total) and
which model proposed it, and what the fine-tuning in the background is doing."""

from __future__ import annotations

import time


def _model(labelled: int | None, now: int | None = None, stand_in: bool = False) -> str:
    if labelled is None:
        return "no model yet: drawn at random from the subpool"
    name = "embedding model (until the first fine-tuned one)" if stand_in else "model"
    if now is None or now == labelled:
        return f"{name} trained on {labelled} labels"
    return f"{name} trained on {labelled} labels ({now - labelled} newer labels not in it yet)"


def selecting_status(started: float, trained) -> str:
    """While the batch is chosen: how long the training took, or which model chooses."""
    if trained.waited and not trained.stand_in:
        return f"selecting… (trained in {time.perf_counter() - started:.2f} s)"
    labelled = trained.labelled if trained.model is not None else None
    return f"selecting… ({_model(labelled, stand_in=trained.stand_in)})"


def batch_seconds(proposed: dict, wall: float | None, digits: int = 3) -> dict:
    """``{train, select, total}`` of a batch, rounded, the parts never more than the total.

    ``proposed``: the proposal's own seconds (train, subpool, strategy); ``wall``: the seconds
    the session took to put it on screen now, None for a batch proposed before (a resumed one:
    its own seconds, not those of a session that only read it back)."""
    train, select = proposed["train"], proposed["subpool"] + proposed["strategy"]
    total = round(max(train + select, proposed.get("total", 0.0) if wall is None else wall), digits)
    train = min(round(train, digits), total)
    return {"train": train, "select": min(round(select, digits), round(total - train, digits)), "total": total}


def ready_status(
    cards: int,
    seconds: dict,
    model_labelled: int | None,
    labelled: int,
    resumed: bool = False,
    stand_in: bool = False,
) -> str:
    """A batch is ready: how long it took (``resumed``: when it was proposed, before) and which
    model proposed it ("model trained on 350 labels"), with how many labels that model has not
    seen yet under label-ahead. Shown with 2 decimals, the parts within the total."""
    shown = batch_seconds({**seconds, "subpool": seconds["select"], "strategy": 0.0}, seconds["total"], digits=2)
    took = "as proposed before, in" if resumed else "in"
    return (
        f"ready: {cards} texts {took} {shown['total']:.2f} s "
        f"(training {shown['train']:.2f} s, selecting {shown['select']:.2f} s); "
        f"{_model(model_labelled, labelled, stand_in)}"
    )


def training_note(fitting: int | None, latest, shown: int | None) -> str:
    """Label-ahead's part of the status line: the fit running in the background, or the newer
    model that will propose the next batch."""
    if fitting is not None:
        return f"fine-tuning on {fitting} labels in the background"
    if latest is not None and latest.labelled != shown:
        return f"the model trained on {latest.labelled} labels will propose the next batch"
    return ""
