"""What a check may hand to student code: functions, and objects that declare their methods.

Trust role: this decides what a worker running student code can reach in the grading
process. A check passes grader code to student code in two forms only:

- a function (a def, a lambda, a class, an object with `__call__`): student code may call
  it, and nothing else: none of its attributes, not even `__name__`;
- an object whose class is marked `@exposes("step", ...)`: student code may call those
  public methods, and nothing else. Instances of a marked class that a handed-over class
  creates (a constructor called back by student code) are covered by the same declaration.

    @exposes("step")
    class RecordingSGD:
        def step(self, params, grads): ...

    impl.run_optimizer(RecordingSGD(params, lr=0.1), loss_and_grads, params, 5)

Under `grader grade` these become opaque handles that are valid for the one call they were
passed to (grader.engine.remote); in one process (`grader check`) student code gets the objects
themselves, since there it already shares the process with the checks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

_MARK = "_grader_exposes"
T = TypeVar("T", bound=type)


def exposes(*methods: str) -> Callable[[T], T]:
    """Class decorator: student code may call these methods of the class's instances."""
    for name in methods:
        if type(name) is not str or not name.isidentifier() or name.startswith("_"):
            raise ValueError(f"exposes({name!r}): only public method names (no leading _) "
                             "can be exposed to student code.")

    def mark(cls: T) -> T:
        missing = [m for m in methods if not callable(getattr(cls, m, None))]
        if missing:
            raise ValueError(f"{cls.__name__} has no method {', '.join(missing)} to expose.")
        setattr(cls, _MARK, frozenset(methods))
        return cls

    return mark


def exposed_methods(obj: Any) -> frozenset[str] | None:
    """The methods OBJ's class declares for student code, or None if it declares none.
    Read from the class, never from the instance (whose attributes the check may set)."""
    if isinstance(obj, type):
        return None
    methods = getattr(type(obj), _MARK, None)
    return methods if type(methods) is frozenset else None
