"""The package as a user gets it: a wheel built from this checkout (front end included, so no
node is needed to install it), installed with its dependencies into a fresh venv that sees
nothing of the repository, then a headless loop and the widget's first batches run there from a
folder of their own, with an empty encoder cache: the fast encoder is built on first use.

Slow (a real install, about a minute from pip's cache): marked ``slow``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from anchoral_widget.data.datasets import load_dataset

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent

pytestmark = pytest.mark.slow


def run(args, **kwargs):
    done = subprocess.run(args, capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{args[:4]} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    if not (ROOT / "anchoral_widget" / "static" / "widget.js").is_file():
        pytest.fail("the front end is not built: npm --prefix js ci && npm --prefix js run build")
    base = tmp_path_factory.mktemp("wheel")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    run([*pip, "wheel", "--no-deps", "-w", str(base / "dist"), str(ROOT)])
    (wheel,) = (base / "dist").glob("anchoral_widget-*.whl")
    run([sys.executable, "-m", "venv", str(base / "venv")])
    python = base / "venv" / "bin" / "python"
    # torch pinned as bin/setup pins it: an unpinned one pulls the CUDA build
    run([str(python), "-m", "pip", "--disable-pip-version-check", "-q", "install", str(wheel), "torch==2.13.0"])
    run([str(python), "-m", "pip", "check"])  # every dependency the wheel declares, at a version it accepts
    return python, wheel


def test_the_wheel_holds_the_front_end_and_no_repository_files(venv):
    _, wheel = venv
    names = zipfile.ZipFile(wheel).namelist()
    assert "anchoral_widget/static/widget.js" in names and "anchoral_widget/static/widget.css" in names
    assert not [n for n in names if n.startswith(("tests/", "js/", "benchmarks/", "notebooks/"))]


def test_a_fresh_venv_labels_a_pool_with_the_installed_wheel(venv, tmp_path):
    python, _ = venv
    data = load_dataset("icd10-eye", seed=0, max_size=600)  # real titles, given to the child as a file
    pool = tmp_path / "pool.json"
    pool.write_text(json.dumps([list(data.texts), [str(x) for x in data.labels]]))
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["ANCHORAL_CACHE"] = str(tmp_path / "cache")  # empty: the encoders are built on first use
    out = run([str(python), str(HERE / "wheel_child.py"), str(pool), str(work)], cwd=work, env=env, timeout=1200)
    found = json.loads(next(line for line in out.splitlines() if line.startswith("FOUND "))[6:])
    assert str(python.parents[1]) in found["module"] and str(ROOT) not in found["module"]
    assert found["headless_labels"] == 50 + 100  # the toy's initial set, then a budget of 100
    assert "building" in found["stages"] and found["stages"].index("building") < found["stages"].index("encoding")
    assert found["first"] == 25 and found["iteration"] == 1 and found["error"] == ""
    assert found["stored"] == 2 + 25 and found["store"] == str(work / "labels.db") and found["esm"] > 100_000
