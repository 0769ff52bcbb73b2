"""`grader release hub SITE`: the course on a shared JupyterHub, students' side and instructor's.

Trust role: this module decides what students' kernels may see. It runs as the instructor,
reads the whole course, and writes only public material: the student site SITE (the files of
`grader release repo` that a kernel needs, plus the three modules nbgrader's test cells call,
searched for leaks with the same search before anything is written) and, with
`--kernel-python`, one .pth file that puts SITE on that environment's path. It never runs
student code.

On a hub every student's kernel runs as the student's own uid, so what keeps the instructor's
files from them is the file system. Before writing anything it refuses while another uid could
read solutions/, tests/checks/hidden/, course_secret.txt or nbgrader's COURSE_DIR (source
notebooks with solutions, the grading copy grader_course, gradebook.db, submissions), and
says which `chmod go-rwx` makes them private. It changes no permission itself: the instructor
decides, and a repository kept under a private home folder needs no change. The rule is
deliberately simple: a path is private when it, or a folder above it, grants nothing to group
and others (mode & 0o077 == 0), because students on a hub may share a group with the
instructor (`users`).

A kernel finds the course as `grader.course.model.find_root` does: $GRADER_COURSE_ROOT, else a
course folder above its working folder, else the folder the package was imported from, which
is SITE. So a student's kernel works from any folder (its working folder is their home), and
nbgrader's own autograde keeps grading with COURSE_DIR/grader_course through the
$GRADER_COURSE_ROOT its nbgrader_config.py sets.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

from grader.course import secret as course_secret
from grader.course.model import Course, load_course
from grader.integrations.ci.release import WORKFLOW, find_leaks, student_repo_files

MARKER = ".grader-hub-site"
PTH_MARKER = "# Written by `grader release hub`"
# The modules nbgrader's released test cells import
# (`from grader.integrations.nbgrader.kernel import run_checks`); the rest of
# grader/integrations/nbgrader releases and grades, for instructors only.
KERNEL_MODULES = ("__init__.py", "kernel.py", "feedback.py")
# Files of the student repository that are about the repository, not the kernel.
_REPO_ONLY = {WORKFLOW, "Makefile", ".gitignore", "README.md"}

SITE_README = """# {name}: the students' side on JupyterHub

Written by `grader release hub`; it is replaced as a whole by the next one, so edit the
course, not this folder. It holds only public material: the `grader` package that students'
kernels import, the public checks, `course_config.py` without the hidden checks, and the
exercise stubs. In a notebook:

    from grader import check
    check("{first}")
"""


class HubError(Exception):
    """A setup step cannot be done safely; the message says what to do."""


def hub_files(course: Course) -> dict[str, bytes]:
    """Every file of the student site, by its path relative to SITE."""
    import grader

    files = {k: v for k, v in student_repo_files(course).items() if k not in _REPO_ONLY}
    package = Path(grader.__file__).resolve().parent / "integrations" / "nbgrader"
    for name in KERNEL_MODULES:
        files[f"grader/integrations/nbgrader/{name}"] = (package / name).read_bytes()
    files["README.md"] = SITE_README.format(
        name=course.name, first=next(iter(course.exercises))).encode()
    files[MARKER] = b"The students' side of the course, written by `grader release hub`.\n"
    return files


def _private(path: Path) -> bool:
    """Only the owner (and root) can reach PATH: it or a folder above it has no group or
    other permission bits."""
    for p in (path, *path.parents):
        try:
            if os.stat(p).st_mode & 0o077 == 0:
                return True
        except OSError:
            continue
    return False


def exposed(course: Course, course_dir: Path | None) -> list[Path]:
    """The instructor's paths that another uid could read."""
    candidates = [course.solutions_dir, course.checks_dir / "hidden",
                  course.root / course_secret.FILENAME]
    if course_dir is not None:
        candidates.append(course_dir)
    return [p.resolve() for p in candidates if p.exists() and not _private(p.resolve())]


def _unreachable(site: Path) -> Path | None:
    """The first folder above SITE that other users cannot search, if any."""
    for p in reversed(site.parents):
        if p.exists() and not os.stat(p).st_mode & stat.S_IXOTH:
            return p
    return None


def _exchange_inside(course_dir: Path) -> Path | None:
    """nbgrader's exchange when it lies inside COURSE_DIR (students must reach it)."""
    from traitlets.config.loader import PyFileConfigLoader

    from grader.integrations.nbgrader.coursedir import CONFIG_NAME

    root = str(course_dir / "exchange")
    if (course_dir / CONFIG_NAME).is_file():
        saved = dict(os.environ)  # the config sets $GRADER_COURSE_ROOT for nbgrader's kernels
        try:
            config = PyFileConfigLoader(CONFIG_NAME, path=str(course_dir)).load_config()
        finally:
            os.environ.clear()
            os.environ.update(saved)
        root = str(config.get("Exchange", {}).get("root", "/srv/nbgrader/exchange"))
    exchange = Path(os.path.abspath(os.path.join(course_dir, root)))
    return exchange if exchange == course_dir or course_dir in exchange.parents else None


def preflight(site: Path, course: Course, course_dir: Path | None) -> None:
    """Everything that must hold before anything is written; HubError says what to do."""
    if course_dir is not None:
        if not (course_dir / "nbgrader_config.py").is_file():
            raise HubError(f"{course_dir} has no nbgrader_config.py: run `grader release "
                           f"nbgrader {course_dir} --exchange /srv/nbgrader/exchange` first")
        inside = _exchange_inside(course_dir)
        if inside is not None:
            raise HubError(f"nbgrader's exchange {inside} is inside {course_dir}, which "
                           f"students must not read: run `grader release nbgrader "
                           f"{course_dir} --exchange /srv/nbgrader/exchange` (a folder outside)")
    if site.resolve() == course.root or course.root in site.resolve().parents:
        raise HubError(f"{site} is inside the course repository: give a folder outside it, "
                       "e.g. /opt/<course>/student")
    if site.exists() and (not site.is_dir() or (any(site.iterdir())
                                                and not (site / MARKER).is_file())):
        raise HubError(f"{site} exists and was not written by `grader release hub`; it is "
                       "kept as it is: give a new or empty folder")
    blocked = _unreachable(site.resolve())
    if blocked is not None:
        raise HubError(f"students cannot reach {site}: other users cannot search {blocked}; "
                       "give a folder they can, e.g. /opt/<course>/student")
    open_paths = exposed(course, course_dir)
    if open_paths:
        names = " ".join(str(p) for p in open_paths)
        raise HubError(f"other users (students' kernels) can read {names}: run "
                       f"`chmod go-rwx {names}` and try again")


def write_site(site: Path, files: dict[str, bytes]) -> None:
    """Write FILES as SITE, readable by everyone whatever the umask, replacing an earlier
    site as a whole so a kernel never imports half an old and half a new grader."""
    site = site.resolve()
    site.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{site.name}-new-", dir=site.parent))
    for relative, content in files.items():
        path = staging / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        os.chmod(path, 0o644)
    for folder in [staging, *(p for p in staging.rglob("*") if p.is_dir())]:
        os.chmod(folder, 0o755)
    old = site.with_name(f".{site.name}-old")
    if site.exists():
        shutil.rmtree(old, ignore_errors=True)
        site.rename(old)
    staging.rename(site)
    shutil.rmtree(old, ignore_errors=True)


_PROBE = """
import importlib.util, json, sys
spec = importlib.util.find_spec("grader")
out = {"origin": spec.origin if spec else None}
if spec and "--load" in sys.argv:
    from grader.course.model import load_course
    from grader.authoring.checks import checks_for
    course = load_course()
    out["root"] = str(course.root)
    out["hidden"] = sorted(n for e in course.exercises.values() for n in e.hidden)
    out["checks"] = sum(len(checks_for(e, include_hidden=False)) for e in course.exercises)
    import hypothesis
    out["hypothesis"] = hypothesis.__version__
print(json.dumps(out))
"""


def _probe(python: str, *args: str) -> dict:
    """What PYTHON imports as `grader`, run from / as a student's kernel would (no
    $GRADER_COURSE_ROOT, no course folder above it)."""
    env = {k: v for k, v in os.environ.items() if k != "GRADER_COURSE_ROOT"}
    try:
        run = subprocess.run([python, "-I", "-c", _PROBE, *args], cwd="/", env=env,
                             capture_output=True, text=True, timeout=120)
    except OSError as e:
        raise HubError(f"{python} does not run ({e.strerror}): give the kernel environment's "
                       "python, e.g. /opt/jupyterhub/bin/python") from None
    if run.returncode != 0:
        last = (run.stderr.strip().splitlines() or ["no output"])[-1]
        raise HubError(f"{python} cannot load the course from {os.sep}: {last}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def _purelib(python: str) -> Path:
    out = subprocess.run([python, "-I", "-c",
                          "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, timeout=60)
    return Path(out.stdout.strip())  # it ran a moment ago (_probe)


def install_pth(site: Path, python: str, course: Course) -> Path:
    """Put SITE on PYTHON's path with one .pth file (ours alone; nothing is copied into the
    environment, so the next release reaches every kernel at once)."""
    slug = re.sub(r"[^a-z0-9]+", "-", course.name.lower()).strip("-") or "course"
    pth = _purelib(python) / f"grader-hub-{slug}.pth"
    if pth.exists() and not pth.read_text(errors="replace").startswith(PTH_MARKER):
        raise HubError(f"{pth} exists and was not written by `grader release hub`; it is "
                       "kept as it is: remove it yourself if it is stale")
    pth.write_text(f"{PTH_MARKER}: the students' side of {course.name}.\n{site}\n")
    os.chmod(pth, 0o644)
    return pth


def release_hub(site: Path, *, course_dir: Path | None = None,
                kernel_python: str | None = None, course: Course | None = None) -> int:
    """`grader release hub SITE [--nbgrader COURSE_DIR] [--kernel-python PYTHON]`."""
    course = course or load_course()
    site = Path(os.path.abspath(site))
    course_dir = Path(course_dir).resolve() if course_dir is not None else None
    try:
        preflight(site, course, course_dir)
        files = hub_files(course)
        leaks = find_leaks(files, course)
        if leaks:
            print("grader release hub: refusing to write a student site that would leak:",
                  *leaks, sep="\n  ", file=sys.stderr)
            return 1
        if kernel_python is not None:
            before = _probe(kernel_python)["origin"]
            if before is not None and Path(site, "grader") not in Path(before).parents:
                raise HubError(f"{kernel_python} imports grader from {before}: uninstall it "
                               "from the kernel environment (`pip uninstall "
                               "backprop-course-grader`) and grade with your own environment")
        write_site(site, files)
        print(f"Wrote the student site to {site} ({len(files)} files, readable by everyone): "
              "grader/, tests/checks/public/, course_config.py without the hidden checks, "
              "exercises/. Nothing of solutions/ or tests/checks/hidden/ is in it.")
        if kernel_python is None:
            print(f"Next: put it on the kernel environment's path: grader release hub {site} "
                  "--kernel-python /opt/jupyterhub/bin/python")
            return 0
        pth = install_pth(site, kernel_python, course)
        seen = _probe(kernel_python, "--load")
        if Path(seen["root"]) != site or seen["hidden"]:
            raise HubError(f"{kernel_python} loads the course from {seen['root']}, not {site}: "
                           "unset GRADER_COURSE_ROOT in the kernels' environment")
        print(f"Wrote {pth}: kernels of {kernel_python} import grader from {site} in any "
              f"folder ({seen['checks']} public checks, no hidden ones).")
        import hypothesis

        if seen["hypothesis"] != hypothesis.__version__:
            print(f"note: the kernels have Hypothesis {seen['hypothesis']}, this grader "
                  f"{hypothesis.__version__}: install the same version there, or students' "
                  "checks try other examples than `grader check` here.")
    except HubError as e:
        print(f"grader release hub: {e}", file=sys.stderr)
        return 1
    return 0
