"""The late policy computes penalties right and names the field of every mistake.

The late policy: grace, started days, the cap, the basis, extensions, time zones, and a
clear error naming the field for every mistake in course_config.py's LATE_POLICY."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest

from grader.course.late import LatePolicyError, parse_time, policy_from_course
from grader.course.model import CourseError, load_course

POLICY = {"grace_minutes": 15, "penalty_per_day": 0.1, "max_penalty": 0.3, "basis": "earned",
          "extensions": {}}


def course_with(policy: object = POLICY, **dues: str | None):
    course = load_course()
    exercises = {ex_id: dataclasses.replace(ex, due=dues.get(ex_id, ex.due))
                 for ex_id, ex in course.exercises.items()}
    return dataclasses.replace(course, late_policy=policy, exercises=exercises)


def at(text: str) -> datetime:
    return parse_time(text, "test")


def test_the_course_policy_is_valid():
    policy = policy_from_course(load_course())
    assert policy.penalty_per_day > 0 and policy.dues["softmax_ce"] is not None


@pytest.mark.parametrize(("submitted", "days", "fraction"), [
    ("2026-12-04T23:59:00+00:00", 0, 0.0),      # exactly at the deadline
    ("2026-12-05T00:13:00+00:00", 0, 0.0),      # within the 15 minutes of grace
    ("2026-12-05T00:14:00+00:00", 0, 0.0),      # the grace period's last moment
    ("2026-12-05T00:14:01+00:00", 1, 0.1),      # a second later: one started day
    ("2026-12-05T23:59:00+00:00", 1, 0.1),      # exactly 24 h
    ("2026-12-06T00:00:00+00:00", 2, 0.2),      # 24 h 1 min: the second day has started
    ("2026-12-20T00:00:00+00:00", 16, 0.3),     # capped at 30%
    ("2026-11-30T10:00:00+00:00", 0, 0.0),      # early
])
def test_days_late_count_started_days_after_the_grace_period(submitted, days, fraction):
    policy = policy_from_course(course_with(softmax_ce="2026-12-04T23:59:00+00:00"))
    late = policy.assess("ann", "softmax_ce", at(submitted), "timestamp.txt")
    assert (late.days_late, late.fraction) == (days, pytest.approx(fraction))


def test_due_dates_and_submissions_in_different_time_zones_compare_as_instants():
    # Due 23:59 in Tokyo is 14:59 UTC; submitted 10:30 in New York (UTC-5) is 15:30 UTC:
    # 31 minutes late, past the 15 of grace. Compared as wall-clock text it would look early.
    policy = policy_from_course(course_with(softmax_ce="2026-12-04T23:59:00+09:00"))
    late = policy.assess("ann", "softmax_ce", at("2026-12-04T10:30:00-05:00"))
    assert late.days_late == 1
    # ... and 10:00 in New York (15:00 UTC) is within the grace period.
    assert policy.assess("ann", "softmax_ce", at("2026-12-04T10:00:00-05:00")).days_late == 0
    # A "Z" suffix is UTC.
    assert policy.assess("ann", "softmax_ce", at("2026-12-04T15:00:00Z")).days_late == 0


def test_penalty_basis_earned_or_possible_and_never_below_zero():
    earned = policy_from_course(course_with(softmax_ce="2026-12-04T23:59:00+00:00"))
    late = earned.assess("ann", "softmax_ce", at("2026-12-06T12:00:00+00:00"))  # 2 days
    assert late.penalty(10.0, 22.0) == pytest.approx(2.0)       # 20% of 10 earned
    possible = policy_from_course(course_with({**POLICY, "basis": "possible"},
                                              softmax_ce="2026-12-04T23:59:00+00:00"))
    late = possible.assess("ann", "softmax_ce", at("2026-12-06T12:00:00+00:00"))
    assert late.penalty(10.0, 22.0) == pytest.approx(4.4)       # 20% of 22 possible
    assert late.penalty(3.0, 22.0) == pytest.approx(3.0)        # never below zero
    assert late.penalty(0.0, 22.0) == 0.0


def test_unknown_submission_time_and_no_deadline_are_not_penalised():
    policy = policy_from_course(course_with(softmax_ce=None))
    assert policy.assess("ann", "softmax_ce", at("2030-01-01T00:00:00+00:00")).days_late == 0
    unknown = policy.assess("ann", "gradcheck", None)
    assert unknown.days_late == 0 and "unknown" in unknown.describe()


def test_no_policy_means_nothing_is_late_but_deadlines_still_show():
    policy = policy_from_course(course_with(None))
    late = policy.assess("ann", "softmax_ce", at("2030-01-01T00:00:00+00:00"))
    assert late.due is not None and late.days_late == 0 and late.fraction == 0


def test_a_default_due_date_covers_exercises_without_one():
    policy = policy_from_course(course_with({**POLICY, "due": "2026-12-01T12:00:00+01:00"},
                                            xor_net=None))
    assert policy.dues["xor_net"] == at("2026-12-01T11:00:00+00:00")
    assert policy.dues["softmax_ce"] == at("2026-12-04T23:59:00+00:00")


def test_extensions_by_days_or_new_date_per_exercise_or_all():
    policy = policy_from_course(course_with(
        {**POLICY, "extensions": {"ann": {"*": 2, "xor_net": "2027-01-10T09:00:00+01:00"}}},
        softmax_ce="2026-12-04T23:59:00+00:00"))
    submitted = at("2026-12-06T20:00:00+00:00")  # 2 days late without the extension
    assert policy.assess("bob", "softmax_ce", submitted).days_late == 2
    mine = policy.assess("ann", "softmax_ce", submitted)
    assert (mine.days_late, mine.extended) == (0, True)
    assert policy.due_for("ann", "xor_net")[0] == at("2027-01-10T08:00:00+00:00")


@pytest.mark.parametrize(("policy", "field"), [
    ({"max_penalty": 0.5}, '"penalty_per_day"'),
    ({"penalty_per_day": 0.1}, '"max_penalty"'),
    ({**POLICY, "penalty_per_day": "10%"}, 'LATE_POLICY["penalty_per_day"]'),
    ({**POLICY, "penalty_per_day": 10}, 'LATE_POLICY["penalty_per_day"]'),
    ({**POLICY, "max_penalty": float("nan")}, 'LATE_POLICY["max_penalty"]'),
    ({**POLICY, "grace_minutes": -5}, 'LATE_POLICY["grace_minutes"]'),
    ({**POLICY, "grace_minutes": True}, 'LATE_POLICY["grace_minutes"]'),
    ({**POLICY, "basis": "score"}, 'LATE_POLICY["basis"]'),
    ({**POLICY, "penalty_per_days": 0.1}, "'penalty_per_days'"),
    ({**POLICY, "due": "2026-12-01"}, 'LATE_POLICY["due"]'),
    ({**POLICY, "extensions": ["ann"]}, 'LATE_POLICY["extensions"]'),
    ({**POLICY, "extensions": {"ann": 3}}, "LATE_POLICY[\"extensions\"]['ann']"),
    ({**POLICY, "extensions": {"ann": {"softmax": 2}}},
     "LATE_POLICY[\"extensions\"]['ann']['softmax']"),
    ({**POLICY, "extensions": {"ann": {"*": "next week"}}},
     "LATE_POLICY[\"extensions\"]['ann']['*']"),
    ({**POLICY, "extensions": {"ann": {"*": -1}}}, "LATE_POLICY[\"extensions\"]['ann']['*']"),
    (["penalty_per_day", 0.1], "LATE_POLICY must be a dict"),
])
def test_a_missing_or_malformed_entry_is_an_error_naming_the_field(policy, field):
    with pytest.raises(LatePolicyError) as error:
        policy_from_course(course_with(policy))
    assert field in str(error.value) and "course_config.py" in str(error.value)
    assert isinstance(error.value, CourseError)  # the CLI reports it as a course error


@pytest.mark.parametrize("due", ["2026-12-04 23:59", "2026-12-04T23:59:00", "4 Dec 2026", 20261204])
def test_a_due_date_without_a_time_zone_or_not_iso_is_an_error_naming_the_exercise(due):
    with pytest.raises(LatePolicyError, match=r'EXERCISES\["linreg_gd"\]\["due"\]'):
        policy_from_course(course_with(linreg_gd=due))


def test_utc_offsets_are_kept_exactly():
    when = at("2026-12-04T23:59:00-03:30")
    assert when.utcoffset() == -timedelta(hours=3, minutes=30)
    assert when.astimezone(timezone.utc).isoformat() == "2026-12-05T03:29:00+00:00"
