"""On JupyterHub a student's kernel checks its work and reads nothing of the instructor's.

The JupyterHub path: a student's kernel, as another uid, checks its work and reads nothing
of the instructor's.

A shared server is built in a world-readable temporary folder: a copy of the course (the
instructor's repository), a real nbgrader course released from it with its exchange outside,
and a kernel environment (a venv seeing the project's packages, as a hub's shared environment
would). `grader release hub` runs as the README says: refused while the instructor's files are
readable, then after the `chmod` it names, writing the student site and the kernel
environment's .pth. A real IPython kernel then starts through jupyter_client as an unused uid
with no capabilities, in that student's home, and runs what a student's notebook runs.

This machine's Python lives under /root (0700), which a hub's kernel environment never does:
the kernel's launcher (root, before it drops to the student's uid) covers /root with an empty
tmpfs in a private mount namespace and binds the interpreter back, nothing else. The course
files live in /tmp and are seen exactly as on the host.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
from pathlib import Path

import pytest
from support import GRADER, REFERENCE, ROOT

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="starting a kernel as another uid "
                             "needs root (the project's machines run tests as root)")

STUDENT_UID = 61721  # no passwd entry needed; outside the grader's worker uids
ASSIGNMENT = "backprop"


def _grader(*args: str, course: Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "GRADER_COURSE_ROOT": str(course)}
    return subprocess.run([str(GRADER), *args], capture_output=True, text=True, env=env,
                          cwd=cwd or course, timeout=300)


def _as_student(*cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(["setpriv", f"--reuid={STUDENT_UID}", f"--regid={STUDENT_UID}",
                           "--clear-groups", "--inh-caps=-all", *cmd],
                          capture_output=True, text=True, timeout=60)


def _blocker(path: Path) -> Path | None:
    """The first folder above PATH that other users cannot search."""
    for p in reversed(path.parents):
        if not os.stat(p).st_mode & stat.S_IXOTH:
            return p
    return None


@pytest.fixture(scope="module")
def server():
    base = Path(tempfile.mkdtemp(prefix="grader-hub-test-"))
    os.chmod(base, 0o755)  # /tmp itself is open; pytest's tmp_path is 0700
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def hub(server):
    base = server
    course = base / "course"  # the instructor's repository
    ignore = shutil.ignore_patterns("__pycache__", ".hypothesis")
    for folder in ("exercises", "solutions", "tests/checks"):
        shutil.copytree(ROOT / folder, course / folder, ignore=ignore)
    for name in ("course_config.py", "tests/conftest.py"):
        shutil.copy2(ROOT / name, course / name)
    assert _grader("secret", course=course).returncode == 0  # a secret of this copy's own
    # `grader secret` writes it 0600; a secret checked out from a repository has the umask's
    # mode, as this repository's has.
    os.chmod(course / "course_secret.txt", 0o644)
    nbcourse = base / "nbcourse"
    run = _grader("release", "nbgrader", str(nbcourse), "--exercise", "softmax_ce",
                  "--exchange", str(base / "exchange"), "--no-exchange", course=course)
    assert run.returncode == 0, run.stderr

    kernel_env = base / "kernel-env"  # the hub's shared kernel environment
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(kernel_env)],
                   check=True, timeout=120)
    purelib = subprocess.run([str(kernel_env / "bin" / "python"), "-c",
                              "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    # A path line, not `import site`: the project venv's own .pth files (its editable
    # install of the instructor's grader among them) are not processed.
    Path(purelib, "project-packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    site = base / "opt" / "backprop" / "student"
    secrets = [course / "solutions" / "softmax_ce.py",
               course / "tests" / "checks" / "hidden" / "test_softmax_ce.py",
               course / "course_secret.txt",
               nbcourse / "grader_course" / "solutions" / "softmax_ce.py",
               nbcourse / "grader_course" / "course_secret.txt",
               nbcourse / "source" / ASSIGNMENT / "softmax_ce.ipynb",
               nbcourse / "gradebook.db"]
    return {"base": base, "course": course, "nbcourse": nbcourse, "site": site,
            "python": kernel_env / "bin" / "python", "purelib": Path(purelib),
            "secrets": secrets}


@pytest.mark.slow
@as_root
def test_release_hub_refuses_until_the_instructors_files_are_private(hub):
    course, site = hub["course"], hub["site"]
    # The control: before the chmod, the student's uid can read the solutions, so the
    # PermissionErrors below come from the layout, not from the way the test reads.
    assert _as_student("/bin/cat", str(hub["secrets"][0])).returncode == 0
    args = ("release", "hub", str(site), "--nbgrader", str(hub["nbcourse"]),
            "--kernel-python", str(hub["python"]))
    refused = _grader(*args, course=course)
    assert refused.returncode == 1
    assert not site.exists()  # checked first: nothing written
    line = refused.stderr.strip()
    assert len(line.splitlines()) == 1 and "can read" in line
    fix = re.search(r"`(chmod go-rwx [^`]+)`", line)
    assert fix is not None, line
    for path in ("solutions", "tests/checks/hidden", "course_secret.txt"):
        assert str(course / path) in fix.group(1)
    assert str(hub["nbcourse"]) in fix.group(1)
    subprocess.run(fix.group(1).split(), check=True)

    done = _grader(*args, course=course)
    assert done.returncode == 0, done.stderr
    assert "no hidden ones" in done.stdout
    names = {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()}
    assert "grader/integrations/nbgrader/kernel.py" in names and "course_config.py" in names
    assert "tests/checks/public/test_softmax_ce.py" in names
    assert not any(n.startswith(("solutions/", "tests/checks/hidden/")) or
                   n.endswith("course_secret.txt") for n in names)
    # The instructors' part of the package
    assert "grader/integrations/nbgrader/release.py" not in names
    assert not names & {"grader/sandbox/isolation/spec.py", "grader/grading/grade_class.py",
                        "grader/grading/audit.py", "grader/gradebook/store.py",
                        "grader/sandbox/launcher.py"}
    assert (hub["purelib"] / "grader-hub-backpropagation-and-optimization.pth").is_file()

    again = _grader(*args, course=course)  # an update replaces the site as a whole
    assert again.returncode == 0, again.stderr
    wrong = _grader(*args[:-1], "/nonexistent/bin/python", course=course)
    assert wrong.returncode == 1
    assert wrong.stderr.startswith("grader release hub: /nonexistent/bin/python does not run")
    assert len(wrong.stderr.strip().splitlines()) == 1


def _launcher(hub: dict, home: Path) -> Path:
    """The kernel's argv[0]: as root, give the student the connection file and make the
    interpreter reachable (see the module docstring); then become the student, for good."""
    base_prefix = Path(sys.base_prefix).resolve()
    blocker = _blocker(base_prefix)
    reach = ""
    if blocker is not None:
        stage = hub["base"] / "python-stage"
        reach = textwrap.dedent(f"""\
            mkdir -p {stage}
            mount --bind {base_prefix} {stage}
            mount -t tmpfs -o mode=755 tmpfs {blocker}
            mkdir -p {base_prefix}
            mount --move {stage} {base_prefix}
            """)
    script = hub["base"] / "launch-kernel.sh"
    script.write_text(textwrap.dedent("""\
        #!/bin/sh
        set -e
        chown {uid} "$1"
        exec unshare --mount --propagation private /bin/sh -e -c '
        {reach}
        cd {home}
        exec setpriv --reuid={uid} --regid={uid} --clear-groups --inh-caps=-all \\
            --bounding-set=-all --no-new-privs {python} -m ipykernel_launcher -f "$1"
        ' sh "$1"
        """).format(uid=STUDENT_UID, reach=reach, home=home, python=hub["python"]))
    script.chmod(0o755)
    return script


KERNEL_CODE = """
import json, os
from grader import check
import grader, grader.course.model
from grader.integrations.nbgrader.kernel import CheckFailed, run_checks

out = {"uid": os.getuid(), "cwd": os.getcwd(), "grader": grader.__file__,
       "root": str(grader.course.model.load_course().root)}
report = check("softmax_ce")
out["check_passed"] = report.all_passed
out["check_text"] = report.text()
run_checks("softmax_ce", "gradient_matches_central_differences")  # a released test cell
out["test_cell"] = "passed"
reads = {}
for path in SECRETS:
    try:
        open(path, "rb").read(1)
        reads[path] = "read"
    except Exception as e:
        reads[path] = type(e).__name__
for folder in FOLDERS:
    try:
        os.listdir(folder)
        reads[folder] = "listed"
    except Exception as e:
        reads[folder] = type(e).__name__
try:
    grader.course.model.reference("softmax_ce")
    reads["reference"] = "imported"
except Exception as e:
    reads["reference"] = type(e).__name__
out["reads"] = reads
print("RESULT " + json.dumps(out))
"""


@pytest.mark.slow
@as_root
def test_a_students_kernel_checks_its_work_and_reads_nothing_of_the_instructors(hub):
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpec

    if not hub["site"].is_dir():
        pytest.fail("test_release_hub_refuses_until_the_instructors_files_are_private "
                    "must run first (it releases the site)")
    home = hub["base"] / "home" / "student"
    home.mkdir(parents=True)
    os.chown(home, STUDENT_UID, STUDENT_UID)
    os.chmod(home, 0o700)
    runtime = hub["base"] / "runtime"
    runtime.mkdir(mode=0o755)

    km = KernelManager(connection_file=str(runtime / "kernel-student.json"))
    km._kernel_spec = KernelSpec(argv=[str(_launcher(hub, home)), "{connection_file}"],
                                 display_name="hub student", language="python")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}
    km.start_kernel(env=env, cwd=str(home))
    try:
        client = km.client()
        client.start_channels()
        client.wait_for_ready(timeout=60)
        outputs: list[str] = []

        def run(code: str) -> None:
            reply = client.execute_interactive(
                code, timeout=120,
                output_hook=lambda msg: outputs.append(msg["content"].get("text", "")))
            assert reply["content"]["status"] == "ok", (reply["content"], outputs)

        run(REFERENCE)  # the student's cells: correct softmax_ce
        folders = [hub["course"] / "solutions", hub["course"] / "tests/checks/hidden",
                   hub["nbcourse"], hub["nbcourse"] / "grader_course"]
        run(f"SECRETS = {[str(p) for p in hub['secrets']]!r}\n"
            f"FOLDERS = {[str(p) for p in folders]!r}\n" + KERNEL_CODE)
        client.stop_channels()
    finally:
        km.shutdown_kernel(now=True)

    import json

    line = next(t for t in "".join(outputs).splitlines() if t.startswith("RESULT "))
    seen = json.loads(line[len("RESULT "):])
    assert seen["uid"] == STUDENT_UID and seen["cwd"] == str(home)
    assert seen["root"] == str(hub["site"])  # from the student's home, no variable set
    assert seen["grader"] == str(hub["site"] / "grader" / "__init__.py")
    assert seen["check_passed"], seen["check_text"]
    assert "softmax_rows_are_distributions" in seen["check_text"]
    assert seen["test_cell"] == "passed"
    for path in hub["secrets"]:
        assert path.read_bytes()  # there, and readable by their owner
    expected = {**{str(p): "PermissionError" for p in hub["secrets"] + folders},
                "reference": "FileNotFoundError"}  # the site holds no solutions/
    assert seen["reads"] == expected


def test_release_hub_keeps_a_folder_it_did_not_write(tmp_path):
    """A folder that holds anything not written by `release hub` is never replaced."""
    site = tmp_path / "student"
    site.mkdir()
    (site / "notes.txt").write_text("mine")
    run = subprocess.run([str(GRADER), "release", "hub", str(site)], capture_output=True,
                         text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 1
    assert run.stderr.strip() == (f"grader release hub: {site} exists and was not written by "
                                  "`grader release hub`; it is kept as it is: give a new or "
                                  "empty folder")
    assert [p.name for p in site.iterdir()] == ["notes.txt"]
    assert (site / "notes.txt").read_text() == "mine"


def test_release_hub_refuses_a_site_students_cannot_reach(tmp_path):
    site = tmp_path / "private" / "student"
    (tmp_path / "private").mkdir(mode=0o700)
    run = subprocess.run([str(GRADER), "release", "hub", str(site)], capture_output=True,
                         text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 1
    blocked = _blocker(site)  # pytest's own base folder is 0700 too
    assert blocked is not None
    assert f"students cannot reach {site}: other users cannot search {blocked};" in run.stderr
    assert not site.exists()
