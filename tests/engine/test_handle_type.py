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


def test_a_remote_proxy_shows_no_address_in_a_message():
    """A check's message may show a proxy (a "shape" that is a method of a student object):
    the same submission must give the same message in every run and on every machine."""
    from grader.engine.remote import RemoteCallable, RemoteObject

    method = RemoteCallable(None, "shape", "Always.shape")  # type: ignore[arg-type]
    assert repr(method) == "<Always.shape of the submission>"
    obj = type("Always", (RemoteObject,), {})(None, "7")  # type: ignore[arg-type]
    assert repr(obj) == "<Always object of the submission>"
    assert "0x" not in f"{method} {obj}"
