"""What the start-up's progress says: done, total, rate and time left a few times a second,
durations read like a clock, and the encoder's reports of its cache and each chunk."""

import pytest
from encode_child import DIM, HashModel, fake_encoder
from startups import TEXTS, N

from anchoral_widget.session.progress import Progress, duration


def test_progress_says_done_total_rate_and_time_left_a_few_times_a_second():
    now = [100.0]
    shown = []
    progress = Progress(shown.append, clock=lambda: now[0])
    progress("starting", None, None)
    progress("encoding", None, 10_000)
    assert shown[-1]["text"] == "loading the encoder, then encoding 10,000 texts…"
    progress("encoding", 2_000, 10_000)  # found in the cache: not counted in the rate
    assert shown[-1]["text"] == "loading the encoder, then encoding 10,000 texts (2,000 found in the cache)…"
    now[0] += 2.0
    progress("encoding", 4_000, 10_000)
    last = shown[-1]
    assert (last["done"], last["total"], last["rate"], last["left"]) == (4_000, 10_000, 1_000.0, 6.0)
    assert last["text"] == "encoding 4,000 / 10,000 texts · 1,000 texts/s · 6 s left"
    count = len(shown)
    now[0] += 0.1
    progress("encoding", 4_100, 10_000)  # too soon after the last: not shown
    assert len(shown) == count
    now[0] += 6.0
    progress("encoding", 10_000, 10_000)  # the last of a stage always is
    assert shown[-1]["text"] == "10,000 texts encoded"
    progress("pool", None, None)
    assert shown[-1]["text"] == "hashing the pool…" and shown[-1]["seconds"] == {"starting": 0.0, "encoding": 8.1}
    progress("ready", None, None)
    assert shown[-1]["stage"] == "ready" and shown[-1]["text"] == "" and shown[-1]["seconds"]["pool"] == 0.0


@pytest.mark.parametrize("seconds, text", [(0.4, "0 s"), (42, "42 s"), (185, "3 min 5 s"), (3720, "1 h 2 min")])
def test_durations_read_like_a_clock(seconds, text):
    assert duration(seconds) == text


def test_the_encoder_reports_what_it_found_in_the_cache_then_each_chunk(tmp_path):
    encoder = fake_encoder(tmp_path / "model", tmp_path / "cache", HashModel())
    told = []
    encoder.encode(TEXTS, on_progress=lambda done, total: told.append((done, total)))
    assert told[0] == (0, N) and told[-1] == (N, N) and len(told) == 1 + (N + 7) // 8
    told.clear()
    out = encoder.encode(TEXTS, on_progress=lambda done, total: told.append((done, total)))
    assert out.shape == (N, DIM) and told == []  # a finished encode is read whole from the cache
