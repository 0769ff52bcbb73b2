"""What the class report tells an instructor: the score distribution, how hard each exercise
was, and which checks students fail most, with the mistakes the diagnoses name.

A student "attempted" a check when their code for it ran: not for a missing or unreadable
file and not for a function still raising NotImplementedError. Fail rates are over the
students who attempted, so a dozen untouched stubs do not push every check to the top.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pandas as pd

from grader.reports.data import ClassData

NOT_ATTEMPTED = ("not attempted", "missing", "bad_file")
DIAGNOSIS = "Likely mistake:"
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def score_summary(data: ClassData) -> dict[str, Any]:
    final = data.students["final_percent"].astype(float)
    if final.empty:
        return {"students": 0}
    return {"students": int(final.size), "mean": round(float(final.mean()), 1),
            "median": round(float(final.median()), 1), "min": float(final.min()),
            "max": float(final.max()),
            "late": int((data.students["late_penalty"] > 0).sum()),
            "with_problems": int((data.students["problems"] != "").sum())}


def exercise_difficulty(data: ClassData,
                        ranked: list[dict[str, Any]] | None = None) -> pd.DataFrame:
    """Per exercise: points, mean and median score (% of its points), share of students with
    full marks, share who attempted it, and its most failed check (from RANKED, the result of
    hardest_checks(data, top=None), if the caller has it already)."""
    rows = []
    attempted_rows = data.checks[~data.checks["label"].isin(NOT_ATTEMPTED)]
    if ranked is None:
        ranked = hardest_checks(data, top=None)
    hardest = {h["exercise"]: h["check"] for h in reversed(ranked)}
    for ex in data.exercises:
        s = data.scores[data.scores["exercise"] == ex]
        points = data.max_points[ex]
        percent = 100 * s["score"] / points if points else s["score"] * 0
        tried = attempted_rows[attempted_rows["exercise"] == ex]["student"].nunique()
        n = len(s)
        rows.append({
            "exercise": ex, "title": data.titles[ex], "points": points,
            "mean_percent": round(float(percent.mean()), 1) if n else 0.0,
            "median_percent": round(float(percent.median()), 1) if n else 0.0,
            "full_marks_percent": round(100 * float((s["score"] >= points).mean()), 1)
            if n else 0.0,
            "attempted_percent": round(100 * tried / n, 1) if n else 0.0,
            "late_students": int((s["days_late"] > 0).sum()),
            "hardest_check": hardest.get(ex, ""),
        })
    return pd.DataFrame(rows)


def hardest_checks(data: ClassData, top: int | None = 15) -> list[dict[str, Any]]:
    """The checks failed by the most students who attempted them, most failed first, each
    with its statement and the diagnoses its failures carried (most frequent first)."""
    checks = data.checks
    tried = checks[~checks["label"].isin(NOT_ATTEMPTED)]
    if tried.empty:
        return []
    failing = tried[tried["status"] != "passed"]
    attempts = tried.groupby(["exercise", "check"], sort=False).size()
    out = []
    for (ex, check), group in failing.groupby(["exercise", "check"], sort=False):
        attempted = int(attempts.get((ex, check), 0))
        first = group.iloc[0]
        out.append({
            "exercise": ex, "check": check, "statement": first["statement"],
            "hidden": bool(first["hidden"]), "failed": len(group), "attempted": attempted,
            "fail_percent": round(100 * len(group) / attempted, 1) if attempted else 0.0,
            "statuses": dict(Counter(group["status"]).most_common()),
            "diagnoses": diagnoses(group["message"].tolist(), bool(first["hidden"])),
        })
    out.sort(key=lambda c: (-c["failed"], -c["fail_percent"], c["exercise"], c["check"]))
    return out if top is None else out[:top]


def diagnoses(messages: list[str], hidden: bool, top: int = 3) -> list[dict[str, Any]]:
    """The most frequent explanations among failure MESSAGES: the "Likely mistake" line when
    the diagnosis named one, else the message's first line. Lines that differ only in their
    numbers (N=2 vs N=4) count as one, shown by the most frequent wording."""
    groups: dict[str, Counter] = {}
    for message in messages:
        lines = [line.strip() for line in str(message).splitlines() if line.strip()]
        picked = next((line for line in lines if line.startswith(DIAGNOSIS)), None)
        if picked is None:
            if hidden:
                continue  # a hidden check's message is only its statement, shown already
            picked = lines[0] if lines else "(no message)"
        groups.setdefault(_NUMBER.sub("#", picked), Counter())[picked] += 1
    ranked = sorted(groups.values(), key=lambda c: -sum(c.values()))
    return [{"text": c.most_common(1)[0][0][:400], "count": sum(c.values())}
            for c in ranked[:top]]
