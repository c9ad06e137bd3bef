"""A Jupyter Notebook 7 server for the browser tests, and opening a notebook in it.

Notebook 7 is built from JupyterLab's own packages: with ``expose_app_in_browser`` it has a
``window.jupyterapp`` whose shell's current widget is the open notebook's panel, and the same
``notebook:*`` commands, so :mod:`.lab_driver`'s ``run_all``, ``run_code`` and ``probe`` work as
they are. What differs is the server (``jupyter notebook``, its app's traits) and the address of
a notebook: ``/notebooks/<path>``, one notebook a page, with no workspaces.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from .lab_driver import KERNEL_IDLE
from .servers import Server, jupyter_server


@contextmanager
def notebook7_server(base: Path, log_path: Path, startup: float = 90):
    """``jupyter notebook`` (Notebook 7), started as the ``lab`` fixture starts JupyterLab."""
    with jupyter_server(
        "notebook", base, log_path, ["--JupyterNotebookApp.expose_app_in_browser=True"], startup
    ) as server:
        yield server


def open_notebook(page, server: Server, name: str, timeout: float = 120_000) -> None:
    """Open ``name`` in Notebook 7's notebook page and wait for its cells and an idle kernel."""
    page.goto(server.url(f"notebooks/{name}"))
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=timeout)
    page.wait_for_function(KERNEL_IDLE, timeout=timeout)


def app_name(page) -> str:
    """The front end's name as it reports it: "Jupyter Notebook" here, "JupyterLab" in Lab."""
    return page.evaluate("() => window.jupyterapp.name")
