"""The course command: runs notebooks in order, reports times, names the failing notebook."""

import nbformat
import pytest

from vae_utils.course import execute_notebook, find_notebooks, main, project_root


def _notebook(path, *sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def test_finds_notebooks_in_order(tmp_path):
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "notebooks" / "solutions").mkdir(parents=True)
    for name in ("02_b.ipynb", "01_a.ipynb", "solutions/01_a_solutions.ipynb"):
        _notebook(tmp_path / "notebooks" / name, "1")
    assert project_root(tmp_path / "notebooks") == tmp_path
    assert [p.name for p in find_notebooks(tmp_path)] == ["01_a.ipynb", "02_b.ipynb",
                                                          "01_a_solutions.ipynb"]


@pytest.mark.slow  # starts two kernels
def test_runs_in_place_and_stops_at_the_failing_notebook(tmp_path, capsys):
    good = _notebook(tmp_path / "good.ipynb", "import os\nprint(os.getcwd())")
    bad = _notebook(tmp_path / "bad.ipynb", "raise ValueError('boom')")
    never = _notebook(tmp_path / "never.ipynb", "print('ran')")
    assert main([str(good), "--inplace"]) == 0
    out = capsys.readouterr().out
    assert "good.ipynb" in out and " s" in out and "total" in out
    executed = nbformat.read(good, as_version=4)
    assert executed.cells[0].outputs[0]["text"].strip() == str(tmp_path)  # ran from its folder
    assert executed.cells[0].execution_count == 1
    assert main([str(bad), str(never)]) == 1
    captured = capsys.readouterr()
    assert "FAILED" in captured.out and f"{bad}" in captured.err and "boom" in captured.err
    assert "never.ipynb" not in captured.out
    assert nbformat.read(never, as_version=4).cells[0].outputs == []


def test_missing_notebook(tmp_path):
    assert main([str(tmp_path / "nope.ipynb")]) == 1


def test_project_root_outside_a_checkout(tmp_path):
    with pytest.raises(FileNotFoundError, match="course checkout"):
        project_root(tmp_path)


# ---------------------------------------------------------------- bad input
# Bad input: each hostile input either gives the correct result or an error of the
# documented type whose message says what was wrong and how to fix it.


def test_course_refuses_what_is_not_a_notebook(tmp_path, capsys):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ValueError, match="not a Jupyter notebook"):
        execute_notebook(text)
    with pytest.raises(FileNotFoundError, match="no notebook"):
        execute_notebook(str(tmp_path / "missing.ipynb"))
    assert main([str(text)]) == 1
    assert "not a Jupyter notebook" in capsys.readouterr().err
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json")
    assert main([str(broken)]) == 1
