"""Both handles, in this process and in a worker, are a Handle and behave alike.

Both handles, in this process and in a worker, are a handle.Handle and answer attribute
access the same way."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from grader.authoring.failures import MissingFunction
from grader.engine.handle import Handle, Implementation, NamedHandle
from grader.engine.remote import RemoteImplementation
from grader.engine.sessions import InProcessSession, WorkerSession

SOURCE = "SCALE = 3\n\ndef f(x):\n    return SCALE * x\n\ndef _helper():\n    return 1\n"


@pytest.fixture(params=["in process", "worker"])
def handle(request, tmp_path) -> Iterator[Handle]:
    path = tmp_path / "ex.py"
    path.write_text(SOURCE)
    session = InProcessSession(path, "ex") if request.param == "in process" \
        else WorkerSession(path, "ex")
    try:
        impl = session.open()
        session.before_check()
        yield impl
    finally:
        session.close()


def test_each_implementation_is_the_one_handle_type(handle):
    assert isinstance(handle, Handle) and isinstance(handle, NamedHandle)
    assert type(handle) in (Implementation, RemoteImplementation)


def test_a_defined_name_is_the_code_under_test(handle):
    assert (handle.exercise, handle.notes) == ("ex", [])
    assert handle.defines("f") and handle.defines("SCALE") and not handle.defines("g")
    assert (handle.f(2), handle.SCALE) == (6, 3)


def test_a_name_the_code_does_not_define_is_a_missing_function(handle):
    with pytest.raises(MissingFunction) as info:
        handle.g  # noqa: B018
    assert info.value.text() == ("`g` is not defined in your ex code: the exercise asks for it "
                                 "by exactly this name.")


def test_a_private_name_never_reaches_the_code_under_test(handle):
    """Even one the code defines: a plain AttributeError, not a missing function."""
    assert handle.defines("_helper")
    for name in ("_helper", "__deepcopy__", "_anything"):
        with pytest.raises(AttributeError) as info:
            getattr(handle, name)
        assert type(info.value) is AttributeError and str(info.value) == name
