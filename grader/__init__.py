"""The grader for the backprop course.

The data flow, one module per step:

    course.py         what the course is (course_config.py, folders, the reference solutions)
    submission.py     where a student's exercise file is, and loading it (.py or .ipynb)
    notebook.py       turning a notebook into plain Python cells
    handle.py         the handle checks call: student functions behind a guard
    checks.py         the registry of checks (tests/checks/...), with points and visibility
    expect.py         the assertions checks use; they raise failures that teach
    diagnose.py       recognising known mistakes in observed vs expected numbers
    run.py            running checks against a handle, one CheckResult each
    report.py         text and HTML reports of results
    local_check.py    `grader check` and `check()` in a notebook, for students
    grade.py          `grader grade ROOT --output OUT`: a class in parallel, code in workers
    grading_process.py  a fresh, unprivileged process per student, forked from a template
    launcher.py       starting and killing workers for it: the part that keeps root
    loading.py        running student code and describing failures (shared by both engines)
    engines.py        where student code runs: in this process, or in a worker
    protocol.py       the data-only channel between the grader and a worker
    worker.py         the worker program, next to student code
    proxy.py          the grader's side: a worker process and handles that call into it
    capabilities.py   what a check may hand to student code (functions, declared methods)
    isolation.py      namespaces, uid, rlimits, cgroups for workers, and the level in force
    seccomp.py        the system call filter workers run under (hand-written BPF)
    output_cap.py     what a worker prints: a capped log for instructors, never feedback
    printable.py      student text with its control sequences written out, for every sink
    limits.py         time limits and Ctrl-C inside the grading process
    gradebook.py      results as rows, written to CSV, pivoted
    gradebook_db.py   the durable SQLite gradebook: one transaction per student, resumable
    grader_key.py     what graded a row: the hash of what decides a score, for resuming
    late.py           the late policy: deadlines, grace, penalty per day, extensions
    submission_time.py  when each exercise was submitted (timestamp.txt, git)
    reports/          `grader report`: CSV, Excel, Gradescope, JUnit, HTML, plots, screenshots
    audit.py          `grader audit`: proof that the checks catch known mistakes
    stubs.py          generating exercises/ from solutions/
    edition.py        whether this copy is a student repository's (the CLI offers check, ci)
    ci/               CI autograding: `grader release repo`, `grader ci` (job summary,
                      annotations, results.json, JUnit), `grader collect`, the workflows
    hub.py            `grader release hub`: the students' side of a JupyterHub, public
                      material only, once the instructor's files are private
    nbgrader/         the course through nbgrader: release, and grading collected notebooks
                      in workers into nbgrader's gradebook (its own docstring maps it)
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "check"]


def check(*exercises: str, submission: str | None = None, hidden: bool = False):
    """Run the public checks of EXERCISES and return a report (HTML in Jupyter, text elsewhere).

    In a notebook that defines the exercise's functions, those definitions are checked;
    otherwise the files in `exercises/` (or in `submission`).
    """
    from grader.local_check import check as _check

    return _check(*exercises, submission=submission, hidden=hidden, _caller_depth=2)
