"""Gradescope's results.json for one student, from gradebook rows.

The format (field notes): top level `score`, `execution_time`, `output`, `visibility`,
`stdout_visibility`, `tests[]`; each test `name`, `number`, `score`, `max_score`, `status`
(only "passed" or "failed" exist there), `output`, `visibility`, `tags`. Hidden checks get
`after_published`, so a student sees them only once the instructor publishes the grades.
Rows may carry a `statement` (the check's one-line description); it heads the test's output.
"""

from __future__ import annotations

import json
from pathlib import Path

HIDDEN_VISIBILITY = "after_published"


def results_json(rows: list[dict]) -> dict:
    exercises: dict[str, int] = {}
    per_exercise: dict[str, int] = {}
    tests = []
    for row in rows:
        exercise = str(row["exercise"])
        major = exercises.setdefault(exercise, len(exercises) + 1)
        per_exercise[exercise] = minor = per_exercise.get(exercise, 0) + 1
        tests.append({
            "name": f"{exercise}: {row['check']}",
            "number": f"{major}.{minor}",
            "score": float(row["score"]),
            "max_score": float(row["max_score"]),
            "status": "passed" if row["status"] == "passed" else "failed",
            "output": _output(row),
            "visibility": HIDDEN_VISIBILITY if row.get("hidden") else "visible",
            "tags": [exercise, str(row["status"])],
        })
    score = sum(t["score"] for t in tests)
    max_score = sum(t["max_score"] for t in tests)
    passed = sum(t["status"] == "passed" for t in tests)
    return {
        "score": score,
        "execution_time": round(sum(float(row.get("duration_s") or 0.0) for row in rows), 3),
        "output": f"{score:g}/{max_score:g} points; {passed} of {len(tests)} checks passed.",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def write_results_json(rows: list[dict], path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results_json(rows), indent=2) + "\n", encoding="utf-8")


def _output(row: dict) -> str:
    lines = [str(row["statement"])] if row.get("statement") else []
    lines.append(f"Status: {row['status']} ({float(row['score']):g}/"
                 f"{float(row['max_score']):g} points)")
    if row.get("message"):
        lines.append(str(row["message"]))
    return "\n".join(lines)
