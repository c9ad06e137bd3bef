"""anchoral-widget: AnchorAL active learning for large, imbalanced text pools, in Jupyter."""

from importlib import import_module

from .data.toy import load_toy
from .engine.loop.active import ActiveLoop
from .errors import AnchorALError, EmptyPoolError, InputError
from .replay.compare import compare  # eager: the function shares its module's name, which would shadow it

__all__ = ["ActiveLoop", "AnchorALError", "EmptyPoolError", "InputError", "Labeller", "compare", "load_toy"]
__version__ = "0.1.0"


def __getattr__(name):
    # The widget pulls in anywidget: loaded on first use, so that the headless engine (and the
    # `anchoral` command) starts without it.
    if name == "Labeller":
        return import_module(".widget", __name__).Labeller
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
