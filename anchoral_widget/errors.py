"""Errors that name the problem, so that a user sees what to fix and nothing is lost."""


class AnchorALError(Exception):
    """Base class of every error this package raises on purpose."""


class InputError(AnchorALError, ValueError):
    """Bad input: wrong shape, unknown class, id out of range, NaN embeddings, ..."""


class EmptyPoolError(AnchorALError):
    """Nothing is left to select from: every item is labelled or skipped."""


class StoreUnavailableError(AnchorALError):
    """The label store cannot be reached (a database server down or unreachable). Nothing was
    written: the call can be made again once it is back."""
