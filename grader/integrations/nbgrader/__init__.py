"""The course through nbgrader: release, collect, and grade with scores nobody can forge.

    written.py      the written parts of the course (solutions/written/*/*.toml)
    notebooks.py    an exercise's nbgrader source notebook, built from solutions/ and checks
    coursedir.py    an nbgrader course folder: its config, folders, gradebook, course copy
    release.py      `grader release nbgrader`: config, course copy, notebooks, gradebook,
                    `nbgrader generate_assignment` and `release_assignment`
    kernel.py       what the test cells call inside the student's kernel (nbgrader's own,
                    insecure path: `nbgrader autograde`)
    feedback.py     the text of a test cell's output, the same on both paths
    submitted.py    reading a submitted notebook; the student's code out of it
    autograded.py   the autograded notebook the formgrader and feedback read
    nbgradebook.py  nbgrader's gradebook: one transaction per student; hand grades read back
    grade.py        `grader grade --nbgrader`: collected notebooks, graded in sandboxed workers
    synthetic.py    submissions made from .py files (tests, benchmarks)
    bench_support.py  a class of released-and-submitted notebooks, and timing nbgrader on it
"""

import sys

# nbformat validates with jsonschema, and jsonschema imports rfc3987_syntax when it is
# installed (jupyter-events pulls it in), which compiles 39 grammars at import: 1.2 s of
# every command that touches a notebook, paid before grading can start. It only checks the
# "iri" and "iri-reference" formats, which no notebook schema uses; without it jsonschema
# skips those two formats and nothing else.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
