"""Launch buttons and a first cell that installs the course, generated from one address
(``[project.urls] Repository`` in pyproject.toml; ``vae_utils.launch``); and the package
that installs anywhere: a wheel and an sdist that twine accepts, installed (not editable)
in a fresh environment that holds only what Colab ships, running lessons from outside the
checkout.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from datetime import datetime
from pathlib import Path

import nbformat
import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from vae_utils import _env, launch
from vae_utils.course import find_notebooks

ROOT = _env.project_root(Path(__file__).parent)
NOTEBOOKS = find_notebooks(ROOT)


def _repository(root: Path = ROOT) -> str:
    with (root / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)["project"]["urls"]["Repository"]


def _first(nb, kind):
    return next(c for c in nb.cells if c.cell_type == kind)


# ------------------------------------------------------------------ the committed notebooks


def test_the_address_is_written_once_in_pyproject():
    owner, repo = launch.github_repo(_repository())
    assert launch.read_repository(ROOT) == _repository()
    assert owner and repo


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_notebook_opens_with_badges_and_a_guarded_install_from_that_address(path):
    url = _repository()
    owner, repo = re.match(r"https://github\.com/([^/]+)/([^/]+?)/?$", url).groups()
    rel = path.relative_to(ROOT).as_posix()
    nb = nbformat.read(path, as_version=4)
    title = _first(nb, "markdown").source.splitlines()
    assert title[0].startswith("# "), "the title stays the first line of the first cell"
    colab = f"https://colab.research.google.com/github/{owner}/{repo}/blob/main/{rel}"
    binder = f"https://mybinder.org/v2/gh/{owner}/{repo}/main?labpath={rel.replace('/', '%2F')}"
    assert title[2] == (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
                        f"({colab}) [![Launch Binder](https://mybinder.org/badge_logo.svg)]({binder})"), \
        f"{path.name}: badges disagree with {url}; run python -m vae_utils.launch"
    setup = _first(nb, "code").source.splitlines()
    assert setup[:2] == ["try:", "    import vae_utils"], path.name
    assert setup[2].startswith("except ModuleNotFoundError:"), path.name
    assert setup[3] == f'    %pip install --quiet "vae-utils @ git+https://github.com/{owner}/{repo}"', \
        f"{path.name}: install line disagrees with {url}; run python -m vae_utils.launch"
    # one guarded install, and only in the setup cell
    everything = "\n".join(c.source for c in nb.cells)
    assert everything.count("%pip install") == 1, path.name


def test_launch_check_passes_on_the_checkout():
    assert launch.stale_notebooks(ROOT) == []


# --------------------------------------------------------------------------- the tool


def _checkout(tmp_path: Path) -> Path:
    """A small course checkout in tmp: pyproject.toml, a lesson and its solved source."""
    root = tmp_path / "course"
    (root / "notebooks" / "solutions").mkdir(parents=True)
    shutil.copy(ROOT / "pyproject.toml", root)
    for path in (NOTEBOOKS[0], next(p for p in NOTEBOOKS if p.parent.name == "solutions")):
        shutil.copy(path, root / path.relative_to(ROOT))
    return root


def test_moving_the_repository_is_a_one_line_change(tmp_path, monkeypatch, capsys):
    root = _checkout(tmp_path)
    lesson = root / NOTEBOOKS[0].relative_to(ROOT)
    before = nbformat.read(lesson, as_version=4)
    monkeypatch.chdir(root)
    assert launch.main(["--check"]) == 0

    # a new lesson, as another engineer adds one: no badges, no install line yet
    new = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 10 · A new lesson\n\nText."),
                                          nbformat.v4.new_code_cell("import vae_utils as vu")])
    nbformat.write(new, root / "notebooks" / "10_new_lesson.ipynb")
    assert launch.main(["--check"]) == 1
    assert "10_new_lesson.ipynb" in capsys.readouterr().err

    pyproject = root / "pyproject.toml"
    old = _repository(root)
    text = pyproject.read_text()
    assert text.count(f'Repository = "{old}"') == 1
    pyproject.write_text(text.replace(f'Repository = "{old}"',
                                      'Repository = "https://github.com/someone-else/vae-fork"'))
    assert launch.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert all(name in err for name in ("01_autoencoder.ipynb", "01_autoencoder_solutions.ipynb",
                                        "10_new_lesson.ipynb")), err

    assert launch.main([]) == 0
    assert launch.main(["--check"]) == 0
    for path in sorted((root / "notebooks").rglob("*.ipynb")):
        text = path.read_text()
        assert "someone-else/vae-fork" in text and old.split("github.com/")[1] not in text, path.name
    after = nbformat.read(lesson, as_version=4)
    assert "colab.research.google.com/github/someone-else/vae-fork/blob/main/notebooks/01_autoencoder.ipynb" in after.cells[0].source
    # nothing else moved: cell ids, outputs, execution counts, every other cell
    assert [c.get("id") for c in after.cells] == [c.get("id") for c in before.cells]
    setup = next(i for i, c in enumerate(before.cells) if c.cell_type == "code")
    for i, (a, b) in enumerate(zip(before.cells, after.cells)):
        assert a.get("outputs") == b.get("outputs") and a.get("execution_count") == b.get("execution_count")
        if i not in (0, setup):
            assert a == b, f"cell {i} changed"
    # the original source under the generated lines is kept as it was
    assert after.cells[setup].source.endswith(before.cells[setup].source.split("\n\n", 1)[1])
    made = nbformat.read(root / "notebooks" / "10_new_lesson.ipynb", as_version=4)
    assert made.cells[0].source.startswith("# 10 · A new lesson\n\n[![Open In Colab]")
    assert made.cells[0].source.endswith("\n\nText.")
    assert made.cells[1].source.endswith('vae-fork"\n\nimport vae_utils as vu')

    # a second run changes nothing, byte for byte
    snapshot = {p: p.read_bytes() for p in (root / "notebooks").rglob("*.ipynb")}
    assert launch.main([]) == 0
    assert {p: p.read_bytes() for p in snapshot} == snapshot


def test_an_address_the_badges_cannot_use_is_refused(tmp_path, monkeypatch, capsys):
    for bad in ("https://gitlab.com/vae-course/vae-course", "github.com/vae-course/vae-course",
                "https://github.com/vae-course", "https://github.com/a/b/tree/main"):
        with pytest.raises(ValueError, match="https://github.com/OWNER/REPO"):
            launch.github_repo(bad)
    assert launch.github_repo("https://github.com/a-b/c.d.git") == ("a-b", "c.d")
    root = _checkout(tmp_path)
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(re.sub(r'(?m)^Repository = .*\n', "", text))
    with pytest.raises(KeyError, match=r"\[project.urls\]"):
        launch.read_repository(root)
    monkeypatch.chdir(root)
    assert launch.main(["--check"]) == 1
    assert "has no Repository address" in capsys.readouterr().err
    pyproject.write_text(text.replace(f'"{_repository(ROOT)}"', '"https://gitlab.com/x/y"'))
    assert launch.main([]) == 1
    assert "https://github.com/OWNER/REPO" in capsys.readouterr().err
    monkeypatch.chdir(tmp_path)
    assert launch.main(["--check"]) == 1
    assert "no course checkout" in capsys.readouterr().err


def test_the_pip_magic_runs_inside_the_except_block_in_a_kernel(tmp_path):
    # IPython's input transformer turns an indented %pip line into a call, so the guarded
    # install is valid cell code: installed, the cell prints nothing; missing, %pip runs.
    from nbclient import NotebookClient

    head = launch.install_cell_head(_repository())
    missing = (head.replace("import vae_utils", "import vae_utils_not_installed_here")
               .replace(f'install --quiet "{launch.install_spec(_repository())}"', "--version"))
    assert missing.count("%pip --version") == 1
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(head + "print('ready')"),
                                         nbformat.v4.new_code_cell(missing + "print('ready')")])
    NotebookClient(nb, timeout=120, kernel_name="python3").execute(cwd=str(tmp_path))
    first, second = ("".join(o.get("text", "") for o in c.outputs) for c in nb.cells)
    assert first == "ready\n"  # vae_utils is installed here: no install, no output
    assert re.match(r"pip \d+\.\d+.* from .*\nready\n$", second, re.S), second


# ------------------------------------------------- a package that installs anywhere (slow)

_NOT_COPIED = shutil.ignore_patterns(".git", "__pycache__", "*.pyc", "*.egg-info", "build",
                                     "dist", ".venv", "venv", ".ci-venv", ".pytest_cache")


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    """``(wheel, sdist)`` built by ``python -m build`` (isolated, as a maintainer builds a
    release) from a copy of the checkout, so the checkout itself is left as it was."""
    src = tmp_path_factory.mktemp("src") / "course"
    shutil.copytree(ROOT, src, ignore=_NOT_COPIED)
    out = tmp_path_factory.mktemp("dist")
    run = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(src)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "deprecated" not in run.stdout + run.stderr, "the build warns: see its output"
    wheels, sdists = sorted(out.glob("*.whl")), sorted(out.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, sorted(p.name for p in out.iterdir())
    return wheels[0], sdists[0]


def _package_files() -> set[str]:
    """Every file of vae_utils/ in the checkout (modules and data), as wheel paths."""
    return {p.relative_to(ROOT).as_posix() for p in (ROOT / "vae_utils").rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}


@pytest.mark.slow
def test_the_wheel_and_the_sdist_pass_twine_check_and_hold_the_whole_package(dist):
    import tarfile

    wheel, sdist = dist
    run = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", str(wheel), str(sdist)],
                         capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.count("PASSED") == 2, run.stdout + run.stderr
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        meta = z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert {n for n in names if n.startswith("vae_utils/")} == _package_files()
    assert f"Project-URL: Repository, {_repository()}" in meta
    assert "Description-Content-Type: text/markdown" in meta
    assert "# Variational autoencoders in PyTorch" in meta  # the README is the long description
    with tarfile.open(sdist) as t:
        top = t.getnames()[0].split("/")[0]
        in_sdist = {n.split("/", 1)[1] for n in t.getnames() if "/" in n}
    assert _package_files() <= in_sdist and {"README.md", "pyproject.toml"} <= in_sdist, top


def _probe_cell():
    # appended to the copy of the lesson: where the kernel's vae_utils and Python come from
    return nbformat.v4.new_code_cell("import sys\nimport vae_utils\n"
                                     "print('VAE_UTILS', vae_utils.__file__)\n"
                                     "print('PYTHON', sys.executable)")


def _probe(nb) -> dict[str, str]:
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    return dict(line.split(" ", 1) for line in text.splitlines() if " " in line)


@pytest.mark.slow
def test_a_colab_like_environment_installs_the_wheel_from_the_setup_cell_and_runs_lessons(
        dist, tmp_path, monkeypatch):
    """A fresh venv holding only what Colab ships (and ipykernel) runs lesson 01 through its
    guarded install, pointed at the built wheel instead of the network; the same venv, now
    holding the wheel installed (not editable), runs the lesson with the course command from a
    folder outside any checkout, and its figures land in that folder, not in site-packages."""
    import torch
    import torchvision
    from nbclient import NotebookClient

    wheel, _ = dist
    times = {}
    env = {k: v for k, v in os.environ.items()
           if k not in ("VAE_FIGURES_DIR", "JUPYTER_PATH", "VIRTUAL_ENV", "PYTHONPATH")}
    env.update(VAE_OFFLINE="1", VAE_PROGRESS="0", OMP_NUM_THREADS="1",
               VAE_DATA_DIR=str(tmp_path / "data"))
    start = time.perf_counter()
    venv = tmp_path / "colab"
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pins = [f"torch=={torch.__version__.split('+')[0]}",
            f"torchvision=={torchvision.__version__.split('+')[0]}"]
    colab = ["numpy", "matplotlib", "scikit-learn", "ipywidgets", "tqdm", "imageio", "ipykernel"]
    run = subprocess.run([str(python), "-m", "pip", "install", "--quiet", *pins, *colab],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    times["Colab-like venv"] = time.perf_counter() - start
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # (from tmp: run from the checkout, Python would find vae_utils/ in the working folder)
    assert subprocess.run([str(python), "-c", "import vae_utils"], capture_output=True, cwd=tmp_path,
                          env=env).returncode != 0, \
        "vae_utils must not be importable in the fresh venv before the setup cell runs"

    # a kernel of that venv, known to Jupyter under its own name
    jupyter = tmp_path / "jupyter"
    subprocess.run([str(python), "-m", "ipykernel", "install", "--prefix", str(jupyter),
                    "--name", "colab-like"], check=True, capture_output=True)

    # 1. The lesson through its setup cell, the install pointed at the wheel.
    url = _repository()
    nb = nbformat.read(ROOT / "notebooks" / "01_autoencoder.ipynb", as_version=4)
    setup = _first(nb, "code")
    assert setup.source.count(launch.install_spec(url)) == 1
    setup.source = setup.source.replace(launch.install_spec(url), f"vae-utils @ {wheel.as_uri()}")
    nb.cells.append(_probe_cell())
    work = tmp_path / "colab-work"
    work.mkdir()
    figures = tmp_path / "figures-from-env"
    checkout_figures = {p: p.stat().st_mtime_ns for p in (ROOT / "figures").glob("*")}
    start = time.perf_counter()
    monkeypatch.setenv("JUPYTER_PATH", str(jupyter / "share" / "jupyter"))  # finds the kernel
    client = NotebookClient(nb, timeout=900, kernel_name="colab-like",
                            resources={"metadata": {"path": str(work)}})
    client.execute(env={**env, "VAE_FIGURES_DIR": str(figures)})
    times["lesson 01 through the install cell"] = time.perf_counter() - start
    stamps = setup.metadata["execution"]  # nbclient's record of the setup cell (the install)
    times["of which the setup cell"] = (datetime.fromisoformat(stamps["shell.execute_reply"].replace("Z", "+00:00"))
                                        - datetime.fromisoformat(stamps["iopub.execute_input"].replace("Z", "+00:00"))).total_seconds()
    probe = _probe(nb)
    assert Path(probe["PYTHON"]).parent == python.parent, probe  # the venv's own kernel
    assert Path(probe["VAE_UTILS"]).is_relative_to(site), probe  # installed by the setup cell
    assert not Path(probe["VAE_UTILS"]).is_relative_to(ROOT), probe
    setup_text = "".join(o.get("text", "") for o in setup.outputs)
    assert "OFFLINE FALLBACK" in setup_text, setup_text
    print("setup cell printed:", setup_text)
    made = sorted(p.name for p in figures.glob("01_*.png"))
    assert "01_training_digits.png" in made and len(made) >= 3, made
    direct = json.loads(next(site.glob("vae_utils-*.dist-info")).joinpath("direct_url.json").read_text())
    assert direct["url"] == wheel.as_uri() and not direct.get("dir_info", {}).get("editable"), direct

    # 2. The course command of the installed wheel, from a folder outside any checkout, with
    #    the lesson as committed (its setup cell finds vae_utils and installs nothing).
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    with pytest.raises(FileNotFoundError):
        _env.project_root(outside)
    copy = outside / "01_autoencoder.ipynb"
    nb = nbformat.read(ROOT / "notebooks" / "01_autoencoder.ipynb", as_version=4)
    nb.cells.append(_probe_cell())
    nbformat.write(nb, copy)
    start = time.perf_counter()
    run = subprocess.run([str(python), "-m", "vae_utils.course", "--inplace", copy.name],
                         cwd=outside, env=env, capture_output=True, text=True)
    times["lesson 01 by the course command"] = time.perf_counter() - start
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    done = nbformat.read(copy, as_version=4)
    probe = _probe(done)
    assert Path(probe["VAE_UTILS"]).is_relative_to(site) and Path(probe["PYTHON"]).parent == python.parent, probe
    setup_out = "".join(o.get("text", "") for o in _first(done, "code").outputs)
    assert "pip" not in setup_out.lower(), setup_out  # installed: the guard installs nothing
    assert (outside / "figures" / "01_training_digits.png").is_file(), sorted(outside.rglob("*.png"))
    written = [p for p in venv.rglob("01_*") if p.suffix in (".png", ".gif")]  # the lesson's
    assert not written, f"figures written into the environment: {written[:5]}"
    assert {p: p.stat().st_mtime_ns for p in (ROOT / "figures").glob("*")} == checkout_figures
    print({k: f"{v:.0f} s" for k, v in times.items()})


def test_binder_installs_the_course_from_environment_yml():
    # repo2docker (Binder) installs environment.yml before copying the repository in, unless
    # its pip section holds a local requirement such as `-e .`; then it copies the repository
    # first (repo2docker's CondaBuildPack._should_preassemble_env, PR #743). Without it,
    # Binder would build an environment without the course package.
    lines = [line.split("#", 1)[0].strip() for line in (ROOT / "environment.yml").read_text().splitlines()]
    assert "- -e ." in lines, "environment.yml must pip-install the course with -e ."
    assert not (ROOT / "binder").exists() and not (ROOT / ".binder").exists(), \
        "a binder/ folder would make repo2docker ignore environment.yml at the top"
