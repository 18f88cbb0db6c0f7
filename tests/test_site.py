"""The course's website (vae_utils.site): built once into a temporary folder, then every page
read in headless Chromium (tests/browser.py): no JavaScript error, every image loaded, the
maths typeset (no raw LaTeX left), a Colab button per lesson, the lessons in order; and the
build fails on a broken link or a missing image."""

from __future__ import annotations

import functools
import http.server
import re
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlparse

import nbformat
import pytest
from PIL import Image

import browser
from vae_utils.launch import BINDER_BADGE, COLAB_BADGE
from vae_utils.site import SiteBuildError, build_site, lesson_notebooks, main, repository_url

ROOT = Path(__file__).resolve().parents[1]
LESSONS = [p.stem for p in lesson_notebooks(ROOT)]
PAGES = ["index", "INSTRUCTORS"] + [f"notebooks/{name}" for name in LESSONS]
#: The only things a page may fetch from outside the site: the lessons' launch badges.
BADGES = {COLAB_BADGE, BINDER_BADGE}
#: TeX left as text: a backslash command, or display-maths dollars.
RAW_TEX = re.compile(r"\\[A-Za-z]+|\$\$|\\[()\[\]]")


# --- the command, without a browser -------------------------------------------------------

def _tiny_course(root: Path, readme_extra: str = "") -> Path:
    """A course of one lesson: enough for a build of a few seconds."""
    (root / "notebooks" / "solutions").mkdir(parents=True)
    (root / "figures").mkdir()
    Image.new("L", (8, 8), 128).save(root / "figures" / "grey.png")
    (root / "pyproject.toml").write_text(
        '[project]\nname = "tiny"\n[project.urls]\nRepository = "https://github.com/o/tiny"\n')
    (root / "README.md").write_text(
        "# A tiny course\n\n[The lesson](notebooks/01_first.ipynb), [its solutions]"
        "(notebooks/solutions/), [the guide](INSTRUCTORS.md).\n\n"
        "![grey](figures/grey.png)\n" + readme_extra)
    (root / "INSTRUCTORS.md").write_text("# Guide\n\nBack to [the course](README.md).\n")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 01 · First\n\nThe KL is $\\frac{1}{2}\\mu^2$.\n\n"
                                              "![grey](../figures/grey.png)"),
                nbformat.v4.new_code_cell("1 + 1")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nbformat.write(nb, root / "notebooks" / "01_first.ipynb")
    nbformat.write(nb, root / "notebooks" / "solutions" / "01_first_solutions.ipynb")
    return root


def _files(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*")}


def test_help_names_the_command(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert "--out" in text and "python -m vae_utils.site" in text


def test_lessons_in_order_with_later_ones_and_without_solutions(tmp_path):
    (tmp_path / "notebooks" / "solutions").mkdir(parents=True)
    for name in ("10_later.ipynb", "02_b.ipynb", "01_a.ipynb", "solutions/01_a_solutions.ipynb",
                 "scratch.ipynb"):
        (tmp_path / "notebooks" / name).write_text("{}")
    assert [p.name for p in lesson_notebooks(tmp_path)] == ["01_a.ipynb", "02_b.ipynb",
                                                            "10_later.ipynb"]


def test_repository_address_comes_from_pyproject(tmp_path):
    assert repository_url(ROOT).startswith("https://github.com/")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    (tmp_path / "notebooks").mkdir()
    with pytest.raises(KeyError, match=r"\[project.urls\]"):
        repository_url(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[project.urls]\nRepository = "https://gitlab.com/a/b"\n')
    with pytest.raises(ValueError, match="GitHub"):
        repository_url(tmp_path)


BROKEN = {  # what each broken reference is named by in Sphinx's warnings
    "missing.png": "![gone](figures/missing.png)",
    "missing.gif": '<p align="center">\n  <img src="figures/missing.gif" width="100">\n</p>',
    "02_nope": "[a lesson that is not there](notebooks/02_nope.ipynb)",
}


@pytest.mark.parametrize("required", ["", "1"])
def test_without_chromium_the_browser_tests_skip_unless_required(monkeypatch, tmp_path, required):
    monkeypatch.setenv("PATH", str(tmp_path))  # no chromium on it
    monkeypatch.delenv("VAE_CHROMIUM", raising=False)
    monkeypatch.setenv("VAE_REQUIRE_BROWSER", required)
    outcome = pytest.fail.Exception if required else pytest.skip.Exception
    with pytest.raises(outcome, match="apt-get install chromium"):
        browser.chromium_path()
    monkeypatch.setenv("VAE_CHROMIUM", str(tmp_path / "nothing"))
    with pytest.raises(outcome, match="VAE_CHROMIUM=.* is not a file"):
        browser.chromium_path()


@pytest.mark.slow  # two small Sphinx builds, a few seconds each
@pytest.mark.parametrize("broken", [False, True], ids=["control", "broken"])
def test_the_build_fails_on_a_broken_link_or_a_missing_image(tmp_path, broken):
    extra = "\n\n".join(BROKEN.values()) + "\n" if broken else ""
    root = _tiny_course(tmp_path / "course", extra)
    before = _files(root)
    out = tmp_path / "site"
    if not broken:  # the same course without the broken references builds
        assert build_site(out, root) == out / "index.html"
        assert (out / "notebooks" / "01_first.html").is_file()
        assert not list(out.rglob("*solutions*"))
        index = (out / "index.html").read_text(encoding="utf-8")
        assert 'href="https://github.com/o/tiny/tree/main/notebooks/solutions"' in index
    else:
        # the command says so, names each broken reference (one build reports them all:
        # --keep-going), and exits 1
        done = subprocess.run([sys.executable, "-m", "vae_utils.site", "--out", str(out),
                               "--root", str(root)], capture_output=True, text=True)
        assert done.returncode == 1 and "did not build" in done.stderr, done.stderr
        for name in BROKEN:
            assert name in done.stderr, f"no warning names {name}:\n{done.stderr}"
    assert _files(root) == before, "the build wrote into the course folder"


# --- the course's site in a browser ---------------------------------------------------------

@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    build_site(out, ROOT)
    return out


@pytest.fixture(scope="module")
def server(site):
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def chromium():
    browser.chromium_path()  # skip (or fail) before starting Playwright
    with browser.sync_playwright() as p:
        b = browser.launch(p)
        yield b
        b.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    return browser.screenshot_dir(tmp_path_factory, "site")


def _open(chromium, url: str):
    """Open ``url`` with everything outside 127.0.0.1 blocked; returns the page and what
    went wrong on it (JavaScript errors, console errors, outside requests)."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    seen = {"pageerror": [], "console": [], "outside": []}
    page.on("pageerror", lambda err: seen["pageerror"].append(str(err)))
    page.on("console", lambda msg: seen["console"].append((msg.text, msg.location.get("url")))
            if msg.type == "error" else None)

    def route(r):
        host = urlparse(r.request.url).hostname
        if host == "127.0.0.1":
            return r.continue_()
        seen["outside"].append((r.request.resource_type, r.request.url))
        return r.abort()

    page.route("**/*", route)
    page.goto(url, wait_until="load")
    return page, seen


def _wait_for_maths(page) -> None:
    if not page.query_selector('script[src*="mathjax/MathJax.js"]'):
        return  # a page without maths (Sphinx adds MathJax only where there is some)
    page.wait_for_function("window.MathJax !== undefined && window.MathJax.Hub !== undefined",
                           timeout=30_000)
    page.evaluate("() => new Promise(done => MathJax.Hub.Queue(() => done(true)))")


@pytest.mark.slow
@pytest.mark.parametrize("name", PAGES)
def test_page_renders_in_a_browser(chromium, server, shots, name):
    page, seen = _open(chromium, f"{server}/{name}.html")
    try:
        _wait_for_maths(page)
        images = page.evaluate("""async () => {
            const imgs = [...document.querySelectorAll('img')];
            imgs.forEach(i => { i.loading = 'eager'; });
            await Promise.all(imgs.map(i => i.decode().catch(() => null)));
            return imgs.map(i => ({src: i.currentSrc || i.src, w: i.naturalWidth}));
        }""")
        page.screenshot(path=str(shots / f"{name.replace('/', '__')}.png"), full_page=True)
        # the article's visible text, code cells left out (code may hold TeX for matplotlib)
        page.add_style_tag(content="pre, code, .cell_input { display: none !important; }")
        text = page.inner_text("article")
        typeset = page.evaluate("""() => {
            const maths = [...document.querySelectorAll('article .math.notranslate')];
            return {maths: maths.length,
                    typeset: maths.filter(m => m.querySelector('.MathJax, .MathJax_Display, .MathJax_SVG')).length,
                    errors: document.querySelectorAll('.MathJax_Error, .noError, merror').length};
        }""")
        colab = page.eval_on_selector_all('a[href*="colab.research.google.com"]',
                                          "links => links.map(a => a.href)")
    finally:
        page.context.close()

    assert seen["pageerror"] == [], f"JavaScript errors on {name}: {seen['pageerror']}"
    blocked = {url for _, url in seen["outside"]}  # their failure is logged: not the site's
    console = [text for text, url in seen["console"] if url not in blocked]
    assert console == [], f"console errors on {name}: {console}"
    not_badges = [(kind, url) for kind, url in seen["outside"]
                  if kind != "image" or url not in BADGES]
    assert not_badges == [], f"{name} fetches from outside the site (not offline): {not_badges}"

    local = [i for i in images if urlparse(i["src"]).hostname == "127.0.0.1"]
    broken = [i["src"] for i in local if i["w"] <= 0]
    assert broken == [], f"images that did not load on {name}: {broken}"
    if name.startswith("notebooks/") or name == "index":
        assert local, f"{name} shows no image at all"

    leftover = sorted(set(RAW_TEX.findall(text)))
    assert leftover == [], f"raw LaTeX left in the text of {name}: {leftover}"
    assert typeset["errors"] == 0, f"MathJax reported {typeset['errors']} errors on {name}"
    assert typeset["typeset"] == typeset["maths"], (
        f"{name}: {typeset['maths'] - typeset['typeset']} of {typeset['maths']} formulas not typeset")
    if name.startswith("notebooks/"):
        assert typeset["maths"] > 0, f"{name}: no maths found (is dollarmath on?)"
        path = f"/blob/main/{name}.ipynb"
        assert any(path in href for href in colab), f"{name}: no Colab link to {path}: {colab}"
    assert (shots / f"{name.replace('/', '__')}.png").stat().st_size > 10_000


@pytest.mark.slow
def test_lessons_in_order_with_navigation_and_no_solutions(chromium, server, site):
    assert not list(site.rglob("*solutions*.html")), "a solved notebook is on the site"
    page, _ = _open(chromium, f"{server}/index.html")
    try:
        sidebar = page.eval_on_selector_all("nav.bd-docs-nav li.toctree-l1 > a",
                                            "links => links.map(a => a.href)")
        order = []
        for name in LESSONS:
            page.goto(f"{server}/notebooks/{name}.html")
            prev = page.eval_on_selector_all("a.left-prev", "a => a.map(x => x.href)")
            nxt = page.eval_on_selector_all("a.right-next", "a => a.map(x => x.href)")
            solution_links = page.eval_on_selector_all(
                'article a[href*="solutions"]', "a => a.map(x => x.href)")
            order.append((name, prev, nxt, solution_links))
    finally:
        page.context.close()
    # the landing page's navigation: every lesson in order, then the instructor's guide
    assert sidebar == [f"{server}/notebooks/{name}.html" for name in LESSONS] + [
        f"{server}/INSTRUCTORS.html"], sidebar
    for i, (name, prev, nxt, solution_links) in enumerate(order):
        want_prev = f"{server}/index.html" if i == 0 else f"{server}/notebooks/{LESSONS[i - 1]}.html"
        want_next = (f"{server}/INSTRUCTORS.html" if i == len(LESSONS) - 1
                     else f"{server}/notebooks/{LESSONS[i + 1]}.html")
        assert prev == [want_prev], f"{name}: previous link {prev}, expected {want_prev}"
        assert nxt == [want_next], f"{name}: next link {nxt}, expected {want_next}"
        assert all(h.startswith(repository_url(ROOT) + "/blob/main/notebooks/solutions/")
                   for h in solution_links), f"{name}: a solutions link off the repository: {solution_links}"


@pytest.mark.slow
def test_the_explorer_shows_its_static_figure(site):
    html = (site / "notebooks" / "04_latent_grid_sampling.html").read_text(encoding="utf-8")
    # the text line of the widget's output, and no widget JavaScript (it would need a CDN)
    assert "LatentExplorer: sliders z1, z2 -&gt; decoded digit" in html
    scripts = re.findall(r'<script[^>]+src="([^"]+)"', html)
    assert not [s for s in scripts if "widget" in s or "require" in s or "://" in s], scripts
    # the static figure printed right before it is an image of the page
    before = html.split("LatentExplorer: sliders z1, z2")[0]
    assert re.search(r'<img[^>]+src="[^"]+\.png"', before[-3000:]), "no static figure before the explorer"
