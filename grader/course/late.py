"""The late policy: deadlines, grace, a penalty per day with a cap, per-student extensions.

Configured in course_config.py: each exercise's `"due"` is its deadline (ISO 8601 with a time
zone; `LATE_POLICY["due"]` is the default for exercises without one, i.e. one deadline for
the whole assignment), and

    LATE_POLICY = {
        "grace_minutes": 15,       # a submission up to 15 minutes after the deadline is on time
        "penalty_per_day": 0.10,   # each started day late costs 10% ...
        "max_penalty": 0.50,       # ... up to 50%
        "basis": "earned",         # 10% of the points earned ("possible": of the exercise's points)
        "extensions": {            # per student: a new deadline or extra days, per exercise or "*"
            "ben_mistakes": {"*": 2, "xor_net": "2026-12-24T12:00:00+01:00"},
        },
    }

Days late count from the (extended) deadline in started periods of 24 hours, once the grace
period is over: 16 minutes late with 15 of grace is one day late, 24 h 1 min is two. A penalty
never takes a score below zero. A submission whose time is unknown is not penalised; every
report says that the time is unknown. Without LATE_POLICY nothing is ever late.

Every mistake in the configuration is a `LatePolicyError` naming the field, e.g.
`course_config.py: LATE_POLICY["penalty_per_day"] must be a number from 0 to 1, got '10%'`.
Times are compared as aware datetimes, so deadlines and submissions may be in any time zones.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from grader.course.model import Course, CourseError

__all__ = ["LatePolicy", "LatePolicyError", "Lateness", "parse_time", "policy_from_course"]

FIELDS = {"due", "grace_minutes", "penalty_per_day", "max_penalty", "basis", "extensions"}
REQUIRED = ("penalty_per_day", "max_penalty")
BASES = ("earned", "possible")
DAY = timedelta(days=1)


class LatePolicyError(CourseError):
    """The late policy in course_config.py is missing a field or has a wrong value."""


def parse_time(text: str, what: str) -> datetime:
    """An ISO 8601 date-time WITH a time zone (`2026-12-04T23:59:00+01:00`, `...Z`), as an
    aware datetime. Raises ValueError naming WHAT: a time without a zone is ambiguous by up
    to a day, and deciding a penalty on a guess is not acceptable."""
    if not isinstance(text, str):
        raise ValueError(f"{what} must be an ISO 8601 date-time string such as "
                         f"2026-12-04T23:59:00+01:00, got {text!r}")
    value = text.strip()
    if value.endswith(("Z", "z")):  # fromisoformat accepts Z only from Python 3.11
        value = value[:-1] + "+00:00"
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{what}: {text!r} is not an ISO 8601 date-time such as "
                         "2026-12-04T23:59:00+01:00") from None
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{what}: {text!r} has no time zone; write it with one, e.g. "
                         f"{when.isoformat()}+00:00")
    return when


@dataclass(frozen=True)
class Lateness:
    """How late one exercise of one student was, and the fraction of points that costs."""

    due: datetime | None
    submitted: datetime | None
    source: str              # where the submission time came from ("" when unknown)
    days_late: int           # 0 when on time, within grace, or unknown
    fraction: float          # of the basis, after the cap
    basis: str
    extended: bool = False   # the student has an extension for this exercise

    @property
    def late(self) -> bool:
        return self.days_late > 0

    def penalty(self, score: float, max_score: float) -> float:
        """Points deducted from SCORE (never more than SCORE)."""
        if self.fraction <= 0 or score <= 0:
            return 0.0
        base = score if self.basis == "earned" else max_score
        return round(min(score, self.fraction * base), 6)

    def describe(self) -> str:
        """One line for reports: why (or why not) points were deducted."""
        if self.due is None:
            return "no deadline"
        if self.submitted is None:
            return "submission time unknown: no penalty"
        if not self.late:
            return "on time"
        days = f"{self.days_late} day{'s' if self.days_late != 1 else ''} late"
        return f"{days}: -{self.fraction:.0%} of the points {self.basis}"


@dataclass(frozen=True)
class LatePolicy:
    penalty_per_day: float = 0.0
    max_penalty: float = 0.0
    grace: timedelta = timedelta(0)
    basis: str = "earned"
    dues: dict[str, datetime | None] = field(default_factory=dict)
    extensions: dict[str, dict[str, datetime | timedelta]] = field(default_factory=dict)
    enabled: bool = True  # False without LATE_POLICY: deadlines are shown, nothing is late

    def due_for(self, student: str, exercise: str) -> tuple[datetime | None, bool]:
        """The deadline of EXERCISE for STUDENT, with their extension if any."""
        due = self.dues.get(exercise)
        mine = self.extensions.get(student, {})
        extension = mine.get(exercise, mine.get("*"))
        if due is None or extension is None:
            return due, False
        if isinstance(extension, timedelta):
            return due + extension, True
        return extension, True

    def assess(self, student: str, exercise: str, submitted: datetime | None,
               source: str = "") -> Lateness:
        due, extended = self.due_for(student, exercise)
        days = 0
        if self.enabled and due is not None and submitted is not None:
            over = submitted - due
            if over > self.grace:
                days = math.ceil(over / DAY)
        fraction = min(self.max_penalty, self.penalty_per_day * days) if days else 0.0
        return Lateness(due, submitted, source if submitted is not None else "", days,
                        fraction, self.basis, extended)


def policy_from_course(course: Course) -> LatePolicy:
    """The course's late policy, validated. Raises LatePolicyError naming the bad field."""
    raw = course.late_policy
    dues_raw = {ex_id: ex.due for ex_id, ex in course.exercises.items()}
    if raw is None:
        # No policy: nothing is late, but the deadlines are still shown (and must be valid).
        return LatePolicy(dues=_dues(dues_raw, None), enabled=False)
    if not isinstance(raw, Mapping):
        raise LatePolicyError(f"course_config.py: LATE_POLICY must be a dict, got "
                              f"{type(raw).__name__}")
    unknown = sorted(set(raw) - FIELDS, key=str)
    if unknown:
        raise LatePolicyError(f"course_config.py: LATE_POLICY has unknown field "
                              f"{unknown[0]!r}; the fields are {', '.join(sorted(FIELDS))}")
    for name in REQUIRED:
        if name not in raw:
            raise LatePolicyError(f'course_config.py: LATE_POLICY lacks "{name}"')
    per_day = _fraction(raw["penalty_per_day"], 'LATE_POLICY["penalty_per_day"]')
    cap = _fraction(raw["max_penalty"], 'LATE_POLICY["max_penalty"]')
    grace = _number(raw.get("grace_minutes", 0), 'LATE_POLICY["grace_minutes"]')
    basis = raw.get("basis", "earned")
    if basis not in BASES:
        raise LatePolicyError(f'course_config.py: LATE_POLICY["basis"] must be "earned" or '
                              f'"possible", got {basis!r}')
    default_due = raw.get("due")
    if default_due is not None:
        _time(default_due, 'LATE_POLICY["due"]')
    return LatePolicy(penalty_per_day=per_day, max_penalty=cap,
                      grace=timedelta(minutes=grace), basis=basis,
                      dues=_dues(dues_raw, default_due),
                      extensions=_extensions(raw.get("extensions", {}), set(course.exercises)))


def _dues(raw: dict[str, str | None], default: str | None) -> dict[str, datetime | None]:
    out: dict[str, datetime | None] = {}
    for ex_id, due in raw.items():
        if due is None:
            out[ex_id] = None if default is None else _time(default, 'LATE_POLICY["due"]')
        else:
            out[ex_id] = _time(due, f'EXERCISES["{ex_id}"]["due"]')
    return out


def _extensions(raw: Any, exercises: set[str]) -> dict[str, dict[str, datetime | timedelta]]:
    where = 'LATE_POLICY["extensions"]'
    if not isinstance(raw, Mapping):
        raise LatePolicyError(f"course_config.py: {where} must be a dict of students, got "
                              f"{type(raw).__name__}")
    out: dict[str, dict[str, datetime | timedelta]] = {}
    for student, grants in raw.items():
        here = f"{where}[{student!r}]"
        if not isinstance(student, str) or not isinstance(grants, Mapping) or not grants:
            raise LatePolicyError(f"course_config.py: {here} must map exercise ids (or \"*\") "
                                  "to a new due date or a number of extra days")
        out[student] = {}
        for ex_id, grant in grants.items():
            field_name = f"{here}[{ex_id!r}]"
            if ex_id != "*" and ex_id not in exercises:
                raise LatePolicyError(f"course_config.py: {field_name}: no exercise {ex_id!r}; "
                                      f"use one of {', '.join(sorted(exercises))} or \"*\"")
            if isinstance(grant, bool):
                raise LatePolicyError(f"course_config.py: {field_name} must be a due date or a "
                                      f"number of days, got {grant!r}")
            if isinstance(grant, (int, float)):
                out[student][ex_id] = timedelta(days=_number(grant, field_name))
            else:
                out[student][ex_id] = _time(grant, field_name)
    return out


def _time(value: Any, field_name: str) -> datetime:
    try:
        return parse_time(value, field_name)
    except ValueError as e:
        raise LatePolicyError(f"course_config.py: {e}") from None


def _number(value: Any, field_name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value < 0:
        raise LatePolicyError(f"course_config.py: {field_name} must be a number >= 0, "
                              f"got {value!r}")
    return float(value)


def _fraction(value: Any, field_name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not 0 <= value <= 1:
        raise LatePolicyError(f"course_config.py: {field_name} must be a number from 0 to 1 "
                              f"(a fraction: 0.1 is 10%), got {value!r}")
    return float(value)


def utc_text(when: datetime | None) -> str:
    """WHEN as ISO 8601 in UTC (empty when unknown): one zone in every export."""
    return "" if when is None else when.astimezone(timezone.utc).isoformat(timespec="seconds")

