"""The handle a check calls: the code under test, by name, behind a guard.

Checks never import student code; they receive an `Implementation` and call
`impl.softmax(x)`. The guard turns what student code does into outcomes a check can report:
a missing name, an untouched stub (NotImplementedError), an exception, an exit. Objects the
student's classes create come back as `StudentObject` handles whose methods are guarded too.

`Handle` is the type every check and session sees; `NamedHandle` holds the attribute rules
both implementations share: this module's `Implementation` (student code in this process,
for a student checking their own work) and grader.engine.remote's `RemoteImplementation` (student
code in a sandboxed worker, for grading).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

from grader.authoring.failures import (
    CheckFailure,
    MissingFunction,
    NotAttempted,
    StudentCodeError,
    from_description,
)
from grader.engine.time_limit import user_interrupted
from grader.sandbox.runtime.loading import describe_exception


@runtime_checkable
class Handle(Protocol):
    """One exercise's code under test, as a check calls it: `impl.softmax(x)`.

    A public name the code defines is its function, class or constant (guarded); one it
    does not define raises MissingFunction; a private name raises AttributeError. `notes`
    says what loading the file skipped (a notebook cell that raised)."""

    notes: list[str]

    @property
    def exercise(self) -> str: ...

    def defines(self, name: str) -> bool: ...

    def __getattr__(self, name: str) -> Any: ...


class NamedHandle(ABC):
    """The attribute rules of a Handle; a subclass says which names its code defines and
    what one of them is."""

    def __init__(self, exercise: str, notes: list[str] | None = None) -> None:
        self._exercise = exercise
        self.notes = list(notes or [])

    @property
    def exercise(self) -> str:
        return self._exercise

    @abstractmethod
    def defines(self, name: str) -> bool: ...

    @abstractmethod
    def _value(self, name: str) -> Any:
        """What the defined public NAME is, as a check may use it."""

    def __getattr__(self, name: str) -> Any:
        # Private names are the handle's own, and Python's protocols (copy, pickle) ask for
        # them on any object: none of them reaches the code under test.
        if name.startswith("_"):
            raise AttributeError(name)
        if not self.defines(name):
            raise MissingFunction(name, self._exercise)
        return self._value(name)


class Implementation(NamedHandle):
    """One exercise's code under test in this process, as a namespace of functions, classes
    and constants."""

    def __init__(self, exercise: str, namespace: Mapping[str, Any], *, source_file: str = "",
                 notes: list[str] | None = None) -> None:
        super().__init__(exercise, notes)
        self._namespace = dict(namespace)
        self._source_file = source_file

    def defines(self, name: str) -> bool:
        return name in self._namespace

    def _value(self, name: str) -> Any:
        value = self._namespace[name]
        if callable(value):
            return _guard(value, name, self._source_file)
        return value


class StudentObject:
    """An instance of a student's class (an optimizer), reachable only through guarded calls."""

    def __init__(self, obj: Any, label: str, source_file: str) -> None:
        self._obj = obj
        self._label = label
        self._source_file = source_file

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        label = f"{self._label}.{name}"
        try:
            value = getattr(self._obj, name)
        except AttributeError:
            raise CheckFailure(f"`{label}` is not defined: the exercise asks for it.") from None
        except Exception as error:  # a property that raises is student code too
            raise _student_error(label, error, self._source_file) from None
        if callable(value):
            return _guard(value, label, self._source_file)
        return value


def _guard(fn: Callable[..., Any], label: str, source_file: str) -> Callable[..., Any]:
    is_class = isinstance(fn, type)

    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            result = fn(*args, **kwargs)
        except NotImplementedError:
            raise NotAttempted(label) from None
        except (CheckFailure, StudentCodeError):
            raise  # raised by a grader callback the student's code called
        except KeyboardInterrupt as error:
            if user_interrupted():
                raise
            raise _student_error(label, error, source_file) from None
        except (Exception, SystemExit, GeneratorExit) as error:
            raise _student_error(label, error, source_file) from None
        if is_class:
            return StudentObject(result, fn.__name__, source_file)
        return result

    call.__name__ = getattr(fn, "__name__", label)
    call.__qualname__ = label
    return call


def _student_error(label: str, error: BaseException, source_file: str) -> Exception:
    # One frame of ours (the guard's call) sits above the student's code.
    return from_description(describe_exception(label, error, source_file, boundary_frames=1))
