"""A Jupyter Notebook 7 server for the browser tests, and opening a notebook in it.

Notebook 7 is built from JupyterLab's own packages: with ``expose_app_in_browser`` it has a
``window.jupyterapp`` whose shell's current widget is the open notebook's panel, and the same
``notebook:*`` commands, so :mod:`.lab_driver`'s ``run_all``, ``run_code`` and ``probe`` work as
they are. What differs is the server (``jupyter notebook``, its app's traits) and the address of
a notebook: ``/notebooks/<path>``, one notebook a page, with no workspaces.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from .conftest import LAB_SETTINGS, ROOT, _free_port
from .lab_driver import KERNEL_IDLE


class Server:
    """A running server: ``url(path)`` gives an address with the token, ``root`` the folder it
    serves."""

    def __init__(self, root: Path, port: int, token: str):
        self.root, self.port, self.token = root, port, token

    def url(self, path: str = "tree", query: str = "") -> str:
        return f"http://127.0.0.1:{self.port}/{path}?{query + '&' if query else ''}token={self.token}"


@contextmanager
def notebook7_server(base: Path, log_path: Path, startup: float = 90):
    """Start ``jupyter notebook`` (Notebook 7) as conftest's ``lab`` fixture starts JupyterLab:
    127.0.0.1, a free port, a random token, settings of its own; stop it on exit.

    Raises ``RuntimeError`` when it does not answer within ``startup`` seconds."""
    root, settings, workspaces = base / "root", base / "settings", base / "workspaces"
    for folder in (root, settings, workspaces):
        folder.mkdir(parents=True, exist_ok=True)
    for name, value in LAB_SETTINGS.items():  # Notebook 7 reads JupyterLab's settings folder
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(value))
    port, token = _free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(workspaces),
        "ANCHORAL_CACHE": os.environ.get("ANCHORAL_CACHE", str(ROOT / ".anchoral-cache")),
        "CI": os.environ.get("CI", "true"),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    }
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "jupyter", "notebook", "--no-browser", f"--port={port}",
                "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
                f"--ServerApp.root_dir={root}", "--ServerApp.port_retries=0",
                "--JupyterNotebookApp.expose_app_in_browser=True",
                *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
            ],
            cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        server = Server(root, port, token)
        try:
            deadline = time.monotonic() + startup
            while True:
                try:
                    with urllib.request.urlopen(server.url("api/status"), timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"Jupyter Notebook 7 did not start; see {log_path}")
                time.sleep(0.5)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


def open_notebook(page, server: Server, name: str, timeout: float = 120_000) -> None:
    """Open ``name`` in Notebook 7's notebook page and wait for its cells and an idle kernel."""
    page.goto(server.url(f"notebooks/{name}"))
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=timeout)
    page.wait_for_function(KERNEL_IDLE, timeout=timeout)


def app_name(page) -> str:
    """The front end's name as it reports it: "Jupyter Notebook" here, "JupyterLab" in Lab."""
    return page.evaluate("() => window.jupyterapp.name")
