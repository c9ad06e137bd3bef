"""A real JupyterLab 4 server on 127.0.0.1 and Debian's chromium driven by Playwright.

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


@pytest.fixture(scope="session")
def lab(tmp_path_factory, artifacts):
    """A JupyterLab server: ``lab.url(path)`` gives an address with the token, ``lab.root`` the
    folder it serves."""
    if not (ROOT / "anchoral_widget" / "static" / "widget.js").is_file():
        pytest.fail("the front end is not built: npm --prefix js ci && npm --prefix js run build")
    lab_args = [
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.extension_manager=readonly",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    try:
        with jupyter_server("lab", tmp_path_factory.mktemp("lab"), artifacts / "jupyterlab.log", lab_args) as server:
            yield server
    except RuntimeError as err:
        pytest.fail(str(err))


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
