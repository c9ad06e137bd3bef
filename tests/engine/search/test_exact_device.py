"""Where the pool's rows are searched: ``device="cpu"`` never asks for a GPU, and a bad device
is refused by name."""

import numpy as np
import pytest

from anchoral_widget.engine.search.exact import ExactIndex
from anchoral_widget.errors import InputError


def test_cpu_keeps_the_rows_on_the_cpu():
    X = np.eye(4, dtype=np.float32)
    assert ExactIndex(X, device="cpu").on_device is None


def test_an_unknown_device_is_refused_by_name():
    with pytest.raises(InputError, match="device must be 'auto' or 'cpu'"):
        ExactIndex(np.eye(4, dtype=np.float32), device="tpu")
