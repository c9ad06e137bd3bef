"""A script that starts a session on the real `fast` encoder with the real `onnx` upgrade, waits
until the upgrade is encoding, and exits without closing anything: it must exit cleanly."""

import sys
import time

from anchoral_widget.engine.vectors.encoder import Encoder
from anchoral_widget.session.startup import start_session

cache = sys.argv[1]
texts = [f"patient note {i}: pain in the {['left', 'right'][i % 2]} eye, day {i % 97}" for i in range(3000)]
session = start_session(
    texts,
    ["other", "eye"],
    ["eye"],
    encoder=Encoder("fast", cache_dir=cache, progress=False),
    upgrade=Encoder("onnx", cache_dir=cache, progress=False, threads=1, batch_size=16),
    seed_labels={0: "eye", 1: "other", 2: "other"},
    map=False,
)
session.start()
assert session.wait(120)
end = time.monotonic() + 120
while (session.snapshot()["startup"].get("done") or 0) < 50:
    assert time.monotonic() < end, "the upgrade never started encoding"
    time.sleep(0.05)
print("ENCODING", flush=True)
