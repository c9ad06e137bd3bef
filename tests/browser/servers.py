"""A Jupyter server for the browser tests: JupyterLab 4 or Notebook 7, started the same way.

127.0.0.1, a free port, a random token, settings and workspaces of its own (no news or update
toasts), the embeddings cache shared across runs, and the notebooks' small sizes.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# JupyterLab's own settings for the test server (Notebook 7 reads them too): no news or
# update toasts over the notebook.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A running server: ``url(path)`` gives an address with the token, ``root`` the folder it
    serves."""

    def __init__(self, app: str, root: Path, port: int, token: str):
        self.app, self.root, self.port, self.token = app, root, port, token
        self.home = "lab" if app == "lab" else "tree"

    def url(self, path: str | None = None, query: str = "") -> str:
        path = self.home if path is None else path
        return f"http://127.0.0.1:{self.port}/{path}?{query + '&' if query else ''}token={self.token}"


@contextmanager
def jupyter_server(app: str, base: Path, log_path: Path, app_args: list[str], startup: float = 90):
    """Start ``jupyter <app>`` ("lab" or "notebook") serving ``base/root``; stop it on exit.

    Raises ``RuntimeError`` when it does not answer within ``startup`` seconds."""
    root, settings, workspaces = base / "root", base / "settings", base / "workspaces"
    for folder in (root, settings, workspaces):
        folder.mkdir(parents=True, exist_ok=True)
    for name, value in LAB_SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(value))
    port, token = free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(workspaces),
        # embeddings are cached across runs (git-ignored), so only the first run encodes
        "ANCHORAL_CACHE": os.environ.get("ANCHORAL_CACHE", str(ROOT / ".anchoral-cache")),
        "CI": os.environ.get("CI", "true"),  # the notebooks' small sizes
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    }
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter",
                app,
                "--no-browser",
                f"--port={port}",
                "--ServerApp.ip=127.0.0.1",
                f"--IdentityProvider.token={token}",
                f"--ServerApp.root_dir={root}",
                "--ServerApp.port_retries=0",
                *app_args,
                *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
            ],
            cwd=root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        server = Server(app, root, port, token)
        with running(process, server.url("api/status"), f"jupyter {app}", log_path, startup):
            yield server


@contextmanager
def running(process: subprocess.Popen, health_url: str, what: str, log_path: Path, startup: float):
    """Wait until ``health_url`` answers 200 (``RuntimeError`` naming ``what`` and its log when the
    process ends first or ``startup`` seconds pass); stop the process on exit."""
    try:
        deadline = time.monotonic() + startup
        while True:
            try:
                with urllib.request.urlopen(health_url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start; see {log_path}")
            time.sleep(0.5)
        yield
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
