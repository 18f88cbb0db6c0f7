"""The latent explorer in a real JupyterLab, driven in headless Chromium (tests/browser.py):
notebook 04 is opened, run with Run > Run All Cells, and a slider of each explorer it
shows (the course's only widgets: vae_utils.widgets.LatentExplorer, 2-D and 20-D) is moved
with the keyboard; the decoded digit must change.

The server runs on 127.0.0.1 with a token, from a temporary folder holding a copy of the
notebook, on the offline digits (``VAE_OFFLINE=1``, fast) and with its figures, settings and
workspaces in that folder: nothing is written into the repository or the user's Jupyter
folders."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

import browser
from vae_utils.site import lesson_notebooks

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "04_latent_grid_sampling.ipynb"
#: The course's widgets, as a lesson's code would name them.
WIDGETS = re.compile(r"\bipywidgets\b|\bLatentExplorer\(|\binteract\(")
RUN_TIMEOUT_MS = 600_000  # the notebook takes ~20 s offline on an idle 2-core CPU


def _number(readout: str) -> float:
    return float(readout.replace("\u2212", "-"))  # the slider's readout writes a real minus sign


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_notebook_04_is_the_only_lesson_with_widgets():
    # a widget in another lesson needs its own browser test here
    with_widgets = [p.name for p in lesson_notebooks(ROOT)
                    if any(cell.cell_type == "code" and WIDGETS.search(cell.source)
                           for cell in nbformat.read(p, as_version=4).cells)]
    assert with_widgets == [NOTEBOOK], (
        f"lessons with widgets: {with_widgets}; give each a test like the explorer's below")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    browser.chromium_path()  # skip (or fail) before starting a server
    base = tmp_path_factory.mktemp("jupyterlab")
    work = base / "course"
    work.mkdir()
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, work / NOTEBOOK)
    # every cell's whole output in the page (JupyterLab 4 otherwise renders only what is
    # near the viewport, and the explorers are far down)
    settings = base / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    token = secrets.token_hex(16)
    port = _free_port()
    env = dict(os.environ, VAE_OFFLINE="1", VAE_FIGURES_DIR=str(base / "figures"),
               VAE_PROGRESS="0", JUPYTER_RUNTIME_DIR=str(base / "runtime"),
               OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    env.pop("NBGRADER_EXECUTION", None)
    log = open(base / "jupyterlab.log", "w")
    as_root = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []  # CI containers
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", *as_root, "--no-browser", "--ip=127.0.0.1",
         f"--port={port}", "--port-retries=0", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={work}", f"--LabApp.user_settings_dir={base / 'settings'}",
         f"--LabApp.workspaces_dir={base / 'workspaces'}", "--LabApp.news_url=None",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail("JupyterLab did not start:\n"
                                + (base / "jupyterlab.log").read_text()[-3000:])
                time.sleep(0.5)
        yield {"url": url, "token": token, "figures": base / "figures", "log": base / "jupyterlab.log"}
    finally:
        if server.poll() is None:  # the server and its kernel, started here as one group
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        log.close()


@pytest.fixture(scope="module")
def ran(lab, tmp_path_factory):
    """Notebook 04 opened in JupyterLab and run top to bottom; yields the page."""
    shots = browser.screenshot_dir(tmp_path_factory, "jupyterlab")
    with browser.sync_playwright() as p:
        chromium = browser.launch(p)
        context = chromium.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.goto(f"{lab['url']}/lab/tree/{NOTEBOOK}?reset&token={lab['token']}")
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=120_000)
        # the kernel is up when the status bar says "Python 3 (ipykernel) | Idle"
        page.wait_for_function(
            """() => [...document.querySelectorAll('.jp-StatusBar-TextItem')]
                       .some(t => t.textContent.includes('| Idle'))""",
            timeout=120_000, polling=500)
        prompts = """() => [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]
                           .map(p => p.textContent.trim())"""
        start = time.monotonic()
        for attempt in range(2):  # a click lost on a busy machine is retried once
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
            try:  # started: some cell is queued ([*]) or done ([n])
                page.wait_for_function(f"() => ({prompts})().some(p => p !== '[ ]:')",
                                       timeout=30_000, polling=500)
                break
            except Exception:
                page.keyboard.press("Escape")
                page.screenshot(path=str(shots / f"run_all_not_started_{attempt}.png"))
        else:
            pytest.fail(f"Run > Run All Cells did not start the notebook; see {shots}")
        # the run is over when every code cell has its number and the kernel is idle, or
        # when a cell failed (Run All stops there; the test below reports it)
        page.wait_for_function(
            f"""() => (({prompts})().every(p => /^\\[\\d+\\]:$/.test(p))
                       && [...document.querySelectorAll('.jp-StatusBar-TextItem')]
                            .some(t => t.textContent.includes('| Idle')))
                      || document.querySelector(
                           '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]')""",
            timeout=RUN_TIMEOUT_MS, polling=1000)
        seconds = time.monotonic() - start
        page.screenshot(path=str(shots / "notebook04_after_run.png"))
        yield {"page": page, "errors": errors, "shots": shots, "seconds": seconds}
        context.close()
        chromium.close()


@pytest.mark.slow
def test_notebook_04_runs_without_an_error(ran, lab):
    page = ran["page"]
    failed = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]')
    assert failed.count() == 0, "a cell failed in JupyterLab: " + failed.first.inner_text()[:2000]
    prompts = page.eval_on_selector_all(".jp-CodeCell .jp-InputArea-prompt",
                                        "ps => ps.map(p => p.textContent.trim())")
    assert prompts and all(p not in ("[ ]:", "") for p in prompts), prompts
    assert list(lab["figures"].glob("*.png")), "the run saved no figure into VAE_FIGURES_DIR"
    print(f"notebook 04 ran in JupyterLab in {ran['seconds']:.1f} s")


@pytest.mark.slow
@pytest.mark.parametrize("which, sliders", [(0, ["z1", "z2"]), (1, None)],
                         ids=["2-D explorer", "20-D explorer"])
def test_moving_a_slider_changes_the_decoded_digit(ran, which, sliders):
    page = ran["page"]
    boxes = page.locator(".jp-OutputArea-output .widget-hbox:has(.widget-hslider)")
    assert boxes.count() == 2, f"expected the two explorers of notebook 04, found {boxes.count()}"
    box = boxes.nth(which)
    box.scroll_into_view_if_needed()
    names = box.locator(".widget-hslider .widget-label").all_inner_texts()
    if sliders is not None:
        assert names == sliders, names
    else:  # the 20-D explorer: four sliders, named after the dimensions chosen in the run
        assert len(names) == 4 and all(n.startswith("z") for n in names), names
    image = box.locator("img")
    before_src = image.get_attribute("src")
    before_png = image.screenshot()
    before_value = box.locator(".widget-readout").first.inner_text()

    sign = 1.0 if _number(before_value) <= 0 else -1.0  # away from the nearer end (+-3)
    handle = box.locator(".widget-hslider .noUi-handle").first
    handle.focus()
    for _ in range(20):  # 20 steps of 0.05: z moves by 1.0
        page.keyboard.press("ArrowRight" if sign > 0 else "ArrowLeft")
    page.wait_for_function("([img, src]) => img.src !== src", arg=[image.element_handle(), before_src],
                           timeout=60_000)
    page.wait_for_timeout(500)  # the last redraw of the burst
    after_value = box.locator(".widget-readout").first.inner_text()
    after_png = image.screenshot()
    box.screenshot(path=str(ran["shots"] / f"explorer{which}_after.png"))

    assert _number(after_value) == pytest.approx(_number(before_value) + sign, abs=1e-6), (
        before_value, after_value)
    assert after_png != before_png, "the decoded digit did not change when the slider moved"
    assert ran["errors"] == [], f"JavaScript errors in JupyterLab: {ran['errors']}"
