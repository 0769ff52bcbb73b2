"""The `grader` command: check and ci (students); grade, report, audit, collect and
release (instructors); stubs and new-exercise (authors)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

# What works in a student repository written by `grader release repo` (grader/cli/edition.py).
STUDENT_COMMANDS = ("check", "ci")
INSTRUCTOR_COMMANDS = ("collect", "grade", "release", "report", "audit", "secret", "stubs",
                       "new-exercise")
STUDENT_DESCRIPTION = ("The `grader` command of your course repository: check runs the public "
                       "checks on your exercises, ci does what the course's GitHub workflow does.")


def main(argv: list[str] | None = None) -> int:
    from grader.cli.edition import STUDENT_REPOSITORY

    words = sys.argv[1:] if argv is None else argv
    if STUDENT_REPOSITORY and words and words[0] in INSTRUCTOR_COMMANDS:
        print(f"grader: `grader {words[0]}` is not available in a student repository "
              f"(it is for the instructor's course repository); here you can run "
              f"{' and '.join(f'`grader {c}`' for c in STUDENT_COMMANDS)}.", file=sys.stderr)
        return 2
    parser = argparse.ArgumentParser(
        prog="grader", description=STUDENT_DESCRIPTION if STUDENT_REPOSITORY else __doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    # In a student repository the instructors' commands are left out of --help (a parser
    # nobody reads takes them).
    staff = argparse.ArgumentParser().add_subparsers() if STUDENT_REPOSITORY else sub

    p = sub.add_parser("check", help="run the public checks on your exercises")
    p.add_argument("exercises", nargs="*", metavar="EXERCISE", help="exercise ids (default: all)")
    p.add_argument("--submission", type=Path, help="folder to check (default: exercises/)")
    p.add_argument("--hidden", action="store_true", help="also run hidden checks (instructors)")

    p = sub.add_parser("ci", help="run the public checks in CI: exit code, job summary, "
                       "annotations, results.json and junit.xml")
    p.add_argument("exercises", nargs="*", metavar="EXERCISE", help="exercise ids (default: all)")
    p.add_argument("--submission", type=Path, help="folder to check (default: exercises/)")
    p.add_argument("--output", type=Path, default=Path("out/ci"),
                   help="folder for results.json and junit.xml (default: out/ci)")
    p.add_argument("--student", help="name in the results (default: the GitHub repository's)")

    p = staff.add_parser("collect", help="gather student repositories or zips into one folder "
                         "per student, ready for `grader grade`")
    p.add_argument("sources", nargs="+", type=Path,
                   help="folders holding one repository/folder or .zip per student")
    p.add_argument("--output", type=Path, required=True)

    p = staff.add_parser("grade", help="grade every student folder of ROOT, in sandboxed workers")
    p.add_argument("root", type=Path, nargs="?")
    p.add_argument("--output", type=Path,
                   help="output folder (required with ROOT; with --nbgrader default "
                        "COURSE_DIR/grader_gradebook/ASSIGNMENT)")
    p.add_argument("--nbgrader", nargs=2, metavar=("COURSE_DIR", "ASSIGNMENT"),
                   help="grade the notebooks nbgrader collected in COURSE_DIR/submitted and "
                        "write the scores into nbgrader's gradebook too")
    p.add_argument("--workers", type=int, default=None,
                   help="grading processes in parallel (default: the machine's cores)")
    p.add_argument("--regrade", action="store_true",
                   help="grade again students whose submission and grader are unchanged")
    p.add_argument("--scheduler", metavar="ADDRESS|local:N", default=None,
                   help="grade on a Dask cluster: the scheduler's address (e.g. "
                        "tcp://head:8786), or local:N for N worker processes on this machine")
    p.add_argument("--quiet", action="store_true")

    p = staff.add_parser("release", help="release the course to students: a student repository "
                         "(CI autograding), an nbgrader course, or a JupyterHub's student site")
    platforms = p.add_subparsers(dest="platform", required=True)
    p = platforms.add_parser("repo", help="write the student repository: stubs, public checks, "
                                          "grader runtime, README, CI workflow")
    p.add_argument("dir", type=Path, help="new (or empty) folder to write it to")
    p = platforms.add_parser("nbgrader", help="build an nbgrader course: notebooks, config, "
                                              "gradebook, `nbgrader generate_assignment`")
    p.add_argument("course_dir", type=Path, metavar="COURSE_DIR")
    p.add_argument("--assignment", default=None, help="assignment name (default: backprop)")
    p.add_argument("--exercise", action="append", dest="exercises", metavar="EXERCISE",
                   help="an exercise to include (repeat; default: every exercise of the course)")
    p.add_argument("--course-id", default=None, help="nbgrader course id (default: backprop)")
    p.add_argument("--exchange", type=Path, default=None,
                   help="nbgrader exchange folder (default: COURSE_DIR/exchange; on a shared "
                        "server e.g. /srv/nbgrader/exchange)")
    p.add_argument("--student", action="append", dest="students", default=[], metavar="ID",
                   help="add a student to nbgrader's gradebook (repeat)")
    p.add_argument("--no-exchange", action="store_true",
                   help="only generate the assignment, do not `nbgrader release_assignment` it")
    p.add_argument("--update", action="store_true",
                   help="after students submitted: new check code and points for grading, "
                        "same notebooks and cells; the exchange and students' notebooks stay")
    p = platforms.add_parser("hub", help="write the students' side of a shared JupyterHub "
                                         "(public material only) and check that students "
                                         "cannot read the instructor's files")
    p.add_argument("site", type=Path, metavar="SITE",
                   help="folder students' kernels import from, e.g. /opt/backprop/student")
    p.add_argument("--nbgrader", type=Path, metavar="COURSE_DIR", dest="course_dir",
                   help="the nbgrader course folder, which must be private too")
    p.add_argument("--kernel-python", metavar="PYTHON",
                   help="the kernel environment's python: put SITE on its path (a .pth file) "
                        "and verify that it loads the public course from any folder")

    p = staff.add_parser("report", help="reports and exports from OUT's gradebook, into "
                                        "OUT/reports")
    p.add_argument("output", type=Path, metavar="OUT", help="the --output folder of grade")
    p.add_argument("--format", action="append", metavar="F",
                   help="long, wide, nbgrader, otter, canvas, excel, html, gradescope, junit, "
                        "feedback, screenshot, or all (default: all but screenshot); "
                        "repeat or separate by commas")
    p.add_argument("--submissions", type=Path, metavar="ROOT",
                   help="the graded folder: run each student's code (sandboxed) for the "
                        "plots of their feedback")
    p.add_argument("--roster", type=Path, help="CSV: student, name, email, ids, section")
    p.add_argument("--dest", type=Path, help="where to write (default: OUT/reports)")
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--scheduler", metavar="ADDRESS|local:N", default=None,
                   help="with --submissions: run the students' code on a Dask cluster (the "
                        "scheduler's address, or local:N worker processes on this machine)")

    p = staff.add_parser("audit", help="prove the checks: references, stubs, known mistakes")
    p.add_argument("exercises", nargs="*", metavar="EXERCISE")
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--verbose", action="store_true",
                   help="show every check that failed each known-wrong implementation")
    p.add_argument("--engine", choices=["inprocess", "worker"], default="inprocess",
                   help="run the implementations in this process or in workers, as `grade` does")

    staff.add_parser("secret", help="create course_secret.txt: instructor grading draws its "
                                    "examples from it, not from the ones students see")

    p = staff.add_parser("stubs", help="regenerate exercises/ from solutions/")
    p.add_argument("--check", action="store_true", help="only report stubs that are out of date")

    p = staff.add_parser("new-exercise", help="start a new exercise: a reference skeleton, check "
                         "templates, its course_config.py entry, an audit catalog, the stub")
    p.add_argument("exercise_id", metavar="ID", help="the exercise id: the module students "
                   "write, a lowercase Python identifier such as lr_schedules")
    p.add_argument("--title", required=True, help="its title, as students and reports show it")

    args = parser.parse_args(argv)
    from grader.course.model import CourseError
    from grader.submission.mistakes import UsageError

    try:
        code = _dispatch(args)
        if argv is None:  # run as the command: the process ends next
            _skip_final_collection()
        return code
    except CourseError as e:
        print(f"grader: course configuration error: {e}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("grader: interrupted.", file=sys.stderr)
        return 130
    except UsageError as e:
        print(f"grader {args.command}: {e}", file=sys.stderr)
        return 2


def _skip_final_collection() -> None:
    # At exit Python's final garbage collections walk every object of every module imported:
    # 0.5 s once nbgrader (jupyter_server, tornado, zmq) is loaded, longer than writing the
    # gradebook. Everything is written and closed by now; frozen objects are left to the OS.
    import gc

    gc.freeze()


def _dispatch(args: argparse.Namespace) -> int:
    if args.command in ("check", "ci", "audit"):
        # Student code runs in this process here: only a real Ctrl-C may stop the run, a
        # KeyboardInterrupt raised by student code is an error in that code.
        from grader.engine.time_limit import watch_for_ctrl_c

        watch_for_ctrl_c()
    if args.command == "check":
        from grader.grading.local_check import check

        if args.hidden:  # the instructor's view of a grade: the graded examples
            from grader.authoring.checks import use_course_secret

            use_course_secret()
        ids, submission = _exercise_ids(args)
        report = check(*ids, submission=submission, hidden=args.hidden)
        assert report is not None
        print(report.text())
        return 0 if report.all_passed else 1
    if args.command == "ci":
        from grader.integrations.ci.command import run_ci

        ids, submission = _exercise_ids(args)
        return run_ci(ids, submission=submission, output=args.output, student=args.student)
    if args.command == "collect":
        from grader.integrations.ci.collect import collect

        return collect(args.sources, args.output)
    if args.command == "grade":
        if args.nbgrader:
            if args.root is not None:
                print("grader grade: give either ROOT or --nbgrader COURSE_DIR ASSIGNMENT.",
                      file=sys.stderr)
                return 2
            from grader.integrations.nbgrader.grade import grade_nbgrader
            from grader.integrations.nbgrader.nbgradebook import GradebookMismatch

            course_dir, assignment = args.nbgrader
            try:
                return grade_nbgrader(Path(course_dir), assignment, args.output,
                                      workers=args.workers, regrade=args.regrade,
                                      quiet=args.quiet, scheduler=args.scheduler)
            except GradebookMismatch as e:
                print(f"grader grade: {e}", file=sys.stderr)
                return 3
        if args.root is None or args.output is None:
            print("grader grade: ROOT and --output OUT are required (or --nbgrader COURSE_DIR "
                  "ASSIGNMENT).", file=sys.stderr)
            return 2
        from grader.grading.grade_class import grade_class

        executor = None
        if args.scheduler is not None:
            from grader.grading.dask_executor import dask_grading

            def executor() -> Any:
                return dask_grading(args.scheduler)
        return grade_class(args.root, args.output, workers=args.workers, regrade=args.regrade,
                           quiet=args.quiet, executor=executor)
    if args.command == "release" and args.platform == "repo":
        from grader.integrations.ci.release import release_repo

        return release_repo(args.dir)
    if args.command == "release" and args.platform == "hub":
        from grader.integrations.hub import release_hub

        return release_hub(args.site, course_dir=args.course_dir,
                           kernel_python=args.kernel_python)
    if args.command == "release":
        from grader.integrations.nbgrader.release import release_main

        return release_main(args)
    if args.command == "report":
        from grader.reports.build import build_reports, parse_formats
        from grader.reports.data import ReportError

        try:
            written = build_reports(args.output, parse_formats(args.format), dest=args.dest,
                                    submissions=args.submissions, roster=args.roster,
                                    workers=args.workers, scheduler=args.scheduler)
        except ReportError as e:
            print(f"grader report: {e}", file=sys.stderr)
            return 2
        dest = args.dest or args.output / "reports"
        print(f"grader report: wrote {len(written)} file(s) into {dest}")
        return 0
    if args.command == "audit":
        from grader.grading.audit import audit

        return audit(args.exercises or None, workers=args.workers, verbose=args.verbose,
                     engine=args.engine)
    if args.command == "secret":
        return _secret()
    if args.command == "stubs":
        return _stubs(check_only=args.check)
    if args.command == "new-exercise":
        return _new_exercise(args.exercise_id, args.title)
    raise AssertionError(args.command)



def _exercise_ids(args: argparse.Namespace) -> tuple[list[str], Path | None]:
    """`check`'s and `ci`'s EXERCISE arguments (ids or exercise files) and --submission."""
    from grader.course.model import load_course
    from grader.submission.mistakes import exercise_ids

    return exercise_ids(args.exercises, list(load_course().exercises), args.submission)


def _stubs(*, check_only: bool) -> int:
    from grader.course.model import load_course
    from grader.course.stubs import (
        PersonsWork,
        StubRecordError,
        survey,
        unregistered,
        unregistered_advice,
        write_stubs,
    )

    course = load_course()
    ids = list(course.exercises)
    # A solution not in EXERCISES gets no stub: each is named, and the exit code says so,
    # after the stubs of the exercises are written.
    strays = [unregistered_advice(name) for name in unregistered(course.solutions_dir, ids)]

    def shown(path: Path) -> str:
        return str(path.relative_to(course.root))

    try:
        if check_only:
            advice = {
                "stale": "is out of date: run `grader stubs`",
                "missing": "is missing: run `grader stubs`",
                "unrecorded": "is the generated stub, but exercises/.stubs.json does not "
                              "record it: run `grader stubs`",
                "work": "holds someone's work, not a stub `grader stubs` generated: keep it. "
                        "This is the course's own repository, which tests its generated "
                        "stubs; students work in their own repository (`grader release "
                        "repo`) or nbgrader assignment. To restore the stub here, move the "
                        "file out of exercises/, then run `grader stubs`",
                "not_a_file": "is not a regular file (a folder or a symbolic link): move it "
                              "out of exercises/, then run `grader stubs`",
            }
            bad = [s for s in survey(course.solutions_dir, course.exercises_dir, ids)
                   if s.state != "current"]
            for state in bad:
                print(f"{shown(state.path)} {advice[state.state]}.")
            for line in strays:
                print(line)
            return 1 if bad or strays else 0
        written = write_stubs(course.solutions_dir, course.exercises_dir, ids)
    except StubRecordError as e:
        print(f"grader stubs: {e}: restore it from git (`git checkout -- "
              "exercises/.stubs.json`); nothing was written.", file=sys.stderr)
        return 2
    except PersonsWork as e:
        for state in e.states:
            what = ("is not a regular file (a folder or a symbolic link)"
                    if state.state == "not_a_file"
                    else "holds someone's work, not a stub `grader stubs` generated")
            print(f"grader stubs: {shown(state.path)} {what}: nothing was written. To replace "
                  f"it, move it out of exercises/ first (e.g. `mv {shown(state.path)} "
                  f"{state.exercise}.mine.py`), then run `grader stubs` again.",
                  file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {shown(path)}")
    if not written:
        print("exercises/ holds the current stubs already; nothing to write.")
    for line in strays:
        print(f"grader stubs: {line}", file=sys.stderr)
    return 1 if strays else 0


def _new_exercise(exercise_id: str, title: str) -> int:
    from grader.course.scaffold import ScaffoldError, new_exercise, next_steps

    try:
        created = new_exercise(exercise_id, title)
    except ScaffoldError as e:
        print(f"grader new-exercise: {e}", file=sys.stderr)
        return 2
    print(f"Created exercise {exercise_id!r} ({title.strip()}):")
    for path in created.files:
        print(f"  wrote {path}")
    print(f"  added {exercise_id!r} to EXERCISES in {created.config}")
    print(next_steps(exercise_id))
    return 0


def _secret() -> int:
    from grader.course import secret as course_secret
    from grader.course.model import load_course

    root = load_course().root
    try:
        path = course_secret.create(root)
    except FileExistsError:
        print(f"grader secret: {root / course_secret.FILENAME} exists already: a new secret "
              "would change every graded example, so every score. Delete it yourself if you "
              "really mean to.", file=sys.stderr)
        return 1
    fingerprint = course_secret.fingerprint(course_secret.read(root) or "")
    print(f"Wrote {path} (fingerprint {fingerprint}). Keep it private, with solutions/: "
          f"grader grade draws every check's examples from it. In CI, set the repository "
          f"secret {course_secret.ENV} to its contents instead.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
