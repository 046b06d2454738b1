"""Real-browser tests: headless Debian chromium driven by playwright's sync API.

Every test here is marked ``browser``: run them with ``pytest -m browser``, leave them out with
``-m "not browser"`` (a plain ``pytest`` runs them too when chromium is there).
They skip, saying why, when ``/usr/bin/chromium`` or the playwright package is missing (install
with ``apt-get install -y chromium``; ``playwright install`` is not used). Every request that does
not go to 127.0.0.1, localhost or a file:// URL is aborted, so nothing leaves the machine.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
REPO = Path(__file__).resolve().parents[2]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def _require_browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install it with `apt-get install -y chromium` to run the browser tests")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("the playwright Python package is not installed (pip install playwright)")


def _allow(route):
    url = urlparse(route.request.url)
    if url.scheme in ("file", "data", "blob") or (url.hostname or "") in LOCAL_HOSTS:
        route.continue_()
    else:
        route.abort()


@pytest.fixture(scope="session")
def browser_context(tmp_path_factory):
    """A persistent chromium context on a fresh user-data-dir; non-local requests are aborted."""
    _require_browser()
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(str(profile), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                                   headless=True, viewport={"width": 1400, "height": 1000})
        ctx.route("**/*", _allow)
        try:
            yield ctx
        finally:
            ctx.close()


@pytest.fixture
def page(browser_context):
    pg = browser_context.new_page()
    errors = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.errors = errors
    try:
        yield pg
    finally:
        pg.close()


def _copy_notebook(src: Path, dest: Path, **parameters) -> None:
    """Copy a notebook, setting parameter defaults (string values) in its parameters cell."""
    import nbformat

    nb = nbformat.read(str(src), as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    lines = cell.source.splitlines()
    for name, value in parameters.items():
        idx = next(i for i, line in enumerate(lines) if line.startswith(f"{name}: str = "))
        lines[idx] = f"{name}: str = {json.dumps(str(value))}  # set by the browser test"
    cell.source = "\n".join(lines)
    nbformat.write(nb, str(dest))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def jupyter_lab(tmp_path_factory):
    """A throwaway JupyterLab on 127.0.0.1 serving a scratch folder with a copy of notebook 04.

    Settings as jupyterlab.galata.configure_jupyter_server: empty token, no XSRF check, the app
    exposed as ``window.jupyterapp``; isolated config/data/runtime dirs, autosave off, and the
    notebook copied so nothing is ever written into the repository. vizlib finds the project's
    data through its own package location, whatever the server's root.
    """
    _require_browser()
    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    root.mkdir()
    _copy_notebook(REPO / "notebooks" / "04_overhead_explorer.ipynb", root / "04_overhead_explorer.ipynb",
                   processed_dir=base / "processed")
    settings = base / "settings" / "@jupyterlab" / "docmanager-extension"
    settings.mkdir(parents=True)
    (settings / "plugin.jupyterlab-settings").write_text(json.dumps({"autosave": False}))
    news = base / "settings" / "@jupyterlab" / "apputils-extension"  # no "get notified about news?" toast
    news.mkdir(parents=True)
    (news / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(base / "config"), JUPYTER_DATA_DIR=str(base / "data"),
               JUPYTER_RUNTIME_DIR=str(base / "runtime"), JUPYTER_PLATFORM_DIRS="1")
    port = _free_port()
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
           f"--port={port}", "--port-retries=0", "--ServerApp.token=", "--ServerApp.password=",
           "--ServerApp.disable_check_xsrf=True", "--LabApp.expose_app_in_browser=True",
           f"--ServerApp.root_dir={root}", f"--LabApp.user_settings_dir={base / 'settings'}",
           f"--LabApp.workspaces_dir={base / 'workspaces'}", "--LabApp.news_url=None",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    log = open(base / "lab.log", "w")
    proc = subprocess.Popen(cmd, cwd=str(root), env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited with {proc.returncode}: {(base / 'lab.log').read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}/api/status", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"jupyter lab did not answer within 90 s: {(base / 'lab.log').read_text()[-3000:]}")
            time.sleep(0.5)
        yield {"url": url, "root": root, "log": base / "lab.log"}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
