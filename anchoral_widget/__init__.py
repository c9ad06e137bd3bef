"""anchoral-widget: AnchorAL active learning for large, imbalanced text pools, in Jupyter."""

from importlib import import_module

from .errors import AnchorALError, EmptyPoolError, InputError
from .loop import ActiveLoop
# Eager, unlike _LAZY: the function shares its name with its module, and once anything imports
# anchoral_widget.compare the package attribute would be the module. Both are light (no plotly).
from .compare import compare
from .toy import load_toy

# The widget and the replay pull in anywidget and plotly: loaded on first use, so that the
# headless engine (and the `anchoral` command) starts without them.
_LAZY = {"Labeller": ".widget", "compare": ".compare", "load_toy": ".toy"}

__all__ = ["ActiveLoop", "AnchorALError", "EmptyPoolError", "InputError", *_LAZY]
__version__ = "0.1.0"


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
