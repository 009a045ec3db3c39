"""Notebook 09 in a real browser: JupyterLab on localhost, headless Chromium, a slider moved by the keyboard.

Needs Debian's ``chromium`` and ``chromium-driver`` (``apt-get install -y chromium chromium-driver``) and the
``selenium`` package (the ``test`` extra). Without chromium it is skipped (and says so); with chromium but without
chromedriver or selenium it fails, saying what to install. No browser is downloaded: Selenium drives the system's
Chromium through the system's chromedriver. The notebook runs in smoke mode with a tiny checkpoint trained here,
so the test needs no shipped weights.
"""
import hashlib
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(CHROMIUM is None,
                                reason="no Chromium here: apt-get install -y chromium chromium-driver")

PARAMETERS = {"epochs": 0, "fps_updates": 3}      # and the checkpoint; the rest: smoke mode
NOTEBOOK_DONE = """
const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
if (!panel || !panel.content || !panel.sessionContext.session) return {state: "loading"};
const cells = panel.content.widgets.filter(c => c.model.type === "code");
for (const cell of cells) {
  const error = cell.model.outputs.toJSON().find(o => o.output_type === "error");
  if (error) return {state: "error", text: error.ename + ": " + error.evalue};
}
const kernel = panel.sessionContext.session.kernel;
const done = cells.every(c => c.model.executionCount !== null) && kernel.status === "idle";
return {state: done ? "done" : "running"};
"""
KERNEL_READY = """
const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
const kernel = panel && panel.sessionContext && panel.sessionContext.session && panel.sessionContext.session.kernel;
return !!kernel && kernel.status === "idle";
"""
FRAME_PIXELS = """
const img = document.querySelector("img.fewshot-frame");
if (!img || !img.complete || !img.naturalWidth) return null;
const canvas = document.createElement("canvas");
canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
canvas.getContext("2d").drawImage(img, 0, 0);
return canvas.toDataURL("image/png");
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition, timeout: float, what: str):
    """Poll ``condition()`` until it returns something truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def notebook_with_tiny_checkpoint(folder: Path) -> Path:
    """Notebook 09 with papermill-style injected parameters: a tiny checkpoint, no fine-tuning."""
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    from test_finetune import tiny_checkpoint

    nb = load_notebook_node(str(ROOT / "notebooks" / "09_puppeteering.ipynb"))
    parameters = {**PARAMETERS, "checkpoint": str(tiny_checkpoint(folder / "meta"))}
    nb = parameterize_notebook(nb, parameters, kernel_name="python3")
    path = folder / "09_puppeteering.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.fixture
def jupyterlab(tmp_path):
    """A JupyterLab server on localhost serving ``tmp_path`` (app exposed to the page's JavaScript)."""
    port, token = free_port(), hashlib.sha256(os.urandom(16)).hexdigest()[:32]
    env = {**os.environ, "FEWSHOT_SMOKE": "1", "FEWSHOT_OFFLINE": "1", "FEWSHOT_RUNS": str(tmp_path / "runs"),
           "OMP_NUM_THREADS": "1", "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    log = open(tmp_path / "jupyterlab.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         "--allow-root", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={tmp_path}",
         "--LabApp.expose_app_in_browser=True",
         f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}", f"--LabApp.user_settings_dir={tmp_path / 'settings'}"],
        env=env, stdout=log, stderr=subprocess.STDOUT)

    def up():
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2).status == 200
        except OSError:
            return server.poll() is not None and pytest.fail((tmp_path / "jupyterlab.log").read_text()[-2000:])

    try:
        wait_for(up, 60, "JupyterLab to start")
        yield f"http://127.0.0.1:{port}", token
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def headless_chromium(*flags: str, logging: bool = False):
    """Debian's Chromium, headless, driven by selenium (``flags`` added to the usual ones; ``logging``: record the
    console and every network event). The caller quits it. Fails the test if chromedriver or selenium is missing."""
    if CHROMEDRIVER is None:
        pytest.fail("Chromium is installed but chromedriver is not: apt-get install -y chromium-driver")
    if importlib.util.find_spec("selenium") is None:
        pytest.fail('the browser tests need selenium: pip install -e ".[test]"')
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1400,1000", *flags):
        options.add_argument(flag)
    if logging:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


@pytest.fixture
def browser():
    driver = headless_chromium()
    try:
        yield driver
    finally:
        driver.quit()


def test_notebook_09_runs_in_jupyterlab_and_the_slider_redraws_the_frame(tmp_path, jupyterlab, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    notebook = notebook_with_tiny_checkpoint(tmp_path)
    url, token = jupyterlab
    browser.get(f"{url}/lab/tree/{notebook.name}?token={token}")
    wait_for(lambda: browser.execute_script(KERNEL_READY), 120, "the notebook's kernel to be ready")
    browser.execute_script("window.jupyterapp.commands.execute('notebook:run-all-cells')")

    def finished():
        status = browser.execute_script(NOTEBOOK_DONE)
        if status["state"] == "error":
            pytest.fail(f"notebook 09 failed in JupyterLab: {status['text']}")
        return status["state"] == "done"

    wait_for(finished, 240, "notebook 09 to run to the end")
    before = wait_for(lambda: browser.execute_script(FRAME_PIXELS), 60, "the widget's generated frame to render")

    handle = browser.find_element(By.CSS_SELECTOR, ".fewshot-yaw .noUi-handle")
    handle.click()
    handle.send_keys(*[Keys.ARROW_RIGHT] * 10)             # yaw 0° → 10°, one step per key
    after = wait_for(lambda: (lambda now: now if now and now != before else None)(browser.execute_script(FRAME_PIXELS)),
                     60, "the generated frame to change after moving the yaw slider")
    assert after != before
    readout = browser.find_element(By.CSS_SELECTOR, ".fewshot-yaw .widget-readout").text
    assert float(readout) > 0, f"the yaw slider did not move (readout {readout!r})"
