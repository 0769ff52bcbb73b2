"""grader/submission/files.py: finding a student's exercise file and loading a .py file."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from grader.authoring.failures import LoadError, NotAttempted
from grader.engine.in_process import load
from grader.submission.files import find_exercise_file

GOOD = """import numpy as np

print("loading softmax_ce")


def softmax(logits):
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)
"""


def _write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def _load_error(path: Path, exercise: str = "softmax_ce") -> LoadError:
    with pytest.raises(LoadError) as info:
        load(path, exercise)
    return info.value


# -- find_exercise_file ---------------------------------------------------------------------

def test_find_in_the_folder_and_in_its_exercises_subfolder(tmp_path):
    assert find_exercise_file(tmp_path, "softmax_ce") is None
    sub = _write(tmp_path / "exercises" / "softmax_ce.py", GOOD)
    assert find_exercise_file(tmp_path, "softmax_ce") == sub
    top = _write(tmp_path / "softmax_ce.py", GOOD)
    assert find_exercise_file(tmp_path, "softmax_ce") == top


def test_find_prefers_py_to_ipynb(tmp_path):
    nb = _write(tmp_path / "softmax_ce.ipynb", '{"cells": []}')
    assert find_exercise_file(tmp_path, "softmax_ce") == nb
    py = _write(tmp_path / "softmax_ce.py", GOOD)
    assert find_exercise_file(tmp_path, "softmax_ce") == py
    sub_nb = _write(tmp_path / "exercises" / "xor_net.ipynb", '{"cells": []}')
    _write(tmp_path / "exercises" / "xor_net.py", GOOD)
    assert find_exercise_file(tmp_path, "xor_net") == sub_nb.with_suffix(".py")


def test_find_ignores_other_names_and_folders_named_like_the_file(tmp_path):
    _write(tmp_path / "softmax_ce_v2.py", GOOD)
    _write(tmp_path / "Softmax_CE.txt", GOOD)
    (tmp_path / "softmax_ce.py").mkdir()
    assert find_exercise_file(tmp_path, "softmax_ce") is None


# -- load(): .py files ----------------------------------------------------------------------

def test_load_a_good_file_defines_its_functions(tmp_path):
    import numpy as np

    path = _write(tmp_path / "softmax_ce.py", GOOD)
    impl = load(path, "softmax_ce")
    assert impl.exercise == "softmax_ce"
    assert impl.defines("softmax") and not impl.defines("softmax_cross_entropy")
    p = impl.softmax(np.array([[0.0, 0.0]]))
    assert p.tolist() == [[0.5, 0.5]]
    assert impl.notes == []


def test_output_printed_while_loading_does_not_reach_stdout(tmp_path, capsys):
    path = _write(tmp_path / "softmax_ce.py",
                  GOOD + "import sys\nprint('to stderr', file=sys.stderr)\n")
    load(path, "softmax_ce")
    out, err = capsys.readouterr()
    assert "loading softmax_ce" not in out
    assert "to stderr" not in err


def test_syntax_error_is_a_load_error_with_the_line(tmp_path):
    path = _write(tmp_path / "softmax_ce.py", "import numpy as np\n\ndef softmax(x:\n    pass\n")
    error = _load_error(path)
    assert error.status == "error"
    assert "softmax_ce.py has a syntax error at line 3" in error.message


def test_non_utf8_file_is_a_load_error(tmp_path):
    path = _write(tmp_path / "softmax_ce.py", b"\xff\xfe def f(): pass")
    error = _load_error(path)
    assert error.status == "bad_file"
    assert "not UTF-8" in error.message


def test_null_bytes_are_a_load_error(tmp_path):
    path = _write(tmp_path / "softmax_ce.py", b"def f():\x00 pass\n")
    assert _load_error(path).status == "error"


def test_exception_at_import_names_the_exception_and_line(tmp_path):
    path = _write(tmp_path / "softmax_ce.py",
                  "import numpy as np\nx = 1\nraise ValueError('bad data file')\n")
    error = _load_error(path)
    assert error.status == "error"
    assert "importing softmax_ce.py raised ValueError: bad data file (line 3)" in error.message


def test_import_of_a_missing_package_is_a_load_error(tmp_path):
    path = _write(tmp_path / "softmax_ce.py", "import torch_but_not_installed\n")
    error = _load_error(path)
    assert "ModuleNotFoundError" in error.message


@pytest.mark.parametrize("call", ["sys.exit()", "sys.exit(3)", "exit()", "raise SystemExit"])
def test_exit_at_import_is_a_load_error_and_the_grader_survives(tmp_path, call):
    path = _write(tmp_path / "softmax_ce.py",
                  f"import sys\ndef softmax(x):\n    return x\n{call}\n")
    error = _load_error(path)
    assert error.status == "error"
    assert "SystemExit" in error.message


def test_stub_raising_at_import_is_not_a_load_error(tmp_path):
    path = _write(tmp_path / "softmax_ce.py",
                  "def softmax(x):\n    raise NotImplementedError()\n\nsoftmax(1)\n")
    impl = load(path, "softmax_ce")
    with pytest.raises(NotAttempted):
        impl.softmax(1)


def test_unreadable_path_is_a_load_error(tmp_path):
    error = _load_error(tmp_path / "softmax_ce.py")  # does not exist
    assert error.status == "bad_file"
    assert "could not be read" in error.message


def test_loading_restores_argv_cwd_and_sys_path(tmp_path):
    import os

    path = _write(tmp_path / "softmax_ce.py",
                  "import os, sys\nsys.argv[:] = ['x']\nos.chdir(os.path.dirname(__file__))\n")
    argv, cwd, path_before = list(sys.argv), os.getcwd(), list(sys.path)
    load(path, "softmax_ce")
    assert sys.argv == argv
    assert os.getcwd() == cwd
    assert sys.path == path_before


def test_a_student_file_can_import_its_sibling_and_nothing_leaks(tmp_path):
    import numpy as np

    student = tmp_path / "alice"
    _write(student / "softmax_ce.py", GOOD)
    _write(student / "helpers" / "__init__.py", "SCALE = 2.0\n")
    path = _write(student / "gradcheck.py",
                  "from softmax_ce import softmax\nfrom helpers import SCALE\n\n"
                  "def doubled_softmax(x):\n    return SCALE * softmax(x)\n")
    assert "softmax_ce" not in sys.modules and "helpers" not in sys.modules
    impl = load(path, "gradcheck")
    assert impl.doubled_softmax(np.array([[0.0, 0.0]])).tolist() == [[1.0, 1.0]]
    # nothing of this student stays importable for the next one
    assert "softmax_ce" not in sys.modules
    assert "helpers" not in sys.modules
    assert str(student) not in sys.path


def test_the_next_student_gets_their_own_sibling(tmp_path):
    results = []
    for name, value in (("alice", 1), ("bob", 2)):
        folder = tmp_path / name
        _write(folder / "softmax_ce.py", f"WHO = {value}\n")
        path = _write(folder / "gradcheck.py", "from softmax_ce import WHO\n")
        results.append(load(path, "gradcheck").WHO)
    assert results == [1, 2]
