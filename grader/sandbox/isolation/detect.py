"""What this machine offers a worker (bwrap, unshare, setpriv, cgroups, seccomp), probed once.

Trust role: the grader's side of the sandbox (grader.sandbox.isolation describes the levels).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import time
from dataclasses import replace
from functools import cache
from pathlib import Path

from grader.sandbox import seccomp
from grader.sandbox.isolation.cgroups import _read_pids, _rmdir_quietly
from grader.sandbox.isolation.records import NOBODY, Capabilities

_FIND = object()  # detect(): "look the program up on PATH"


def _cgroup_v1_parent(controller: str) -> tuple[str | None, str | None]:
    """A writable folder for per-worker cgroups of `controller`, nested under the grader's own
    cgroup (so limits set on the grader still hold for its workers), or (None, reason)."""
    mount = None
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                left, _, right = line.partition(" - ")
                fields = right.split()
                if len(fields) >= 3 and fields[0] == "cgroup" and \
                        controller in fields[2].split(","):
                    mount = left.split()[4]
                    break
        own = "/"
        with open("/proc/self/cgroup") as f:
            for line in f:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                if controller in controllers.split(","):
                    own = path
    except OSError as e:
        return None, f"cgroup {controller}: {e}"
    if mount is None:
        return None, f"no cgroup v1 {controller} controller mounted"
    base = os.path.join(mount, own.lstrip("/"))
    if not os.path.isdir(base):
        base = mount
    parent = os.path.join(base, "grader")
    probe = os.path.join(parent, f"probe-{os.getpid()}")
    knob = "memory.limit_in_bytes" if controller == "memory" else "pids.max"
    try:
        os.makedirs(parent, exist_ok=True)
        os.mkdir(probe)
        try:
            with open(os.path.join(probe, knob), "w") as f:
                f.write("67108864" if controller == "memory" else "8")
        finally:
            os.rmdir(probe)
    except OSError as e:
        return None, f"cgroup {controller} at {parent} is not usable: {e}"
    return parent, None


def _pid_ns() -> int:
    try:
        return os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return 0


def _sweep_stale(parent: str) -> None:
    """Remove the cgroups a grader that no longer runs left behind (named w<its pid>-...),
    killing what is still in them."""
    try:
        names = os.listdir(parent)
    except OSError:
        return
    ns = _pid_ns()
    for name in names:
        pid, _, rest = name[1:].partition("-")
        if not (name.startswith("w") and pid.isdigit() and rest.startswith(f"{ns}-")) or \
                os.path.exists(f"/proc/{pid}"):
            continue  # not ours to judge (another pid namespace), or its grader still runs
        d = os.path.join(parent, name)
        for _ in range(50):
            for p in _read_pids(os.path.join(d, "cgroup.procs")):
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if _rmdir_quietly(d):
                break
            time.sleep(0.01)


def _system_binds() -> list[str]:
    """bwrap arguments that show /usr and the merged-/usr symlinks (or folders) read-only."""
    args = ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    args += ["--perms", "0755", "--dir", "/etc"]
    for f in ("/etc/ld.so.cache", "/etc/localtime"):
        if os.path.exists(f):
            args += ["--ro-bind", f, f]
    return args


_NAMESPACE_ARGS = ["--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net",
                   "--unshare-ipc", "--unshare-uts", "--hostname", "sandbox"]
_KEEP_CAPS = ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP"]


def _setpriv_args(setpriv: str, uid: int, gid: int) -> list[str]:
    return [setpriv, f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--inh-caps=-all",
            "--bounding-set=-all", "--no-new-privs", "--"]


def _true() -> str:
    return shutil.which("true", path="/usr/bin:/bin") or "/bin/true"


def _probe_seccomp() -> str | None:
    """Run `true` under the seccomp filter; None if it worked, else why not."""
    if not seccomp.supported():
        return "seccomp: no filter for this architecture or platform"
    try:
        install = seccomp.installer()
        r = subprocess.run([_true()], preexec_fn=install, capture_output=True, timeout=10,
                           stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as e:
        return f"seccomp: the filter cannot be installed ({e})"
    if r.returncode != 0:
        return f"seccomp: `true` under the filter exited with {r.returncode}"
    return None


def _probe_bwrap(bwrap: str, root: bool, setpriv: str | None,
                 with_seccomp: bool = False) -> str | None:
    """Run a sandbox like the real one around `true`; None if it worked, else why not."""
    argv = [bwrap, *_NAMESPACE_ARGS, *_system_binds(), "--proc", "/proc", "--dev", "/dev",
            "--perms", "1777", "--size", str(2**20), "--tmpfs", "/tmp"]
    fds: tuple[int, ...] = ()
    if with_seccomp:
        fds = (seccomp.filter_fd(),)
        argv += ["--seccomp", str(fds[0])]
    true = _true()
    if root and setpriv:
        argv += [*_KEEP_CAPS, "--", *_setpriv_args(setpriv, NOBODY, NOBODY), true]
    else:
        argv += ["--", true]
    try:
        r = subprocess.run(argv, capture_output=True, timeout=10, stdin=subprocess.DEVNULL,
                           pass_fds=fds,
                           preexec_fn=(lambda: seccomp.rewind_in_child(fds[0])) if fds else None)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"bubblewrap at {bwrap} did not run: {e}"
    if r.returncode != 0:
        msg = r.stderr.decode(errors="replace").strip()[:300]
        return f"bubblewrap at {bwrap} cannot create the sandbox: {msg or r.returncode}"
    return None


@cache
def _detect(bwrap_path, unshare_path, setpriv_path, cgroups: bool,
            use_seccomp: bool) -> Capabilities:
    root = os.geteuid() == 0
    notes: list[str] = []
    filtering = False
    if use_seccomp:
        why = _probe_seccomp()
        if why:
            notes.append(why)
        filtering = why is None

    def find(given, name):
        p = shutil.which(name) if given is _FIND else given
        return str(p) if p else None

    setpriv = find(setpriv_path, "setpriv")
    unshare = find(unshare_path, "unshare")
    bwrap = find(bwrap_path, "bwrap")
    if bwrap:
        why = _probe_bwrap(bwrap, root, setpriv, with_seccomp=filtering)
        if why and filtering and _probe_bwrap(bwrap, root, setpriv) is None:
            notes.append(f"seccomp: bubblewrap refused the filter ({why})")
            filtering = False
        elif why:
            notes.append(why)
            bwrap = None
    mem = pids = None
    if cgroups and root:
        mem, why = _cgroup_v1_parent("memory")
        if why:
            notes.append(why)
        pids, why = _cgroup_v1_parent("pids")
        if why:
            notes.append(why)
        for parent in (mem, pids):
            if parent:
                _sweep_stale(parent)
    return Capabilities(root=root, bwrap=bwrap, unshare=unshare, setpriv=setpriv,
                        cgroup_memory=mem, cgroup_pids=pids, notes=tuple(notes),
                        seccomp=filtering)


def detect(*, bwrap_path=_FIND, unshare_path=_FIND, setpriv_path=_FIND,
           cgroups: bool = True, seccomp: bool = True) -> Capabilities:
    """What this machine offers (cached). Pass None for a program to pretend it is missing,
    a path to use that one; cgroups=False or seccomp=False to leave that layer out."""
    return _detect(bwrap_path, unshare_path, setpriv_path, cgroups, seccomp)


@cache
def _python_layout(python: str) -> tuple[str, str, str]:
    """(sys.prefix, sys.base_prefix, real executable) of `python`, asked once."""
    code = ("import json, os, sys; print(json.dumps([sys.prefix, sys.base_prefix, "
            "os.path.realpath(sys.executable)]))")
    out = subprocess.run([python, "-I", "-c", code], capture_output=True, text=True,
                         check=True, timeout=30, stdin=subprocess.DEVNULL).stdout
    prefix, base, exe = json.loads(out)
    return prefix, base, exe


def _searchable_by(path: str, uid: int, gid: int) -> str | None:
    """The first folder on the way to `path` that uid:gid (no other groups) cannot search,
    or None when every one can be."""
    p = Path(path)
    for d in [*reversed(p.parents), p] if p.is_dir() else reversed(p.parents):
        try:
            st = os.stat(d)
        except OSError:
            return str(d)
        if st.st_uid == uid:
            ok = st.st_mode & stat.S_IXUSR
        elif st.st_gid == gid:
            ok = st.st_mode & stat.S_IXGRP
        else:
            ok = st.st_mode & stat.S_IXOTH
        if not ok:
            return str(d)
    return None


def weaker(caps: Capabilities, *, bwrap: bool = True, unshare: bool = True, root: bool = True,
           cgroups: bool = True, seccomp: bool = True) -> Capabilities:
    """`caps` without some layers (for tests and for `--isolation` style overrides)."""
    return replace(caps,
                   seccomp=caps.seccomp and seccomp,
                   bwrap=caps.bwrap if bwrap else None,
                   unshare=caps.unshare if unshare else None,
                   root=caps.root and root,
                   cgroup_memory=caps.cgroup_memory if cgroups else None,
                   cgroup_pids=caps.cgroup_pids if cgroups else None)
