"""The course's website: the README, the lessons and the instructor's guide as HTML.

    python -m vae_utils.site --out DIR     # DIR/index.html, DIR/notebooks/04_...html, ...

The site is built by Sphinx with myst-nb (the notebooks, read with their committed
outputs, never executed) and sphinx-book-theme (its launch buttons open each lesson in
Colab or Binder). The pages:

* ``index.html``: the README, the landing page;
* ``notebooks/NN_<name>.html``: one page per lesson ``notebooks/NN_*.ipynb``, in order,
  with previous/next links (a new ``notebooks/10_*.ipynb`` joins automatically);
* ``INSTRUCTORS.html``: the instructor's guide.

The solved notebooks (``notebooks/solutions/``) are not published; links to them, and to
any other file of the repository that is not a page, point at the repository
(``[project.urls] Repository`` in ``pyproject.toml``, the one place its address is
written). Maths is typeset by MathJax 2.7 from the ``jupyter-server-mathjax`` package,
copied into the site, so the pages need no CDN. Sphinx's warnings are errors: a broken
link or a missing image fails the build.

The build reads the checkout and writes only into ``DIR`` and a temporary folder (the
Sphinx source, a copy of what the pages need, and its caches). Its tools are the
``site`` extra: ``python -m pip install -e ".[site]"``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ._env import project_root
from .launch import BRANCH, github_repo, read_repository

__all__ = ["SiteBuildError", "build_site", "lesson_notebooks", "main", "repository_url"]

#: The Python modules the build needs, and the packages that provide them.
REQUIRED = {"sphinx": "sphinx", "myst_nb": "myst-nb", "sphinx_book_theme": "sphinx-book-theme",
            "jupyter_server_mathjax": "jupyter-server-mathjax"}
#: MathJax 2.7 from jupyter-server-mathjax: its one combined configuration, HTML-CSS output
#: in the package's one web font, STIX-Web.
MATHJAX_PATH = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"
MATHJAX2_CONFIG = {
    # What myst-parser tells MathJax 3, in MathJax 2's words: typeset the maths Sphinx
    # marks (class "math") and notebook outputs, nothing else.
    "tex2jax": {"inlineMath": [["\\(", "\\)"]], "displayMath": [["\\[", "\\]"]],
                "processEscapes": True, "processEnvironments": True,
                "ignoreClass": "tex2jax_ignore|mathjax_ignore|document",
                "processClass": "tex2jax_process|mathjax_process|math|output_area"},
    "HTML-CSS": {"availableFonts": [], "preferredFont": None, "webFont": "STIX-Web",
                 "imageFont": None,
                 # MathJax's empty fallback font, url('about:blank'), which Chromium logs as
                 # a blocked request on every page; a local() name that no system has
                 # fails the same way, silently.
                 "styles": {"@font-face": {"font-family": "MathJax_Blank",
                                           "src": "local('MathJax_Blank')"}}},
    # MathJax's hidden copy of each formula as MathML, for screen readers, asks for TeX web
    # fonts the package does not hold (a 404 per page); it is off, so a screen reader gets
    # the formula only through MathJax's menu ("Show Math As", the TeX source).
    "menuSettings": {"assistiveMML": False},
    "messageStyle": "none",
}
_LINK = re.compile(r"(\]\()([^)\s]+)")  # the target of a Markdown link or image: ](target
#: A raw-HTML paragraph that only holds images (the README's two GIFs side by side).
_HTML_IMAGES = re.compile(r"<p\b[^>]*>\s*((?:<img\b[^>]*>\s*)+)</p>")


class SiteBuildError(RuntimeError):
    """Sphinx reported an error or a warning (warnings are errors here)."""


def lesson_notebooks(root: Path | str) -> list[Path]:
    """The lessons in order: ``notebooks/NN_*.ipynb`` (two digits, then ``_``), without the
    solved notebooks.

    Raises:
        FileNotFoundError: ``root`` has no lesson.
    """
    found = sorted(Path(root, "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if not found:
        raise FileNotFoundError(f"no lessons (notebooks/NN_*.ipynb) under {Path(root).resolve()}; "
                                "pass the course checkout as --root.")
    return found


def repository_url(root: Path | str | None = None) -> str:
    """The repository's address as ``https://github.com/OWNER/REPO``, from
    ``[project.urls] Repository`` in the checkout's ``pyproject.toml``
    (:func:`vae_utils.launch.read_repository`, which the notebooks' badges use too).

    Raises:
        FileNotFoundError: no course checkout at or above ``root``.
        KeyError: no ``Repository`` under ``[project.urls]``.
        ValueError: the address is not a GitHub repository (Colab and Binder need one).
    """
    owner, repo = github_repo(read_repository(root))
    return f"https://github.com/{owner}/{repo}"


def _missing_tools() -> list[str]:
    return [pkg for module, pkg in REQUIRED.items() if importlib.util.find_spec(module) is None]


def _rewrite_links(text: str, here: Path, root: Path, pages: set[Path], repo: str) -> str:
    """Point links to repository files that are not pages of the site at the repository.

    ``here`` is the folder (relative to ``root``) of the file the text comes from. Links
    to pages, to figures (the site shows them), to anchors and to the web stay as they
    are, and so does a link to a file that does not exist: the build then fails on it.
    """
    def fix(match: re.Match) -> str:
        target = match.group(2)
        path, _, anchor = target.partition("#")
        if not path or re.match(r"^[a-z][a-z0-9+.-]*:", path) or path.startswith("/"):
            return match.group(0)
        resolved = Path(os.path.normpath(here / path))
        if resolved in pages or resolved.parts[:1] == ("figures",):
            return match.group(0)
        full = root / resolved
        if not full.exists() or resolved.parts[:1] == ("..",):
            return match.group(0)
        kind = "tree" if full.is_dir() else "blob"
        url = f"{repo}/{kind}/{BRANCH}/{resolved.as_posix()}" + (f"#{anchor}" if anchor else "")
        return match.group(1) + url

    return _LINK.sub(fix, text)


def _markdown(text: str, here: Path, root: Path, pages: set[Path], repo: str) -> str:
    """A page's Markdown for Sphinx: links rewritten (:func:`_rewrite_links`), and images
    in raw HTML paragraphs set free, so that MyST's ``html_image`` turns them into
    Sphinx images, which the build copies and checks like Markdown images."""
    text = _HTML_IMAGES.sub(lambda m: " ".join(m.group(1).split()), text)
    return _rewrite_links(text, here, root, pages, repo)


def _toctree(lessons: list[Path]) -> str:
    names = "\n".join(f"notebooks/{p.stem}" for p in lessons)
    return (f"\n\n```{{toctree}}\n:hidden:\n:caption: Lessons\n\n{names}\n```\n\n"
            "```{toctree}\n:hidden:\n:caption: For instructors\n\nINSTRUCTORS\n```\n")


def _conf(repo: str, title: str) -> str:
    values = {
        "project": title,
        "html_title": title,
        "extensions": ["myst_nb"],
        "exclude_patterns": ["_build", "**.ipynb_checkpoints"],
        "html_theme": "sphinx_book_theme",
        "html_static_path": ["_static"],
        "html_context": {"default_mode": "light"},
        "html_theme_options": {
            "repository_url": repo,
            "repository_branch": BRANCH,
            "path_to_docs": "",
            "use_repository_button": True,
            "launch_buttons": {"colab_url": "https://colab.research.google.com",
                               "binderhub_url": "https://mybinder.org",
                               "notebook_interface": "jupyterlab"},
        },
        "mathjax_path": MATHJAX_PATH,
        "mathjax2_config": MATHJAX2_CONFIG,
        # The notebooks as committed: never executed by the build.
        "nb_execution_mode": "off",
        # The prose numbers a lesson renders (display(Markdown(...))) hold maths too.
        "nb_render_markdown_format": "myst",
        # The explorer needs a kernel: the page shows its static figure and its text
        # line, and loads no widget JavaScript (which would come from a CDN).
        "nb_ipywidgets_js": {},
        "nb_mime_priority_overrides": [("html", "application/vnd.jupyter.widget-view+json",
                                        None)],
        "myst_enable_extensions": ["dollarmath", "amsmath", "html_image"],
        "myst_heading_anchors": 3,
    }
    lines = ['"""Sphinx configuration written by vae_utils.site (do not edit: regenerated)."""']
    lines += [f"{key} = {value!r}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def _prepare_source(root: Path, src: Path, repo: str) -> list[Path]:
    """Write the Sphinx source folder ``src``: index.md (the README), INSTRUCTORS.md, the
    lessons, figures/, the MathJax files and conf.py. Returns the lessons."""
    import jupyter_server_mathjax
    import nbformat

    lessons = lesson_notebooks(root)
    pages = {Path("README.md"), Path("INSTRUCTORS.md")} | {p.relative_to(root) for p in lessons}
    for name in ("README.md", "INSTRUCTORS.md"):
        if not (root / name).is_file():
            raise FileNotFoundError(f"{root / name} is missing; the site needs it as a page.")
    readme = (root / "README.md").read_text(encoding="utf-8")
    readme = readme.replace("](README.md", "](index.md")
    title = next((line[2:].strip() for line in readme.splitlines() if line.startswith("# ")),
                 "The course")
    (src / "index.md").write_text(_markdown(readme, Path("."), root, pages, repo)
                                  + _toctree(lessons), encoding="utf-8")
    guide = (root / "INSTRUCTORS.md").read_text(encoding="utf-8").replace("](README.md", "](index.md")
    (src / "INSTRUCTORS.md").write_text(_markdown(guide, Path("."), root, pages, repo),
                                        encoding="utf-8")
    (src / "notebooks").mkdir()
    for path in lessons:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = _markdown(cell.source, Path("notebooks"), root, pages, repo)
        nbformat.write(nb, src / "notebooks" / path.name)
    if (root / "figures").is_dir():
        shutil.copytree(root / "figures", src / "figures")
    static = Path(jupyter_server_mathjax.__file__).parent / "static"
    shutil.copytree(static, src / "_static" / "mathjax")
    (src / "conf.py").write_text(_conf(repo, title), encoding="utf-8")
    return lessons


def build_site(out: Path | str, root: Path | str | None = None, *, quiet: bool = True) -> Path:
    """Build the website into ``out`` from the checkout ``root`` (default: the checkout
    around the working directory) and return ``out/index.html``.

    The lessons are read as committed (outputs included) and never executed. Nothing is
    written into ``root``: Sphinx reads a temporary copy of the pages, figures and MathJax.

    Raises:
        ModuleNotFoundError: a tool of the ``site`` extra is missing (the message names it).
        FileNotFoundError: no lessons, README.md or INSTRUCTORS.md, or no pyproject.toml.
        KeyError, ValueError: as :func:`repository_url`; ValueError also when ``out`` is
            the checkout or inside its notebooks/, figures/ or vae_utils/.
        SiteBuildError: Sphinx failed or warned (a broken link, a missing image, bad
            markup); the message holds Sphinx's warnings.
    """
    missing = _missing_tools()
    if missing:
        raise ModuleNotFoundError(f"building the site needs {', '.join(missing)}; install the "
                                  "site tools with: python -m pip install -e \".[site]\"")
    root = project_root() if root is None else Path(root).resolve()
    out = Path(out).resolve()
    inside = out.parts[len(root.parts)] if root in out.parents else None
    if out == root or inside in {"notebooks", "figures", "vae_utils"}:
        raise ValueError(f"--out {out} would write into the course's own folders; choose a "
                         "folder outside them (for example /tmp/site).")
    repo = repository_url(root)
    with tempfile.TemporaryDirectory(prefix="vae-site-") as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        _prepare_source(root, src, repo)
        cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-j", "1",
               "-d", str(Path(tmp) / "doctrees"), "-c", str(src), str(src), str(out)]
        if quiet:
            cmd.insert(3, "-q")
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp)
        if done.returncode != 0:
            log = (done.stderr + done.stdout).replace(str(src) + os.sep, "")
            raise SiteBuildError(f"the site did not build (Sphinx exit status "
                                 f"{done.returncode}; warnings count as errors):\n{log.strip()}")
    return out / "index.html"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vae_utils.site",
        description="Build the course's website (README, lessons, instructor's guide) with "
                    "Sphinx, myst-nb and sphinx-book-theme, from the committed notebooks, "
                    "without executing them. Warnings (a broken link, a missing image) fail "
                    "the build.")
    parser.add_argument("--out", required=True, type=Path,
                        help="folder for the site; DIR/index.html is the landing page")
    parser.add_argument("--root", type=Path, default=None,
                        help="the course checkout to read (default: the one around the "
                             "working directory)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        index = build_site(args.out, args.root)
    except (SiteBuildError, ModuleNotFoundError, FileNotFoundError, KeyError, ValueError) as err:
        print(f"error: {err.args[0] if isinstance(err, KeyError) else err}", file=sys.stderr)
        return 1
    print(f"Site built in {time.perf_counter() - start:.1f} s: {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
