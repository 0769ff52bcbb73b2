"""Answers to the mistakes in naming an exercise, a submission or a class folder, one line each.

Trust role: the front end of the commands, in the process of whoever runs them. It reads
only names and paths (which exercise files a folder holds, whether a folder is a course);
it never reads or runs a file's content.

- An exercise id mistyped (`grader check softmax`): did you mean the closest id, and the list.
- A path to an exercise file given as an id (`grader check exercises/softmax_ce.py`): the
  exercise, with that file's folder as the submission.
- A folder that does not exist given as a submission.
- One student's folder, or the course's own repository, given where a folder of students is
  expected (`grader grade`, `grader collect`): graded as a class, its own folders
  (`exercises`, `grader`, `tests`) would each become a "student".
"""

from __future__ import annotations

import difflib
from pathlib import Path

from grader.submission.files import exercise_file_candidates, find_exercise_file

SUFFIXES = (".py", ".ipynb")


class UsageError(Exception):
    """A command was called in a way that cannot work; the message says what to do."""


def unknown_exercise(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    if not close:  # a prefix ("softmax", "xor") is what people type most
        close = [k for k in known if k.startswith(name) or name.startswith(k)][:1]
    hint = f": did you mean {close[0]}?" if close else "."
    return f"unknown exercise {name!r}{hint} The exercises are {', '.join(known)}."


def exercise_ids(names: list[str], known: list[str], submission: Path | None
                 ) -> tuple[list[str], Path | None]:
    """The exercise ids and the submission folder meant by `grader check NAME... [--submission
    DIR]`: NAME is an id or a path to an exercise file (then its folder is the submission).
    Raises UsageError."""
    ids: list[str] = []
    folder = submission
    for name in names:
        path = Path(name)
        is_path = path.suffix in SUFFIXES or len(path.parts) > 1
        ex_id = path.stem if path.suffix in SUFFIXES else path.name
        if ex_id not in known:
            raise UsageError(unknown_exercise(ex_id if is_path else name, known))
        if is_path:
            folder = _folder_of_file(path, ex_id, folder, submission)
        ids.append(ex_id)
    if submission is not None:
        check_submission_folder(submission, ids or known)
    return ids, folder


def _folder_of_file(path: Path, ex_id: str, folder: Path | None, submission: Path | None
                    ) -> Path:
    if not path.is_file():
        raise UsageError(f"{path} is not a file: give the exercise id (`grader check {ex_id}` "
                         f"reads exercises/{ex_id}.py), or --submission FOLDER for the folder "
                         "holding your files.")
    parent = path.parent
    if submission is not None and parent.resolve() != submission.resolve():
        raise UsageError(f"{path} is not in --submission {submission}: give one of them "
                         f"(`grader check {ex_id} --submission {parent}`).")
    if folder is not None and parent.resolve() != folder.resolve():
        raise UsageError(f"the files given are in different folders ({folder}, {parent}): "
                         "check one folder at a time.")
    read = find_exercise_file(parent, ex_id)
    if read is not None and read.resolve() != path.resolve():
        raise UsageError(f"{parent} holds {read.name} too, which is what grader check reads "
                         f"for {ex_id}: move one of the two out of {parent}.")
    return parent


def check_submission_folder(submission: Path, ids: list[str]) -> None:
    if submission.is_dir():
        return
    if submission.is_file() and submission.suffix in SUFFIXES and submission.stem in ids:
        raise UsageError(f"--submission is the folder holding your exercise files, not a file: "
                         f"run `grader check {submission.stem} --submission "
                         f"{submission.parent}`.")
    what = "is not a folder" if submission.exists() else "does not exist"
    raise UsageError(f"--submission {submission} {what}: give the folder holding your "
                     "exercise files (e.g. --submission exercises).")


def class_folder_problem(root: Path, ids: list[str], command: str) -> str | None:
    """Why ROOT, given to `grader grade` or `grader collect` (COMMAND), is not a folder of
    students, as a one-line answer; None when it may be one."""
    parent = root.parent if root.name else root.resolve().parent
    if command == "grade":
        instead = ("give the folder that holds one folder per student (`grader collect` "
                   "gathers them from repositories or zips)")
        one = f"give the folder that holds every student's folder: grader grade {parent} " \
              "--output OUT"
    else:
        instead = "give the folder that holds the students' repositories, folders or zips"
        one = f"give the folder that holds every student's: grader collect {parent} " \
              "--output OUT"
    course = (root / "course_config.py").is_file()
    if course and (root / "solutions").is_dir():
        return f"{root} is the course's own repository (it holds solutions/): {instead}."
    # A released student repository holds a course_config.py too: it is one student's.
    found = [c for ex_id in ids for c in exercise_file_candidates(root, ex_id) if c.is_file()]
    if found:
        shown = found[0].relative_to(root).as_posix()
        return f"{root} looks like one student's folder (it holds {shown}): {one}."
    if course:
        return f"{root} is a course repository (it holds course_config.py): {instead}."
    return None
