"""anchoral-widget: AnchorAL active learning for large, imbalanced text pools, in Jupyter."""

from .errors import AnchorALError, EmptyPoolError, InputError
from .widget import Labeller

__all__ = ["AnchorALError", "EmptyPoolError", "InputError"]
__all__ += ["Labeller"]
__version__ = "0.1.0"
