"""The course command: execute every notebook top to bottom, headless.

    python -m vae_utils.course            # run the course; figures land in figures/
    python -m vae_utils.course --inplace  # ... and write the fresh outputs into the notebooks
    python -m vae_utils.course notebooks/02_variational_autoencoder.ipynb   # just one

Each notebook runs in a fresh kernel from its own folder, as a learner would run it.
The command prints each notebook's wall-clock time and stops at the first error,
naming the notebook and the failing cell. Progress bars are switched off
(``VAE_PROGRESS=0``, read by ``fit``) so the committed outputs read cleanly on GitHub.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from . import _checks
from ._env import project_root

__all__ = ["execute_notebook", "find_notebooks", "main", "project_root", "run_notebook"]


def find_notebooks(root: Path) -> list[Path]:
    """The course notebooks in order: ``notebooks/*.ipynb``, then ``notebooks/solutions/``
    (an empty list if ``root`` has no ``notebooks/`` folder)."""
    nb = Path(root) / "notebooks"
    return sorted(nb.glob("*.ipynb")) + sorted((nb / "solutions").glob("*.ipynb"))


def execute_notebook(path: Path, *, timeout: int = 900):
    """Execute one notebook in a fresh kernel, from its own folder, and return it.

    The kernel inherits this process's environment (``VAE_DATA_DIR``,
    ``VAE_FIGURES_DIR``, ...; see :func:`kernel_env` for the solved notebooks). Its own
    log lines on stderr (such as ipykernel's warning about unencrypted local TCP) are
    discarded; errors in cells still come back as exceptions.

    Returns:
        ``(notebook, seconds)``: the executed ``nbformat`` notebook (not written to
        disk) and the wall-clock seconds.

    Raises:
        FileNotFoundError: no such notebook.
        ValueError: ``path`` is not an ``.ipynb`` file, or ``timeout`` is not a positive
            integer.
        nbformat.reader.NotJSONError: the file is not a notebook (not JSON).
        nbclient.exceptions.CellExecutionError: a cell failed (its traceback is in the
            message).
    """
    import nbformat
    from nbclient import NotebookClient

    path = _check_notebook(path, timeout)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute(stderr=subprocess.DEVNULL, env=kernel_env(path))
    return nb, time.perf_counter() - start


def kernel_env(path: Path | str) -> dict[str, str]:
    """The environment of the kernel that runs ``path``: this process's, and for a solved
    notebook (``notebooks/solutions/``) also ``NBGRADER_EXECUTION=autograde``, the setting
    under which nbgrader's autograder runs it. Every check cell then raises when its answer
    does not pass (:func:`vae_utils._env.grading`), so running the solved
    notebooks proves that each checker accepts its solution."""
    env = dict(os.environ)
    if Path(path).parent.name == "solutions":
        env["NBGRADER_EXECUTION"] = "autograde"
    else:
        env.pop("NBGRADER_EXECUTION", None)
    return env


def _check_notebook(path: Path | str, timeout: int) -> Path:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no notebook at {path}; check the path (notebooks/NN_name.ipynb).")
    if path.suffix != ".ipynb":
        raise ValueError(f"{path} is not a Jupyter notebook (.ipynb).")
    _checks.positive_int(timeout, "timeout (seconds per cell)")
    return path


def run_notebook(path: Path, *, inplace: bool = False, timeout: int = 900) -> float:
    """Execute one notebook (see :func:`execute_notebook`); with ``inplace`` write the
    fresh outputs back into the file.

    Returns:
        Wall-clock seconds.

    Raises:
        The errors of :func:`execute_notebook`.
    """
    import nbformat

    nb, seconds = execute_notebook(path, timeout=timeout)
    if inplace:
        nbformat.write(nb, path)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vae_utils.course",
                                     description="Execute the course notebooks top to bottom.")
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks to run (default: all of them, in order)")
    parser.add_argument("--inplace", action="store_true",
                        help="write the fresh outputs back into the notebook files")
    parser.add_argument("--timeout", type=int, default=900, help="seconds allowed per cell")
    args = parser.parse_args(argv)
    if args.timeout < 1:
        parser.error(f"--timeout must be a positive number of seconds; got {args.timeout}.")

    os.environ.setdefault("VAE_PROGRESS", "0")  # no progress bars: the kernels inherit this
    os.environ.setdefault("PYTHONHASHSEED", "0")
    paths = [p.resolve() for p in args.notebooks] or find_notebooks(project_root())
    if not paths:
        print("no notebooks found", file=sys.stderr)
        return 1
    from nbclient.exceptions import CellExecutionError

    total = 0.0
    for path in paths:
        if not path.is_file():
            print(f"FAILED {path}: no such notebook", file=sys.stderr)
            return 1
        try:
            seconds = run_notebook(path, inplace=args.inplace, timeout=args.timeout)
        except CellExecutionError as err:
            print(f"{path.name:45s} FAILED", flush=True)
            print(f"\nFAILED: {path} stopped with an error:\n{err}", file=sys.stderr)
            return 1
        except ValueError as err:  # not a notebook (.ipynb, JSON)
            print(f"FAILED {path}: {err}", file=sys.stderr)
            return 1
        total += seconds
        # printed after the run, so a kernel's own log lines cannot split the row
        print(f"{path.name:45s} {seconds:6.1f} s" + ("  (outputs written)" if args.inplace else ""),
              flush=True)
    print(f"{'total':45s} {total:6.1f} s for {len(paths)} notebook(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
