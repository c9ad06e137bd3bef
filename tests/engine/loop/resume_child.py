"""Reopens label stores in a fresh process and carries each run on: prints one JSON line of the
proposals it makes. Used by test_resume.py."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/, for conftest

from conftest import clustered_pool
from test_resume import POOL, continue_run, make_loop

from anchoral_widget.engine.search.index import build_index

X, y, _ = clustered_pool(**POOL)
indexes = {kind: build_index(X, kind) for kind in ("exact", "hnsw")}
out = {}
for key, (pool_filter, index_kind, path, done, total) in json.loads(sys.argv[1]).items():
    loop = make_loop(X, pool_filter, indexes[index_kind], store=path)
    assert loop.iteration == done, (key, loop.iteration, done)
    out[key] = continue_run(loop, y, total)
print(json.dumps(out))
