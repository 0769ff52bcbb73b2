"""The `grader` command: check and ci (students), grade, audit, collect and release
(instructors), stubs (authors)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="grader", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

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

    p = sub.add_parser("release", help="write what students get (the student repository)")
    p.add_argument("what", choices=["repo"])
    p.add_argument("dir", type=Path, help="new (or empty) folder to write it to")

    p = sub.add_parser("collect", help="gather student repositories or zips into one folder "
                       "per student, ready for `grader grade`")
    p.add_argument("sources", nargs="+", type=Path,
                   help="folders holding one repository/folder or .zip per student")
    p.add_argument("--output", type=Path, required=True)

    p = sub.add_parser("grade", help="grade every student folder of ROOT, in sandboxed workers")
    p.add_argument("root", type=Path)
    p.add_argument("--output", type=Path, required=True)
    p.add_argument("--workers", type=int, default=None,
                   help="grading processes in parallel (default: the machine's cores)")
    p.add_argument("--regrade", action="store_true",
                   help="grade again students whose submission and grader are unchanged")
    p.add_argument("--quiet", action="store_true")

    p = sub.add_parser("audit", help="prove the checks: references, stubs, known mistakes")
    p.add_argument("exercises", nargs="*", metavar="EXERCISE")
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--verbose", action="store_true", help="show which check killed each mutant")
    p.add_argument("--engine", choices=["inprocess", "worker"], default="inprocess",
                   help="run the implementations in this process or in workers, as `grade` does")

    p = sub.add_parser("stubs", help="regenerate exercises/ from solutions/")
    p.add_argument("--check", action="store_true", help="only report stubs that are out of date")

    args = parser.parse_args(argv)
    from grader.course import CourseError

    try:
        return _dispatch(args)
    except CourseError as e:
        print(f"grader: course configuration error: {e}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("grader: interrupted.", file=sys.stderr)
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    if args.command in ("check", "ci", "audit"):
        # Student code runs in this process here: only a real Ctrl-C may stop the run, a
        # KeyboardInterrupt raised by student code is an error in that code.
        from grader.limits import watch_for_ctrl_c

        watch_for_ctrl_c()
    if args.command == "check":
        from grader.local_check import check

        report = check(*args.exercises, submission=args.submission, hidden=args.hidden)
        assert report is not None
        print(report.text())
        return 0 if report.all_passed else 1
    if args.command == "ci":
        from grader.ci.command import run_ci

        return run_ci(args.exercises, submission=args.submission, output=args.output,
                      student=args.student)
    if args.command == "release":
        from grader.ci.release import release_repo

        return release_repo(args.dir)
    if args.command == "collect":
        from grader.ci.collect import collect

        return collect(args.sources, args.output)
    if args.command == "grade":
        from grader.grade import grade_class

        return grade_class(args.root, args.output, workers=args.workers, regrade=args.regrade,
                           quiet=args.quiet)
    if args.command == "audit":
        from grader.audit import audit

        return audit(args.exercises or None, workers=args.workers, verbose=args.verbose,
                     engine=args.engine)
    if args.command == "stubs":
        from grader.course import load_course
        from grader.stubs import stale_stubs, write_stubs

        course = load_course()
        ids = list(course.exercises)
        if args.check:
            stale = stale_stubs(course.solutions_dir, course.exercises_dir, ids)
            for ex_id in stale:
                print(f"exercises/{ex_id}.py is out of date: run `grader stubs`")
            return 1 if stale else 0
        for path in write_stubs(course.solutions_dir, course.exercises_dir, ids):
            print(f"wrote {path.relative_to(course.root)}")
        return 0
    raise AssertionError(args.command)


if __name__ == "__main__":
    sys.exit(main())
