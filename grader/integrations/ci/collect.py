"""`grader collect SOURCE... --output DIR`: submissions gathered as `grader grade` reads them.

Each entry of each SOURCE folder is one student: a folder (a clone of their repository, or any
folder) or a .zip file (GitHub's "Download ZIP", an LMS export), named after the folder or
the zip's name without `.zip`. Only the exercise files are taken, where the contract looks
for them (`<id>.py` or `<id>.ipynb`, at the top or in `exercises/`; in a zip also under one
top folder), each as a regular file of at most MAX_FILE_BYTES (a larger one is cut just past
the grader's own limit, so grading says "too large"). Nothing else is copied: no symlink
(a link to solutions/ would hand the student the reference), no student folder that is a
link itself, no file outside the entry, and a zip's member names are only matched, never
used as paths. A student with no exercise file gets an empty folder, so grading records
them as missing rather than forgetting them.

A git repository's last commit time (git's committer date, which its author can set) goes to
the student's `timestamp.txt`, nbgrader's name for it, for the late policy; `collected.json`
in DIR lists, for every student, where the files came from, what was found and any problem.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path, PurePosixPath

from grader.course.model import load_course
from grader.printable import printable
from grader.sandbox.runtime.loading import MAX_SOURCE_BYTES
from grader.submission.mistakes import class_folder_problem
from grader.submission.notebook import MAX_NOTEBOOK_BYTES

MAX_FILE_BYTES = max(MAX_SOURCE_BYTES, MAX_NOTEBOOK_BYTES)
MANIFEST = "collected.json"
SUFFIXES = (".py", ".ipynb")


def collect(sources: list[Path], output: Path, exercise_ids: list[str] | None = None) -> int:
    exercise_ids = exercise_ids or list(load_course().exercises)
    output = Path(output)
    problem = _check_output(sources, output) or next(
        (p for s in sources if s.is_dir()
         for p in [class_folder_problem(s, exercise_ids, "collect")] if p), None)
    if problem:
        print(f"grader collect: {problem}", file=sys.stderr)
        return 2
    output.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, dict] = {}
    for source in sources:
        if not source.is_dir():
            print(f"grader collect: {source} is not a folder; skipped.", file=sys.stderr)
            continue
        for entry in sorted(source.iterdir(), key=lambda p: p.name):
            student, kind = _student_of(entry)
            if student is None:
                if entry.is_symlink():
                    print(f"grader collect: {_shown(entry)} is a symbolic link; skipped (a link "
                          "could point at any folder, the course's own included).",
                          file=sys.stderr)
                continue
            if student in manifest:
                manifest[student]["problems"].append(
                    f"another submission with this name, {entry}, was skipped")
                continue
            target = output / student
            if target.exists():
                shutil.rmtree(target)  # this folder's own earlier collection of the student
            target.mkdir()
            record = {"source": str(entry), "kind": kind, "files": {}, "problems": [],
                      "timestamp": None}
            found = (_from_zip(entry, exercise_ids, record) if kind == "zip"
                     else _from_folder(entry, exercise_ids, record))
            for name, content in found.items():
                (target / name).write_bytes(content)
            if kind == "git":
                record["timestamp"] = _commit_time(entry, record)
            if record["timestamp"]:
                (target / "timestamp.txt").write_text(record["timestamp"] + "\n")
            manifest[student] = record
    (output / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n",
                                   encoding="utf-8")
    files = sum(len(r["files"]) for r in manifest.values())
    print(f"Collected {len(manifest)} student(s), {files} exercise file(s), into {output}.")
    for student, record in manifest.items():
        for problem in record["problems"]:
            print(f"  {_shown(student)}: {_shown(problem)}")
    return 0


def _shown(text: object) -> str:
    """Student names (and messages quoting them) on one line without control sequences: the
    instructor's terminal is the sink; collected.json keeps them exact."""
    return printable(str(text), newlines=False)


def _check_output(sources: list[Path], output: Path) -> str | None:
    resolved = output.resolve()
    for source in sources:
        s = source.resolve()
        if resolved == s or s in resolved.parents or resolved in s.parents:
            return f"the output {output} must be apart from the source {source}"
    if output.exists() and any(output.iterdir()) and not (output / MANIFEST).is_file():
        return (f"{output} is not empty and was not written by `grader collect` "
                f"(no {MANIFEST}); give a new folder")
    return None


def _student_of(entry: Path) -> tuple[str | None, str]:
    if entry.name.startswith("."):
        return None, ""
    try:
        mode = entry.lstat().st_mode
    except OSError:
        return None, ""
    if stat.S_ISDIR(mode):
        git = entry / ".git"
        return entry.name, "git" if git.is_dir() and not git.is_symlink() else "folder"
    if stat.S_ISREG(mode) and entry.suffix.lower() == ".zip" and len(entry.name) > 4:
        return entry.name[:-4], "zip"
    return None, ""  # a symlink, or a file that is not a submission


def _from_folder(folder: Path, exercise_ids: list[str], record: dict) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for ex_id in exercise_ids:
        for parts in _candidates(ex_id, [()]):
            content = _read_regular(folder, parts, record)
            if content is not None:
                found[parts[-1]] = content
                record["files"][ex_id] = "/".join(parts)
                break
    return found


def _read_regular(folder: Path, parts: tuple[str, ...], record: dict) -> bytes | None:
    """The first MAX_FILE_BYTES + 1 bytes of FOLDER/parts if every step is a real folder and
    the file a regular file (no symlink anywhere), else None."""
    path = folder
    for i, part in enumerate(parts):
        path = path / part
        try:
            mode = path.lstat().st_mode
        except OSError:
            return None
        last = i == len(parts) - 1
        if stat.S_ISLNK(mode):
            note = f"{'/'.join(parts[:i + 1])} is a symbolic link: not collected"
            if note not in record["problems"]:
                record["problems"].append(note)
            return None
        if not (stat.S_ISREG(mode) if last else stat.S_ISDIR(mode)):
            return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        return f.read(MAX_FILE_BYTES + 1)


def _from_zip(path: Path, exercise_ids: list[str], record: dict) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            members = {}
            for info in archive.infolist():
                if info.is_dir() or stat.S_ISLNK(info.external_attr >> 16):
                    continue
                parts = PurePosixPath(info.filename.replace("\\", "/")).parts
                members.setdefault(parts, info)
            tops = sorted({parts[0] for parts in members if len(parts) > 1})
            for ex_id in exercise_ids:
                for parts in _candidates(ex_id, [(), *((top,) for top in tops)]):
                    if parts in members:
                        with archive.open(members[parts]) as f:
                            found[parts[-1]] = f.read(MAX_FILE_BYTES + 1)
                        record["files"][ex_id] = "/".join(parts)
                        break
    except (zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError, OSError, EOFError,
            ValueError, NotImplementedError) as e:
        record["problems"].append(f"{path.name} could not be read as a zip file "
                                  f"({type(e).__name__}); nothing collected from it")
        return {}
    return found


def _candidates(ex_id: str, roots: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """Where the contract looks for an exercise, in its order of preference, under each root
    (a zip may hold everything in one top folder)."""
    return [(*root, *where, f"{ex_id}{suffix}") for root in roots
            for where in ((), ("exercises",)) for suffix in SUFFIXES]


def _commit_time(repo: Path, record: dict) -> str | None:
    """The committer date of HEAD, ISO 8601. The repository's own config is the student's:
    whatever in it could run a program during `git log` is switched off on the command line."""
    if shutil.which("git") is None:
        record["problems"].append("git is not installed: no commit time recorded")
        return None
    command = ["git", "--no-pager", "--no-optional-locks",
               "-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null",
               "-c", "log.showSignature=false", "-c", "safe.directory=*",
               "-C", str(repo), "log", "-1", "--format=%cI", "HEAD"]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    try:
        run = subprocess.run(command, capture_output=True, text=True, timeout=20, env=env,
                             stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        run = None
    if run is None or run.returncode != 0 or not run.stdout.strip():
        record["problems"].append("no commit found in its git repository: no commit time "
                                  "recorded")
        return None
    return run.stdout.strip()
