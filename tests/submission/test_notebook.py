"""grader/submission/notebook.py and notebook loading in grader/submission/files.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader.authoring.failures import LoadError
from grader.engine.in_process import load
from grader.submission.notebook import code_cells


def _nb(*sources: str, markdown: str | None = "# Exercise") -> dict:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": markdown}] if markdown else []
    cells += [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
               "source": s.splitlines(keepends=True)} for s in sources]
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}


def _write(tmp_path: Path, content, name: str = "softmax_ce.ipynb") -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def _load_error(path: Path) -> LoadError:
    with pytest.raises(LoadError) as info:
        load(path, "softmax_ce")
    return info.value


def test_a_notebook_defines_its_functions_and_skips_markdown(tmp_path):
    path = _write(tmp_path, _nb("import numpy as np", "def f(x):\n    return np.sum(x)\n",
                                markdown="def g():\n    pass\n"))
    impl = load(path, "softmax_ce")
    assert impl.f([1, 2]) == 3
    assert not impl.defines("g")
    assert impl.notes == []


def test_code_cells_numbers_cells_as_in_the_notebook():
    raw = json.dumps(_nb("a = 1", "b = 2")).encode()
    cells = code_cells(raw, "x.ipynb")
    assert [(c.index, c.source) for c in cells] == [(2, "a = 1"), (3, "b = 2")]


def test_a_notebook_that_is_not_json_is_a_load_error(tmp_path):
    error = _load_error(_write(tmp_path, '{"cells": [ this is not json'))
    assert error.status == "bad_file"
    assert "softmax_ce.ipynb is not a valid notebook: it is not JSON" in error.message


def test_a_notebook_that_is_not_utf8_is_a_load_error(tmp_path):
    error = _load_error(_write(tmp_path, b'{"cells": ["\xff"]}'))
    assert "not UTF-8" in error.message


@pytest.mark.parametrize("content", [[1, 2], {"cells": {"a": 1}}, {"cells": "x"}, "null", "3"])
def test_json_without_a_list_of_cells_is_a_load_error(tmp_path, content):
    error = _load_error(_write(tmp_path, content if isinstance(content, str)
                               else json.dumps(content)))
    assert error.status == "bad_file"
    assert "has no list of cells" in error.message


def test_a_json_object_with_no_cells_at_all_is_a_load_error(tmp_path):
    """BUG: {"nbformat": 4, "metadata": {}} loads as an empty notebook (every check then says
    `softmax` is not defined) instead of "is not a valid notebook: it has no list of cells"."""
    error = _load_error(_write(tmp_path, {"nbformat": 4, "metadata": {}}))
    assert "has no list of cells" in error.message


@pytest.mark.parametrize("content", [{"worksheets": 5}, {"worksheets": [{"cells": 7}]}])
def test_malformed_worksheets_are_a_load_error_not_a_crash(tmp_path, content):
    """BUG: a malformed nbformat-3 notebook raises TypeError out of load(), which
    grader/grading/grade_class.py does not catch: one student's file stops the grading of
    everyone."""
    error = _load_error(_write(tmp_path, content))
    assert error.status == "bad_file"


def test_an_nbformat3_notebook_with_worksheets_is_loaded(tmp_path):
    nb = {"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [
        {"cells": [{"cell_type": "markdown", "source": ["hi"]},
                   {"cell_type": "code", "language": "python",
                    "input": ["def f():\n", "    return 'v3'\n"], "outputs": []}]},
        {"cells": [{"cell_type": "code", "input": "def g():\n    return f() + '!'\n"}]},
    ]}
    impl = load(_write(tmp_path, nb), "softmax_ce")
    assert impl.f() == "v3"
    assert impl.g() == "v3!"


def test_magics_and_shell_commands_do_not_stop_loading(tmp_path):
    marker = tmp_path / "bash_ran"
    path = _write(tmp_path, _nb(
        "%matplotlib inline\nimport numpy as np\n!ls /\n",
        "files = !ls\nlisted = files\n%time y = 1\n",
        "%%time\ndef timed():\n    return 42\n",
        f"%%bash\ntouch {marker}\n",
        f"%%writefile {tmp_path / 'written.py'}\nprint('x')\n",
        "%load_ext autoreload\n%autoreload 2\n",
        "def after_magics():\n    return listed\n",
    ))
    impl = load(path, "softmax_ce")
    assert impl.timed() == 42  # a %%time cell's body runs
    assert impl.after_magics() == []  # `x = !ls` gets an (empty) list
    assert not marker.exists()  # a %%bash cell does not run
    assert not (tmp_path / "written.py").exists()
    assert impl.notes == []


def test_a_plotting_cell_loads_headless(tmp_path):
    path = _write(tmp_path, _nb(
        "import matplotlib.pyplot as plt\nimport numpy as np\n",
        "fig, ax = plt.subplots()\nax.plot([0, 1], [1, 0])\nplt.show()\nplt.close(fig)\n",
        "def f():\n    return 'plotted'\n",
    ))
    impl = load(path, "softmax_ce")
    assert impl.f() == "plotted"
    assert impl.notes == []


def test_a_failing_cell_is_skipped_with_a_note_and_later_cells_still_run(tmp_path):
    path = _write(tmp_path, _nb(
        "def f():\n    return 1\n",
        "undefined_name + 1\n",
        "def broken(:\n",
        "import sys\nsys.exit(0)\n",
        "def g():\n    return f() + 1\n",
    ))
    impl = load(path, "softmax_ce")
    assert impl.g() == 2
    assert len(impl.notes) == 3
    assert impl.notes[0] == ("cell 3 of softmax_ce.ipynb raised NameError and was skipped: "
                             "name 'undefined_name' is not defined.")
    assert "cell 4 of softmax_ce.ipynb has a syntax error and was skipped" in impl.notes[1]
    assert "cell 5 of softmax_ce.ipynb raised SystemExit" in impl.notes[2]


def test_a_check_call_inside_a_graded_notebook_is_a_no_op(tmp_path):
    path = _write(tmp_path, _nb(
        "from grader import check\nresult = check('softmax_ce')\n",
        "def f():\n    return result\n",
    ))
    impl = load(path, "softmax_ce")
    assert impl.f() is None
    assert impl.notes == []


def test_notebook_output_does_not_reach_stdout(tmp_path, capsys):
    path = _write(tmp_path, _nb("print('from the notebook')\n", "1/0\n"))
    load(path, "softmax_ce")
    out, err = capsys.readouterr()
    assert "from the notebook" not in out
    assert "ZeroDivisionError" not in err
