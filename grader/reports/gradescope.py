"""One student's results in Gradescope's `results.json` format (its autograder specification:
https://gradescope-autograders.readthedocs.io/en/latest/specs/).

Top level: `score` (after any late penalty), `execution_time`, `output`, `visibility`,
`stdout_visibility`, `tests`, `leaderboard`. One test per check: `name` ("exercise: check"),
`score`, `max_score`, `status` (Gradescope knows only passed and failed: any other status is
failed, and named at the start of `output`), `output` (the check's feedback), `visibility`
(hidden checks: `after_published` by default, so students see them once grades are
published; public ones `visible`), `tags` and `number`.

Trust role: this file reaches students, and before publication it must not tell them
anything the hidden checks decided. Gradescope hides `score` while tests are hidden, but
the top-level `output` is shown from the start: while hidden checks are concealed it states
the public checks' points and the late policy that applies, never a total; the total and the
penalty in points go into one more test, "Late penalty" (no points of its own), concealed
like the hidden checks.

`rows` are gradebook rows of ONE student (grader.gradebook.rows.COLUMNS at least), as `grader
grade` stores them and `grader ci` makes them; hidden checks' messages are already only
their statements (grader.engine.run_check), so nothing hidden leaks here. Every text is made
printable (grader.printable): JSON could carry an escape sequence, and Gradescope or `jq` would hand
it to whoever reads the file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from grader.course.late import Lateness
from grader.printable import printable

VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
# What the top-level output tells a student about the hidden checks' results, per visibility.
WHEN_SHOWN = {"hidden": "are shown to instructors only",
              "after_due_date": "are shown after the due date",
              "after_published": "are shown when grades are published"}


def results_json(rows: Sequence[Mapping[str, Any]], *,
                 late: Mapping[str, Lateness] | None = None,
                 hidden_visibility: str = "after_published") -> dict[str, Any]:
    """The results.json document of one student's ROWS (with LATE, per exercise, applied)."""
    if hidden_visibility not in VISIBILITIES:
        raise ValueError(f"hidden_visibility must be one of {VISIBILITIES}")
    students = {r["student"] for r in rows if "student" in r}
    if len(students) > 1:
        raise ValueError(f"results.json is for one student; rows of {len(students)} given")
    tests = []
    exercise_numbers: dict[str, int] = {}
    counts: dict[str, int] = {}
    per_exercise: dict[str, list[float]] = {}
    for row in rows:
        ex = str(row["exercise"])
        exercise_numbers.setdefault(ex, len(exercise_numbers) + 1)
        sums = per_exercise.setdefault(ex, [0.0, 0.0])
        sums[0] += float(row["score"])
        sums[1] += float(row["max_score"])
        status = str(row["status"])
        message = str(row.get("message") or "")
        output = message if status in ("passed", "failed") else f"[{status}] {message}"
        if row.get("statement"):  # grader ci's rows carry what the check checks
            output = f"{row['statement']}\n{output}".rstrip("\n")
        counts[ex] = number = counts.get(ex, 0) + 1
        tests.append({
            "name": printable(f"{ex}: {row['check']}", newlines=False),
            "score": float(row["score"]),
            "max_score": float(row["max_score"]),
            "status": "passed" if status == "passed" else "failed",
            "output": printable(output),
            "visibility": hidden_visibility if row.get("hidden") else "visible",
            "tags": [ex, status],
            "number": f"{exercise_numbers[ex]}.{number}",
        })
    raw = sum(s for s, _ in per_exercise.values())
    possible = sum(m for _, m in per_exercise.values())
    penalty, late_lines, unknown = 0.0, [], []
    for ex, (score, max_score) in per_exercise.items():
        lateness = (late or {}).get(ex)
        if lateness is None:
            continue
        points = lateness.penalty(score, max_score)
        penalty += points
        if lateness.late:
            late_lines.append((f"{ex}: {lateness.describe()}", points))
        elif lateness.submitted is None and lateness.due is not None:
            unknown.append(ex)
    # Gradescope hides a student's total while any test is hidden from them ("If test cases
    # are hidden, students will not be able to see their total score", its autograder
    # specification), but the top-level `output` has no visibility of its own: it shows
    # from the start. So while hidden checks are concealed, it states only what the student
    # can already see, and what depends on the hidden results (the total, the penalty in
    # points) goes into a test concealed exactly as long as the hidden checks are.
    hidden_rows = [r for r in rows if r.get("hidden")]
    concealed = bool(hidden_rows) and hidden_visibility != "visible"
    if concealed:
        public = [r for r in rows if not r.get("hidden")]
        lines = [f"Public checks: {sum(float(r['score']) for r in public):g}/"
                 f"{sum(float(r['max_score']) for r in public):g} points. "
                 f"{len(hidden_rows)} hidden check(s) worth "
                 f"{sum(float(r['max_score']) for r in hidden_rows):g} points are graded too; "
                 f"their results and your total {WHEN_SHOWN[hidden_visibility]}."]
        lines += [f"{what}." for what, _ in late_lines]
    else:
        lines = [f"{raw:g}/{possible:g} points from the checks."]
        lines += [f"{what} (-{points:g} points)." for what, points in late_lines]
    if unknown:
        lines.append(f"Submission time unknown ({', '.join(unknown)}): no late penalty.")
    after = [f"{what} (-{points:g} points)." for what, points in late_lines] + \
        [f"Score after the late penalty: {raw - penalty:g}/{possible:g}."]
    if penalty and not concealed:
        lines.append(after[-1])
    elif penalty:
        tests.append({
            "name": "Late penalty", "status": "failed", "output": printable("\n".join(after)),
            "visibility": hidden_visibility, "tags": ["late_penalty"],
            "number": str(len(exercise_numbers) + 1)})
    return {
        "score": round(raw - penalty, 6),
        "execution_time": round(sum(float(r.get("duration_s") or 0.0) for r in rows), 3),
        "output": printable("\n".join(lines)),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "leaderboard": [],
    }


def write_results_json(rows: Sequence[Mapping[str, Any]], path: Path, **options: Any) -> Path:
    """Write results_json(ROWS, **OPTIONS) to PATH (JSON in ASCII: a lone surrogate in a
    student's message becomes an escape rather than a file that is not UTF-8)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # No indent: json's C encoder then does the work, several times faster per file.
    path.write_text(json.dumps(results_json(rows, **options), ensure_ascii=True),
                    encoding="ascii")
    return path
