"""`grader grade ROOT --output OUT`: grade every folder of ROOT as one student.

Each exercise is found as the contract says and graded with every check, public and hidden.
A student or an exercise that cannot be graded gets a clear status and zero for what it
breaks; grading goes on with the rest.
"""

from __future__ import annotations

import sys
from pathlib import Path

from grader.checks import checks_for, use_profile
from grader.course import load_course
from grader.gradebook import rows, totals, write_csv
from grader.limits import watch_for_ctrl_c
from grader.results import CheckResult
from grader.run import grade_exercise, missing_results
from grader.submission import find_exercise_file


def grade_student(folder: Path) -> list[CheckResult]:
    course = load_course()
    results: list[CheckResult] = []
    for ex_id, exercise in course.exercises.items():
        path = find_exercise_file(folder, ex_id)
        if path is None:
            results += missing_results(checks_for(ex_id, include_hidden=True), "missing",
                                       f"No {ex_id}.py or {ex_id}.ipynb was submitted.")
        else:
            results += grade_exercise(exercise, path)
    return results


def student_folders(root: Path) -> list[Path]:
    return sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
                  key=lambda p: p.name)


def grade(root: Path, output: Path, quiet: bool = False) -> int:
    if not root.is_dir():
        print(f"grader grade: {root} is not a folder of student folders.", file=sys.stderr)
        return 2
    use_profile()
    watch_for_ctrl_c()
    all_rows: list[dict] = []
    students = student_folders(root)
    for i, folder in enumerate(students, start=1):
        if not quiet:
            print(f"[{i}/{len(students)}] grading {folder.name}", file=sys.stderr)
        try:
            results = grade_student(folder)
        except Exception as e:  # a grader bug on one student must not cost the others
            results = [r for ex in load_course().exercises for r in missing_results(
                checks_for(ex, include_hidden=True), "error",
                f"The grader failed on this submission ({type(e).__name__}); "
                "please report it to the course staff.")]
        all_rows += rows(folder.name, results)
        write_csv(all_rows, output / "gradebook.csv")  # what is graded is never lost
    write_csv(all_rows, output / "gradebook.csv")
    if not quiet:
        table = totals(all_rows)
        print(table.to_string(float_format=lambda x: f"{x:g}") if not table.empty
              else "No student folders found.")
        print(f"\nGradebook: {output / 'gradebook.csv'}")
    return 0
