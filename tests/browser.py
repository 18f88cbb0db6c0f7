"""Headless Chromium for the browser tests (test_site.py, test_browser_jupyterlab.py).

Playwright's Python API drives the system's Chromium (Debian's package), found on PATH or
at ``$VAE_CHROMIUM``; Playwright's own browser download is not used. Without Chromium the
browser tests skip with a message saying how to install it, unless ``VAE_REQUIRE_BROWSER=1``
(set by CI, ``.ci/run``): then they fail.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

INSTALL = "install it with: apt-get install chromium (Debian/Ubuntu), or set VAE_CHROMIUM to its path"
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _missing(what: str) -> None:
    if os.environ.get("VAE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{what} (VAE_REQUIRE_BROWSER=1, so this fails instead of skipping)")
    pytest.skip(what)


def chromium_path() -> str:
    """The Chromium executable; skips (or fails under ``VAE_REQUIRE_BROWSER=1``) without one."""
    given = os.environ.get("VAE_CHROMIUM")
    if given:
        if not Path(given).is_file():
            _missing(f"VAE_CHROMIUM={given} is not a file; {INSTALL}")
        return given
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    _missing(f"no Chromium on PATH for the browser tests; {INSTALL}")


def launch(playwright):
    """A headless Chromium browser (Playwright ``Browser``) from :func:`chromium_path`."""
    path = chromium_path()
    # --no-sandbox: CI and containers run the tests as root, where Chromium's sandbox refuses.
    return playwright.chromium.launch(executable_path=path, headless=True,
                                      args=["--no-sandbox", "--disable-gpu",
                                            "--disable-dev-shm-usage"])


def sync_playwright():
    """Playwright's sync API context manager, or a skip/fail when playwright is missing."""
    try:
        from playwright.sync_api import sync_playwright as start
    except ImportError:
        _missing('playwright is not installed; python -m pip install -e ".[dev]"')
    return start()


def screenshot_dir(tmp_path_factory, name: str) -> Path:
    """Where screenshots go: ``$VAE_SCREENSHOTS_DIR/<name>`` if set, else a temporary
    folder (never the repository)."""
    base = os.environ.get("VAE_SCREENSHOTS_DIR")
    if base:
        folder = Path(base) / name
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return tmp_path_factory.mktemp(f"screenshots-{name}")
