"""Process isolation for the untrusted worker: from "run this worker on this submission with
these limits" to what to exec, at the strongest level this machine offers.

    spec = worker_spec(python, worker_py, submission_copy, Limits(wall_time_s=60, memory_mb=512),
                       extra_args=[...], pass_fds=(r, w), hide=[course.solutions_dir, ...])
    proc = subprocess.Popen(**spec.popen_kwargs(), stdin=..., stdout=..., stderr=...)
    ...                                   # deadline; on expiry os.killpg(proc.pid, SIGKILL)
    proc.wait(); usage = cleanup(spec)    # removes the worker's cgroups, kills leftovers
    # spec.level goes to the gradebook's `isolation` column (grader.launcher keeps it);
    # usage.oom_killed says whether the cgroup's memory limit killed the worker.

Levels, strongest first (the parts joined by "+" make `WorkerSpec.level`):

  bwrap    bubblewrap as root: a new root file system that holds only /usr, the Python
           installation and the venv (read-only, at their own paths, so the venv works
           unchanged under `-I`), the worker script and the submission (read-only), a private
           size-capped /tmp, its own /proc and a minimal /dev; new pid, net, ipc and uts
           namespaces; --die-with-parent, --new-session.
  unshare  no bwrap, but root: new mount, net, ipc, uts and pid namespaces (`unshare`), with a
           private /tmp, /var/tmp and /dev/shm and the paths passed as `hide` covered by empty
           read-only directories. Everything else on the host that uid 65534 may read stays
           readable: a deny-list, not bwrap's allow-list.
  uid      root: the worker runs as an unprivileged uid (65534 unless `uid=` says otherwise),
           which is what makes RLIMIT_NPROC count at all (it is ignored for root).
  rlimits  always: RLIMIT_AS, NPROC (not for root), FSIZE, CORE=0, NOFILE, CPU.
  cgroup   root with writable cgroup v1 memory/pids controllers: a cgroup per worker, nested
           under the grader's own, with memory.limit_in_bytes = memory_mb for the whole tree
           (the worker, its children and its /tmp) and pids.max; `cleanup` kills whatever is
           still inside (daemons that left the process group) and removes it.
  seccomp  a system call filter (grader.seccomp): creating namespaces, ptrace, mounting, the
           key store, modules, BPF, perf, userfaultfd, io_uring fail with EPERM. bwrap loads
           it right before it execs the worker (--seccomp FD); without namespaces the
           preexec function installs it. Not at the unshare level: unshare(1) must create
           namespaces after the last point where the grader's code runs in the child.

Every layer that is wanted and missing is named in `WorkerSpec.warnings`; nothing degrades
silently. Traps met on the project's machines, and what this module does about them:

- Python lives under /root (mode 0700): uid 65534 cannot traverse it. bwrap: the install is
  bound at its own path and every parent directory is created explicitly `--perms 0755 --dir`,
  because bwrap makes implicit parents 0700 (the second trap). unshare: /root (any ancestor
  uid 65534 cannot search) is covered by a tmpfs and the needed subtrees are bound back.
- bwrap --uid/--gid needs --unshare-user, which as root maps the sandbox uid to host uid 0:
  DAC checks then treat the worker as the owner of every root file and RLIMIT_NPROC does not
  apply. So bwrap runs as root with only CAP_SETUID/SETGID/SETPCAP kept and execs `setpriv`
  to a real host uid with no capabilities, an empty bounding set and no_new_privs.
- RLIMIT_NPROC counts every process of the uid on the host. Workers that run at the same time
  must get different uids (`uid=WORKER_UID_BASE + slot`), or one fork bomb starves the others.
- `python -I` does not put the script's folder on sys.path (from 3.11, -I implies -P). The
  worker must import what it needs by absolute path and put the submission folder on
  sys.path itself (or load the file with importlib).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import json
import math
import os
import resource
import shutil
import signal
import stat
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

from grader import seccomp

__all__ = [
    "NOBODY", "WORKER_UID_BASE", "Limits", "Capabilities", "WorkerSpec", "Usage",
    "detect", "worker_spec", "cleanup", "weaker",
]

NOBODY = 65534
# Parallel workers: uid WORKER_UID_BASE + slot (no passwd entry is needed). Outside the ranges
# Debian allocates (system < 1000, users 1000-59999, reserved 60000-65535).
WORKER_UID_BASE = 200_000

_FIND = object()  # detect(): "look the program up on PATH"


@dataclass(frozen=True)
class Limits:
    wall_time_s: float          # enforced by the caller (deadline + kill); recorded here
    memory_mb: int              # RLIMIT_AS of each process; memory cgroup of the whole tree
    max_processes: int = 16     # RLIMIT_NPROC (only for a non-root uid) and pids cgroup
    max_output_bytes: int = 64 * 1024   # kept of what it prints; the rest is read and dropped
    max_file_bytes: int = 10_000_000    # RLIMIT_FSIZE
    cpu_time_s: int | None = None       # RLIMIT_CPU backstop; None: wall time rounded up + 1
    tmp_bytes: int = 64 * 2**20         # size of the private /tmp (bwrap, unshare)
    max_open_files: int = 256           # RLIMIT_NOFILE

    def cpu_limit(self) -> int:
        return self.cpu_time_s if self.cpu_time_s is not None else math.ceil(self.wall_time_s) + 1


@dataclass(frozen=True)
class Capabilities:
    """What this machine offers. Tests build weaker ones with `dataclasses.replace`."""
    root: bool
    bwrap: str | None           # a bwrap that ran a probe sandbox, or None
    unshare: str | None         # util-linux unshare (used only as root)
    setpriv: str | None         # util-linux setpriv (the uid drop inside bwrap and unshare)
    cgroup_memory: str | None   # writable parent folder for per-worker memory cgroups
    cgroup_pids: str | None     # same for pids
    notes: tuple[str, ...] = ()  # why a probe failed, in words
    seccomp: bool = False       # a seccomp filter (grader.seccomp) installs and runs here


@dataclass(frozen=True)
class WorkerSpec:
    argv: list[str]
    env: dict[str, str]
    preexec: Callable[[], None] | None
    cwd: str
    level: str
    warnings: list[str]
    pass_fds: tuple[int, ...] = ()
    uid: int | None = None          # the uid the worker runs as, None: the grader's own
    limits: Limits | None = None
    cgroups: tuple[str, ...] = ()   # per-worker cgroup folders; `cleanup` removes them

    def popen_kwargs(self) -> dict:
        """Keyword arguments for subprocess.Popen (add stdin/stdout/stderr)."""
        return dict(args=self.argv, env=self.env, cwd=self.cwd, preexec_fn=self.preexec,
                    pass_fds=self.pass_fds, close_fds=True, start_new_session=True)


@dataclass(frozen=True)
class Usage:
    oom_killed: bool = False            # the memory cgroup's OOM killer fired
    memory_peak_bytes: int | None = None
    leftovers_killed: int = 0           # processes still in the cgroup after the worker exited


# --------------------------------------------------------------------------- detection

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


# --------------------------------------------------------------------------- the child side

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                        ctypes.c_char_p]
_libc.unshare.argtypes = [ctypes.c_int]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                        ctypes.c_ulong]

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWNET = 0x20000, 0x4000000, 0x8000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = (
    1, 2, 4, 8, 32, 4096, 16384, 1 << 18)
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38


def _check(ret: int, what: str) -> None:
    if ret != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"{what}: {os.strerror(e)}")


def _mount(src: str | None, target: str, fstype: str | None, flags: int,
           data: str | None = None) -> None:
    def enc(s: str | None) -> bytes | None:
        return s.encode() if s is not None else None

    _check(_libc.mount(enc(src), enc(target), enc(fstype), flags, enc(data)),
           f"mount {target}")


def _make_mountpoint(path: str, is_dir: bool) -> None:
    """Create `path` and its missing parents on a fresh tmpfs, folders 0755 whatever the
    umask (a 0700 parent would lock the worker out again)."""
    missing = []
    p = path if is_dir else os.path.dirname(path)
    while not os.path.isdir(p):
        missing.append(p)
        p = os.path.dirname(p)
    for d in reversed(missing):
        os.mkdir(d)
        os.chmod(d, 0o755)
    if not is_dir and not os.path.exists(path):
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))


@dataclass(frozen=True)
class _Cover:
    path: str
    mode: int          # of the tmpfs root
    size: int
    readonly: bool     # a hidden path: read-only and empty


def _prepare_mounts(covers: Sequence[_Cover], keep: Sequence[str]) -> None:
    """In the child, as root: a private mount namespace in which each cover is a fresh tmpfs
    and each `keep` path under a cover is bound back, read-only, at its own path."""
    _check(_libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing below may reach the host's mounts
    fds = {k: (os.open(k, os.O_PATH | os.O_CLOEXEC), os.path.isdir(k)) for k in keep}
    for c in covers:
        _mount("tmpfs", c.path, "tmpfs", MS_NOSUID | MS_NODEV,
               f"mode={c.mode:o},size={c.size}")
        for k, (fd, is_dir) in fds.items():
            if k.startswith(c.path.rstrip("/") + "/"):
                _make_mountpoint(k, is_dir)
                _mount(f"/proc/self/fd/{fd}", k, None, MS_BIND | MS_REC)
                _mount(None, k, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
        if c.readonly:
            _mount(None, c.path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    for fd, _ in fds.values():
        os.close(fd)


def _make_preexec(*, limits: Limits, nproc: bool, cgroups: Sequence[str],
                  drop_to: tuple[int, int] | None, covers: Sequence[_Cover] = (),
                  keep: Sequence[str] = (), cwd: str | None = None,
                  seccomp_fd: int | None = None,
                  install_filter: Callable[[], None] | None = None) -> Callable[[], None]:
    """The function Popen runs in the child before exec. Everything it needs is computed
    here; it imports nothing (the grader may have threads). `seccomp_fd`: the filter bwrap
    will read, given a private offset; `install_filter`: install it here, last."""
    mb = limits.memory_mb * 2**20
    cpu = limits.cpu_limit()
    rlimits = [
        (resource.RLIMIT_AS, mb, mb),
        (resource.RLIMIT_FSIZE, limits.max_file_bytes, limits.max_file_bytes),
        (resource.RLIMIT_CORE, 0, 0),
        (resource.RLIMIT_NOFILE, limits.max_open_files, limits.max_open_files),
        (resource.RLIMIT_CPU, cpu, cpu + 1),  # SIGXCPU at the soft limit, SIGKILL 1 s later
    ]
    if nproc:
        rlimits.append((resource.RLIMIT_NPROC, limits.max_processes, limits.max_processes))
    procs_files = [os.path.join(c, "cgroup.procs") for c in cgroups]

    def preexec() -> None:
        pid = str(os.getpid())
        for procs in procs_files:  # first, so that every later child is counted
            with open(procs, "w") as f:
                f.write(pid)
        if covers or keep:
            _prepare_mounts(covers, keep)
            # Popen entered cwd before the covers: re-enter it through the new mounts, or
            # ".." from it would walk the host's covered folders.
            os.chdir(cwd)
        for which, soft, hard in rlimits:
            resource.setrlimit(which, (soft, hard))
        if drop_to is not None:
            uid, gid = drop_to
            os.setgroups([])
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)
            _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
        # Die with the grader (set after the uid change, which clears it).
        _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "pdeathsig")
        if seccomp_fd is not None:
            seccomp.rewind_in_child(seccomp_fd)
        if install_filter is not None:
            install_filter()

    return preexec


# --------------------------------------------------------------------------- the spec

_counter = 0


def _make_cgroups(caps: Capabilities, limits: Limits, helpers: int) -> tuple[list[str], list[str]]:
    """Per-worker cgroups: (folders, warnings)."""
    global _counter
    _counter += 1
    # w<grader pid>-<its pid namespace>-...: what _sweep_stale needs to tell leftovers apart
    name = f"w{os.getpid()}-{_pid_ns()}-{_counter}-{time.monotonic_ns() % 10**9}"
    made: list[str] = []
    warnings: list[str] = []
    try:
        if caps.cgroup_memory:
            d = os.path.join(caps.cgroup_memory, name)
            os.mkdir(d)
            made.append(d)
            with open(os.path.join(d, "memory.limit_in_bytes"), "w") as f:
                f.write(str(limits.memory_mb * 2**20))
            try:  # no swap for the worker either, where swap is accounted
                with open(os.path.join(d, "memory.memsw.limit_in_bytes"), "w") as f:
                    f.write(str(limits.memory_mb * 2**20))
            except OSError:
                pass
        if caps.cgroup_pids:
            d = os.path.join(caps.cgroup_pids, name)
            os.mkdir(d)
            made.append(d)
            with open(os.path.join(d, "pids.max"), "w") as f:
                f.write(str(limits.max_processes + helpers))
    except OSError as e:
        for d in made:
            _rmdir_quietly(d)
        made = []
        warnings.append(f"could not create the worker's cgroups ({e}): memory is bounded per "
                        "process by RLIMIT_AS only and processes by RLIMIT_NPROC only")
    return made, warnings


def _base_env(extra: Mapping[str, str]) -> dict[str, str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": "/tmp",
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        # One thread each: importing NumPy then needs ~100 MiB of address space, not ~140,
        # and CPU time stays close to wall time.
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "NUMEXPR_NUM_THREADS": "1",
        "VECLIB_MAXIMUM_THREADS": "1",
        **blas_kernel_env(),
    }
    env.update(extra)
    return env


def blas_kernel_env() -> dict[str, str]:
    """The OpenBLAS kernel choice of the grader's environment (set on processors where
    older builds compute wrong results), so that student code computes with the kernel the
    checks and references compute with: another kernel differs in the last bits."""
    return {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
            if k in os.environ}


def _under(path: str, roots: Iterable[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def _bwrap_mount_args(binds: Sequence[str], tmp_bytes: int) -> list[str]:
    """Mount arguments: system folders, /proc, /dev, a private /tmp, then each bind at its own
    path with every missing parent created 0755 first (bwrap would make it 0700)."""
    args = _system_binds()
    args += ["--proc", "/proc", "--dev", "/dev",
             "--perms", "1777", "--size", str(tmp_bytes), "--tmpfs", "/tmp"]
    made = {"/", "/etc", "/tmp", "/proc", "/dev"}
    bound = ["/usr", "/proc", "/dev"] + [t for t in ("/bin", "/sbin", "/lib", "/lib32",
                                                     "/lib64", "/libx32") if os.path.exists(t)]
    for src in sorted(set(binds), key=lambda p: (p.count("/"), p)):
        if _under(src, bound):
            continue
        for parent in reversed(Path(src).parents):
            p = str(parent)
            if p not in made:
                args += ["--perms", "0755", "--dir", p]
                made.add(p)
        args += ["--ro-bind", src, src]
        bound.append(src)
    return args


def worker_spec(python: Path | str, worker_script: Path | str, submission_dir: Path | str,
                limits: Limits, *, extra_args: Sequence[str] = (),
                pass_fds: tuple[int, ...] = (), hide: Sequence[Path | str] = (),
                ro_paths: Sequence[Path | str] = (), uid: int = NOBODY,
                extra_env: Mapping[str, str] | None = None,
                caps: Capabilities | None = None, site: bool = True) -> WorkerSpec:
    """How to start `python -I -B worker_script *extra_args` on `submission_dir`, at the
    strongest level `caps` (default: detect()) allows.

    Paths inside the sandbox are the host paths, so `extra_args` may name them as they are.
    `submission_dir` must be a private copy: it is made read-only for the worker
    (group/others write bits cleared, read bits set) and becomes its working directory.
    `hide`: folders that must stay invisible where the level is a deny-list (unshare); bwrap
    shows nothing it was not told to. `ro_paths`: more files or folders the worker may read
    (e.g. a protocol module). `uid`: distinct per concurrently running worker.
    `site=False` adds -S: no site module, which in a venv with an editable install costs
    40 ms of every start; the script must then put what it imports on sys.path itself.
    """
    caps = caps or detect()
    python = os.path.abspath(python)  # not resolved: a venv's python must stay the venv's
    script = os.path.realpath(worker_script)
    sub = os.path.realpath(submission_dir)
    if not os.path.isdir(sub):
        raise NotADirectoryError(sub)
    seal(sub)
    prefix, base_prefix, exe = _python_layout(python)
    extra = [os.path.realpath(p) for p in ro_paths]
    python_paths = [prefix, base_prefix]
    for p in (python, exe):
        if not _under(p, python_paths):
            python_paths.append(p)
    needed = [*python_paths, script, sub, *extra]
    cmd = [python, "-I", *([] if site else ["-S"]), "-B", script, *extra_args]
    env = _base_env(extra_env or {})
    parts: list[str] = []
    warnings: list[str] = []
    gid = uid
    helpers = 0
    covers: list[_Cover] = []
    keep: list[str] = []
    drop_to: tuple[int, int] | None = None

    seccomp_fd: int | None = None
    install_filter: Callable[[], None] | None = None
    filter_args: list[str] = []
    if caps.seccomp and caps.bwrap and (caps.setpriv or not caps.root):
        seccomp_fd = seccomp.filter_fd()
        filter_args = ["--seccomp", str(seccomp_fd)]
        pass_fds = (*pass_fds, seccomp_fd)

    if caps.bwrap and caps.root and caps.setpriv:
        parts += ["bwrap", "uid"]
        argv = [caps.bwrap, *_NAMESPACE_ARGS, *_bwrap_mount_args(needed, limits.tmp_bytes),
                "--chdir", sub, *filter_args, *_KEEP_CAPS, "--",
                *_setpriv_args(caps.setpriv, uid, gid), *cmd]
        helpers = 2  # bwrap and its pid-1 reaper
    elif caps.bwrap and not caps.root:
        parts.append("bwrap")
        argv = [caps.bwrap, *_NAMESPACE_ARGS, *_bwrap_mount_args(needed, limits.tmp_bytes),
                "--chdir", sub, *filter_args, "--", *cmd]
        helpers = 2
    else:
        if caps.bwrap and caps.root:
            warnings.append("setpriv (util-linux) is missing: bubblewrap cannot hand the worker "
                            "to an unprivileged uid, so it is not used")
        else:
            why = "; ".join(n for n in caps.notes if "bubblewrap" in n)
            warnings.append(
                "bubblewrap is not available" + (f" ({why})" if why else "") + ": the worker "
                "is not confined to an allow-list of files. Install it: apt-get install -y "
                "--no-install-recommends bubblewrap")
        if caps.root and caps.unshare and caps.setpriv:
            parts += ["unshare", "uid"]
            covers, keep = _unshare_mounts(needed, hide, uid, gid, limits.tmp_bytes)
            argv = [caps.unshare, "--pid", "--fork", "--kill-child=SIGKILL", "--mount-proc",
                    "--net", "--ipc", "--uts", "--",
                    *_setpriv_args(caps.setpriv, uid, gid), *cmd]
            helpers = 1  # unshare; the worker is pid 1 of its namespace
            shown = ", ".join(c.path for c in covers if c.readonly) or "nothing"
            warnings.append(
                "file system is a deny-list: hidden are " + shown + ", and /tmp, /var/tmp, "
                "/dev/shm are private; everything else uid "
                f"{uid} may read on the host stays readable")
            warnings.append("the worker is pid 1 of its pid namespace: orphans it does not "
                            "reap stay as zombies until it exits")
        else:
            argv = cmd
            if caps.seccomp:
                install_filter = seccomp.installer()
            if caps.root:
                warnings.append("unshare/setpriv (util-linux) are missing: no pid, network or "
                                "mount namespace; the worker can see host processes, use the "
                                "network and read every file uid " f"{uid} may read")
                blocked = [b for p in needed if (b := _searchable_by(p, uid, gid))]
                if blocked:
                    warnings.append(
                        f"uid {uid} cannot reach {blocked[0]} (needed to run the worker): the "
                        "worker runs as root, with no uid drop and no RLIMIT_NPROC")
                else:
                    parts.append("uid")
                    drop_to = (uid, gid)
            else:
                warnings.append("no namespaces (bubblewrap missing, not root): the worker can "
                                "see host processes, use the network, and read and write "
                                "everything the grader's uid can")
    if not caps.root:
        warnings.append("not root: the worker keeps the grader's uid (no uid drop), no "
                        "RLIMIT_NPROC (it would count the grader's own processes) and no "
                        "cgroups: memory is bounded per process by RLIMIT_AS only, and "
                        "processes only by the caller killing the process group")
    parts.append("rlimits")
    nproc = "uid" in parts  # a real unprivileged host uid: RLIMIT_NPROC counts
    if nproc:
        _check_readable([script, *extra], uid, gid)

    cgroups: list[str] = []
    if caps.root and (caps.cgroup_memory or caps.cgroup_pids):
        cgroups, w = _make_cgroups(caps, limits, helpers)
        warnings += w
        if cgroups:
            parts.append("cgroup")
            if not caps.cgroup_memory:
                warnings.append("no memory cgroup: memory is bounded per process by RLIMIT_AS "
                                "only (a fork bomb may use max_processes × memory_mb)")
            if not caps.cgroup_pids:
                warnings.append("no pids cgroup: processes are bounded by RLIMIT_NPROC only")
    elif caps.root:
        why = "; ".join(n for n in caps.notes if "cgroup" in n)
        warnings.append("no writable cgroup v1 memory/pids controller" +
                        (f" ({why})" if why else "") + ": memory is bounded per process by "
                        "RLIMIT_AS only, processes by RLIMIT_NPROC only, and daemons that "
                        "leave the process group are not found by cleanup()")

    if seccomp_fd is not None or install_filter is not None:
        parts.append("seccomp")
    elif caps.seccomp:
        warnings.append("no seccomp filter at the unshare level (unshare(1) creates the "
                        "namespaces after the grader's last code in the child): the worker "
                        "may create namespaces of its own and reach ptrace, mount, bpf, ...")
    else:
        why = "; ".join(n for n in caps.notes if "seccomp" in n)
        warnings.append("no seccomp filter" + (f" ({why})" if why else "") + ": the worker "
                        "may create namespaces of its own and reach ptrace, mount, bpf, ...")
    preexec = _make_preexec(limits=limits, nproc=nproc, cgroups=cgroups, drop_to=drop_to,
                            covers=covers, keep=keep, cwd=sub, seccomp_fd=seccomp_fd,
                            install_filter=install_filter)
    return WorkerSpec(argv=argv, env=env, preexec=preexec, cwd=sub, level="+".join(parts),
                      warnings=warnings, pass_fds=tuple(pass_fds),
                      uid=uid if "uid" in parts else None, limits=limits,
                      cgroups=tuple(cgroups))


def private_proc() -> None:
    """In a child, as root: a mount namespace of its own with a /proc of the pid namespace it
    is in. Imports nothing (it runs between fork and exec)."""
    _check(_libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)


def _unshare_mounts(needed: Sequence[str], hide: Sequence[Path | str], uid: int, gid: int,
                    tmp_bytes: int) -> tuple[list[_Cover], list[str]]:
    """Covers for the unshare level: private temporary folders, the hidden paths, and any
    folder uid cannot search on the way to a needed path (e.g. /root), which is replaced by
    a 0755 tmpfs with the needed paths bound back."""
    covers = {p: _Cover(p, 0o1777, tmp_bytes, False)
              for p in ("/tmp", "/var/tmp", "/dev/shm") if os.path.isdir(p)}
    for h in hide:
        h = os.path.realpath(h)
        if os.path.isdir(h):
            covers[h] = _Cover(h, 0o755, 2**20, True)
    for p in needed:
        blocked = _searchable_by(p, uid, gid)
        if blocked and blocked != p:
            covers.setdefault(blocked, _Cover(blocked, 0o755, 2**20, False))
    ordered = sorted(covers.values(), key=lambda c: (c.path.count("/"), c.path))
    # A cover inside another is hidden with it, unless it is on the way to a needed path.
    kept = [c for c in ordered
            if not any(_under(c.path, [o.path]) and o.path != c.path for o in ordered)]
    keep = [p for p in needed if _under(p, [c.path for c in kept])]
    # A needed path inside another needed path comes back with it.
    keep = [p for p in keep if not any(_under(p, [q]) and q != p for q in keep)]
    return kept, sorted(set(keep))


def _check_readable(paths: Sequence[str], uid: int, gid: int) -> None:
    """Fail now, not in every worker, when the worker's uid could not read a file it needs
    (e.g. a worker script written 0600 by mkstemp)."""
    for p in paths:
        st = os.stat(p)
        need = stat.S_IROTH | (stat.S_IXOTH if stat.S_ISDIR(st.st_mode) else 0)
        if st.st_uid != uid and st.st_gid != gid and st.st_mode & need != need:
            raise PermissionError(f"uid {uid} cannot read {p} (mode {st.st_mode & 0o7777:o}); "
                                  "make it readable by others")


def seal(folder: str) -> None:
    """Make a private copy readable and not writable by anyone but its owner. Symlinks are
    left alone (never followed): inside bwrap they point at nothing the worker may see."""
    for dirpath, _, filenames in os.walk(folder):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            if stat.S_ISREG(st.st_mode):
                os.chmod(p, 0o644)


def _rmdir_quietly(d: str) -> bool:
    try:
        os.rmdir(d)
        return True
    except FileNotFoundError:
        return True
    except OSError:
        return False


def _read_int(path: str) -> int | None:
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _read_pids(procs: str) -> list[int]:
    try:
        with open(procs) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def cleanup(spec: WorkerSpec, *, timeout_s: float = 2.0) -> Usage:
    """After the worker exited (or was killed): kill anything still in its cgroups, read what
    they recorded, remove them. Idempotent; a no-op without cgroups."""
    oom = False
    peak = None
    killed = 0
    for d in spec.cgroups:
        if not os.path.isdir(d):
            continue
        if os.path.exists(os.path.join(d, "memory.oom_control")):
            with open(os.path.join(d, "memory.oom_control")) as f:
                for line in f:
                    k, _, v = line.partition(" ")
                    if k == "oom_kill" and v.strip() not in ("", "0"):
                        oom = True
            peak = _read_int(os.path.join(d, "memory.max_usage_in_bytes"))
        procs = os.path.join(d, "cgroup.procs")
        # A sandbox that was just killed takes a moment to empty by itself (the pid namespace
        # is torn down after its reaper dies): wait for that before counting leftovers.
        grace = time.monotonic() + 0.2
        while _read_pids(procs) and time.monotonic() < grace:
            time.sleep(0.005)
        seen: set[int] = set()
        deadline = time.monotonic() + timeout_s
        while True:
            for pid in _read_pids(procs):
                try:
                    os.kill(pid, signal.SIGKILL)
                    seen.add(pid)
                except ProcessLookupError:
                    pass
            if _rmdir_quietly(d):
                break
            if time.monotonic() > deadline:
                raise OSError(errno.EBUSY, f"cgroup {d} still busy after {timeout_s} s")
            time.sleep(0.01)
        killed = max(killed, len(seen))
    return Usage(oom_killed=oom, memory_peak_bytes=peak, leftovers_killed=killed)


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

