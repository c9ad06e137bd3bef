"""Real Jupyter servers on 127.0.0.1 (JupyterLab 4 and Notebook 7) and Debian's chromium driven
by Playwright.

``jupyter`` runs each test that takes it in both front ends: the same notebook, the same helpers
(:mod:`.lab_driver`), once in JupyterLab and once in Notebook 7. ``lab`` is JupyterLab alone.

In CI (``CI=true``) a missing browser fails these tests (the root conftest turns skips into
failures there); elsewhere they are skipped with the line that installs it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .servers import ROOT, jupyter_server

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.skip("Debian's chromium is not installed: apt-get update && apt-get install -y chromium")
    return path


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


LAB_ARGS = [
    "--LabApp.expose_app_in_browser=True",
    "--LabApp.extension_manager=readonly",
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
]
NOTEBOOK7_ARGS = ["--JupyterNotebookApp.expose_app_in_browser=True"]


def _serve(app: str, args: list[str], tmp_path_factory, artifacts):
    if not (ROOT / "anchoral_widget" / "static" / "widget.js").is_file():
        pytest.fail("the front end is not built: npm --prefix js ci && npm --prefix js run build")
    try:
        with jupyter_server(app, tmp_path_factory.mktemp(app), artifacts / f"jupyter-{app}.log", args) as server:
            yield server
    except RuntimeError as err:
        pytest.fail(str(err))


@pytest.fixture(scope="session")
def lab(tmp_path_factory, artifacts):
    """A JupyterLab server: ``lab.url(path)`` gives an address with the token, ``lab.root`` the
    folder it serves."""
    yield from _serve("lab", LAB_ARGS, tmp_path_factory, artifacts)


@pytest.fixture(scope="session")
def notebook7(tmp_path_factory, artifacts):
    """A Jupyter Notebook 7 server, started as ``lab`` is."""
    pytest.importorskip("notebook.app", reason="Notebook 7 is not installed: pip install 'notebook>=7'")
    yield from _serve("notebook", NOTEBOOK7_ARGS, tmp_path_factory, artifacts)


@pytest.fixture(scope="module", params=["lab", "notebook7"])
def jupyter(request):
    """JupyterLab, then Notebook 7: a test that takes this runs in both."""
    return request.getfixturevalue(request.param)


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def shots(jupyter, artifacts) -> Path:
    """Where a test in both front ends puts its screenshots: test-artifacts/ for JupyterLab,
    test-artifacts/notebook7/ for Notebook 7."""
    folder = artifacts if jupyter.app == "lab" else artifacts / "notebook7"
    folder.mkdir(exist_ok=True)
    return folder
