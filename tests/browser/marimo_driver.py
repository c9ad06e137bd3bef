"""A marimo server for the browser tests: ``marimo run`` (the app view) or ``marimo edit`` on a
copy of a notebook, on 127.0.0.1 and a free port, with the embeddings cache shared across runs.

The notebook runs in the folder it is copied to, so what it writes (the label store) lands there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from .servers import ROOT, free_port, running


class MarimoServer:
    def __init__(self, mode: str, root: Path, port: int):
        self.mode, self.root, self.port = mode, root, port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"


@contextmanager
def marimo_server(mode: str, notebook: Path, base: Path, log_path: Path, startup: float = 90):
    """``marimo <mode>`` ("run" or "edit") on a copy of ``notebook`` in ``base``; stopped on exit.

    Raises ``RuntimeError`` when it does not answer within ``startup`` seconds."""
    base.mkdir(parents=True, exist_ok=True)
    copy = base / notebook.name
    shutil.copy(notebook, copy)
    port = free_port()
    env = {
        **os.environ,
        "ANCHORAL_CACHE": os.environ.get("ANCHORAL_CACHE", str(ROOT / ".anchoral-cache")),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        "MARIMO_SKIP_UPDATE_CHECK": "1",
    }
    args = [sys.executable, "-m", "marimo", "-q", mode, str(copy), "--headless", "--host", "127.0.0.1"]
    args += [f"--port={port}", "--no-token"]
    with open(log_path, "w") as log:
        process = subprocess.Popen(args, cwd=base, env=env, stdout=log, stderr=subprocess.STDOUT)
        server = MarimoServer(mode, base, port)
        with running(process, server.url + "health", f"marimo {mode}", log_path, startup):
            yield server
