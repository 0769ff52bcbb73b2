"""grader/engine/handle.py: student code behind a guard that turns outcomes into failures."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.authoring.failures import CheckFailure, MissingFunction, NotAttempted, StudentCodeError
from grader.engine.handle import Implementation, StudentObject
from grader.engine.in_process import load

CODE = """\
import sys

LIMIT = 3


def stub(x):
    # YOUR CODE HERE
    raise NotImplementedError()


def helper(x):
    return x["key"]


def crashes(x):
    return helper(x)


def two_args(a, b):
    return a + b


def exits():
    sys.exit(2)


def type_error_inside(x):
    return x + "text"


def returns_none(x):
    pass


class Opt:
    def __init__(self, params, lr=0.1):
        self.params = params
        self.lr = lr

    def step(self, grads):
        return [p - self.lr * g for p, g in zip(self.params, grads)]

    def broken(self):
        return 1 / 0

    def unfinished(self):
        raise NotImplementedError

    @property
    def bad_property(self):
        raise KeyError("nope")


class TakesNothing:
    pass


def uses_opt(opt):
    return type(opt).__name__
"""


@pytest.fixture(scope="module")
def impl(tmp_path_factory) -> Implementation:
    path = tmp_path_factory.mktemp("student") / "optimizers.py"
    path.write_text(CODE)
    return load(path, "optimizers")


def _line_of(text: str) -> int:
    return CODE.splitlines().index(text) + 1


def test_missing_name_is_missing_function_and_attribute_error(impl):
    with pytest.raises(MissingFunction) as info:
        impl.softmax  # noqa: B018
    assert isinstance(info.value, AttributeError)
    assert isinstance(info.value, CheckFailure)
    assert "`softmax` is not defined in your optimizers code" in info.value.text()
    assert not hasattr(impl, "softmax")
    assert getattr(impl, "softmax", "default") == "default"


def test_private_names_are_not_reachable(impl):
    with pytest.raises(AttributeError):
        impl._namespace_of_someone_else  # noqa: B018
    assert not hasattr(impl, "__builtins__")


def test_constants_come_back_as_they_are(impl):
    assert impl.LIMIT == 3
    assert impl.defines("LIMIT") and not impl.defines("softmax")


def test_stub_raising_not_implemented_is_not_attempted(impl):
    with pytest.raises(NotAttempted) as info:
        impl.stub(1)
    assert info.value.function == "stub"
    assert info.value.text() == "Not attempted yet: `stub` still raises NotImplementedError."


def test_exception_names_function_type_and_line(impl):
    with pytest.raises(StudentCodeError) as info:
        impl.crashes({})
    error = info.value
    assert error.function == "crashes"
    assert error.error_type == "KeyError"
    assert not error.signature_mismatch
    line = _line_of('    return x["key"]')
    assert error.where == f"line {line}, in helper"
    assert error.text() == f"`crashes` raised KeyError: 'key' (line {line}, in helper)."


def test_a_type_error_inside_the_function_is_not_a_signature_mismatch(impl):
    with pytest.raises(StudentCodeError) as info:
        impl.type_error_inside(1)
    assert info.value.error_type == "TypeError"
    assert not info.value.signature_mismatch
    line = _line_of('    return x + "text"')
    assert f"line {line}" in info.value.text()


@pytest.mark.parametrize(("args", "kwargs"), [((1,), {}), ((1, 2, 3), {}), ((1, 2), {"c": 3})])
def test_a_wrong_signature_is_a_signature_mismatch(impl, args, kwargs):
    with pytest.raises(StudentCodeError) as info:
        impl.two_args(*args, **kwargs)
    assert info.value.signature_mismatch
    assert "could not be called as the exercise specifies" in info.value.text()
    assert "`two_args`" in info.value.text()


def test_sys_exit_inside_a_function_is_a_student_error_not_system_exit(impl):
    try:
        impl.exits()
    except SystemExit:  # pragma: no cover - the bug this test guards against
        pytest.fail("SystemExit escaped from student code")
    except StudentCodeError as error:
        assert "sys.exit(2)" in error.text()
        assert "`exits`" in error.text()
        assert f"line {_line_of('    sys.exit(2)')}" in error.text()
    else:  # pragma: no cover
        pytest.fail("no error")


def test_none_is_returned_as_none(impl):
    assert impl.returns_none(1) is None


def test_a_class_instance_is_a_student_object_with_guarded_methods(impl):
    opt = impl.Opt([1.0, 2.0], lr=0.5)
    assert isinstance(opt, StudentObject)
    assert opt.lr == 0.5
    assert opt.step([2.0, 2.0]) == [0.0, 1.0]
    with pytest.raises(StudentCodeError) as info:
        opt.broken()
    assert info.value.function == "Opt.broken"
    assert info.value.error_type == "ZeroDivisionError"
    assert f"line {_line_of('        return 1 / 0')}, in broken" in info.value.text()
    with pytest.raises(NotAttempted) as info:
        opt.unfinished()
    assert info.value.function == "Opt.unfinished"
    with pytest.raises(StudentCodeError) as info:
        opt.bad_property  # noqa: B018
    assert info.value.error_type == "KeyError"
    with pytest.raises(CheckFailure) as info:
        opt.momentum  # noqa: B018
    assert "`Opt.momentum` is not defined" in str(info.value)
    with pytest.raises(AttributeError):
        opt._obj_private  # noqa: B018


def test_a_class_with_the_wrong_constructor_is_a_signature_mismatch(impl):
    with pytest.raises(StudentCodeError) as info:
        impl.TakesNothing([1.0], lr=0.1)
    assert info.value.signature_mismatch
    assert "`TakesNothing`" in info.value.text()


def test_grader_failures_raised_through_student_code_pass_unchanged(tmp_path: Path):
    path = tmp_path / "x.py"
    path.write_text("def apply(f, x):\n    return f(x)\n")
    student = load(path, "x")

    def grader_callback(x):
        raise CheckFailure("the callback's own failure")

    with pytest.raises(CheckFailure) as info:
        student.apply(grader_callback, 1)
    assert str(info.value) == "the callback's own failure"


def test_notebook_errors_name_the_cell(tmp_path: Path):
    import json

    nb = {"cells": [{"cell_type": "code", "source": "def f(x):\n    return x[5]\n"}]}
    path = tmp_path / "x.ipynb"
    path.write_text(json.dumps(nb))
    with pytest.raises(StudentCodeError) as info:
        load(path, "x").f([])
    assert info.value.where == "line 2, in f"
    assert "IndexError" in info.value.text()
