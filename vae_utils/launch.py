"""Launch badges and a first cell that installs the course: generated from one address.

The course's public repository is written once, as ``Repository`` under ``[project.urls]``
in ``pyproject.toml``. From it this module writes, into every notebook of the course
(``notebooks/*.ipynb`` and ``notebooks/solutions/*.ipynb``, new ones included):

* an "Open in Colab" and a "Launch Binder" badge, on the line after the title of the first
  markdown cell (the title stays the first line: GitHub and the website show it as the
  page's title);
* at the top of the setup cell (the first code cell), a guarded install of the course
  package, as the UvA deep-learning notebooks and pyprobml do::

      try:
          import vae_utils
      except ModuleNotFoundError:  # on Colab, for example: install the course package
          %pip install --quiet "vae-utils @ git+https://github.com/OWNER/REPO"

  Where the course is installed (a checkout set up as the README says) the import
  succeeds and the cell prints nothing, so the committed outputs stay valid.

Run from the course folder::

    python -m vae_utils.launch          # rewrite the badges and install lines
    python -m vae_utils.launch --check  # only name the notebooks that disagree (exit 1)

Moving the repository is then a one-line change in ``pyproject.toml`` and one command.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ._env import project_root
from .course import find_notebooks

__all__ = ["BINDER_BADGE", "BRANCH", "COLAB_BADGE", "DIST_NAME", "apply", "badge_line",
           "github_repo", "install_cell_head", "install_spec", "main", "read_repository",
           "stale_notebooks", "update"]

#: The distribution name of the course package (``[project] name`` in pyproject.toml).
DIST_NAME = "vae-utils"

#: The branch the badges open.
BRANCH = "main"

#: The standard badge images of Colab and Binder.
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
BINDER_BADGE = "https://mybinder.org/badge_logo.svg"

_GITHUB = re.compile(r"^https://github\.com/(?P<owner>[A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/"
                     r"(?P<repo>[A-Za-z0-9._-]+?)(?:\.git)?/?$")

#: A line written by :func:`badge_line` (whatever address it was generated from).
_BADGE_LINE = re.compile(r"^\[!\[Open In Colab\]\(" + re.escape(COLAB_BADGE) + r"\)\].*\n?",
                         re.MULTILINE)

#: The block written by :func:`install_cell_head` (whatever address), at the top of a cell.
_INSTALL_HEAD = re.compile(r"\Atry:\n    import vae_utils\nexcept ModuleNotFoundError:[^\n]*\n"
                           r"    %pip install [^\n]*\n(\n)?")


def read_repository(root: Path | str | None = None) -> str:
    """The course's repository address: ``[project.urls] Repository`` of the
    ``pyproject.toml`` of the checkout at or above ``root`` (default: the working directory).

    Returns:
        The address as written, e.g. ``"https://github.com/vae-course/vae-course"``.

    Raises:
        FileNotFoundError: no course checkout at or above ``root``.
        KeyError: ``pyproject.toml`` has no ``Repository`` under ``[project.urls]``.
        ValueError: the address is not a GitHub repository (see :func:`github_repo`).
    """
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]

    path = project_root(root) / "pyproject.toml"
    with path.open("rb") as f:
        urls = tomllib.load(f).get("project", {}).get("urls", {})
    if "Repository" not in urls:
        raise KeyError(f"{path} has no Repository address: add it under [project.urls], e.g. "
                       'Repository = "https://github.com/OWNER/REPO".')
    github_repo(urls["Repository"])  # fail early on an address the badges cannot use
    return urls["Repository"]


def github_repo(url: str) -> tuple[str, str]:
    """``(owner, name)`` of a GitHub repository address ``https://github.com/OWNER/REPO``
    (a trailing ``.git`` or ``/`` is allowed).

    Raises:
        ValueError: ``url`` is not of that form (Colab and Binder open GitHub repositories
            by owner and name).
    """
    match = _GITHUB.match(str(url).strip())
    if not match:
        raise ValueError(f"the repository address must look like https://github.com/OWNER/REPO "
                         f"(Colab and Binder open notebooks from GitHub); got {url!r}. Fix "
                         "Repository under [project.urls] in pyproject.toml.")
    return match["owner"], match["repo"]


def install_spec(url: str) -> str:
    """What ``pip install`` gets in the setup cell: ``"vae-utils @ git+<url>"``."""
    owner, repo = github_repo(url)
    return f"{DIST_NAME} @ git+https://github.com/{owner}/{repo}"


def install_cell_head(url: str) -> str:
    """The guarded install that opens the setup cell (ends with a blank line)."""
    return ("try:\n"
            "    import vae_utils\n"
            "except ModuleNotFoundError:  # on Colab, for example: install the course package\n"
            f'    %pip install --quiet "{install_spec(url)}"\n'
            "\n")


def badge_line(url: str, notebook: str) -> str:
    """The markdown line of the two badges for ``notebook``, a path relative to the
    repository root such as ``notebooks/01_autoencoder.ipynb``."""
    owner, repo = github_repo(url)
    notebook = Path(notebook).as_posix()
    colab = f"https://colab.research.google.com/github/{owner}/{repo}/blob/{BRANCH}/{notebook}"
    binder = f"https://mybinder.org/v2/gh/{owner}/{repo}/{BRANCH}?labpath={quote(notebook, safe='')}"
    return f"[![Open In Colab]({COLAB_BADGE})]({colab}) [![Launch Binder]({BINDER_BADGE})]({binder})"


def _first(cells: list, kind: str, where: str) -> Any:
    for cell in cells:
        if cell.cell_type == kind:
            return cell
    raise ValueError(f"{where} has no {kind} cell: a course notebook opens with a title "
                     "(markdown) and has a setup cell (the first code cell).")


def apply(nb: Any, url: str, notebook: str) -> bool:
    """Write the badges and the guarded install generated from ``url`` into ``nb`` (an
    ``nbformat`` notebook, changed in place), replacing any earlier ones. Outputs, cell ids
    and metadata are kept.

    Args:
        nb: the notebook.
        url: the repository address (see :func:`github_repo`).
        notebook: the notebook's path relative to the repository root (for the links).

    Returns:
        Whether anything changed.

    Raises:
        ValueError: ``url`` is not a GitHub address, or ``nb`` has no markdown or no code
            cell.
    """
    title = _first(nb.cells, "markdown", notebook)
    setup = _first(nb.cells, "code", notebook)
    before = (title.source, setup.source)

    lines = _BADGE_LINE.sub("", title.source).split("\n")
    at = 1 if lines and lines[0].startswith("# ") else 0  # after the title, if there is one
    rest = lines[at:]
    while rest and not rest[0].strip():  # one blank line either side of the badges
        rest.pop(0)
    head = lines[:at] + ([""] if at else [])
    title.source = "\n".join(head + [badge_line(url, notebook), ""] + rest).rstrip("\n")

    setup.source = install_cell_head(url) + _INSTALL_HEAD.sub("", setup.source, count=1)
    return (title.source, setup.source) != before


def stale_notebooks(root: Path | str | None = None, url: str | None = None) -> list[Path]:
    """The course notebooks whose badges or install line disagree with ``url`` (default:
    the address in ``pyproject.toml``); nothing is written."""
    return _visit(root, url, write=False)


def update(root: Path | str | None = None, url: str | None = None) -> list[Path]:
    """Rewrite the badges and install lines of every course notebook that disagrees with
    ``url`` (default: the address in ``pyproject.toml``).

    Returns:
        The notebooks written.
    """
    return _visit(root, url, write=True)


def _visit(root: Path | str | None, url: str | None, write: bool) -> list[Path]:
    """The notebooks that :func:`apply` changes; written back when ``write``."""
    import nbformat

    root = project_root(root)
    url = url or read_repository(root)
    changed = []
    for path in find_notebooks(root):
        nb = nbformat.read(path, as_version=4)
        if apply(nb, url, path.relative_to(root).as_posix()):
            if write:
                nbformat.write(nb, path)
            changed.append(path)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vae_utils.launch",
        description="Write the Colab and Binder badges and the guarded install of the course "
                    "package into every notebook, from [project.urls] Repository in "
                    "pyproject.toml.")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; name each notebook that disagrees and exit 1")
    args = parser.parse_args(argv)
    try:
        root = project_root()
        url = read_repository(root)
    except (FileNotFoundError, KeyError, ValueError) as err:
        print(f"error: {err.args[0] if isinstance(err, KeyError) else err}", file=sys.stderr)
        return 1
    if args.check:
        stale = stale_notebooks(root, url)
        for path in stale:
            print(f"{path.relative_to(root)}: badges or install line disagree with {url}; "
                  "run python -m vae_utils.launch", file=sys.stderr)
        return 1 if stale else 0
    for path in update(root, url):
        print(f"updated {path.relative_to(root)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
