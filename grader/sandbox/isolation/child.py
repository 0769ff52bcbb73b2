"""The child side of isolation: mounts, rlimits, the uid drop and the system call filter,
run in the worker's process between fork and exec (no imports there).

Trust role: the grader's side of the sandbox (grader.sandbox.isolation describes the levels).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import resource
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from grader.sandbox import seccomp
from grader.sandbox.isolation.records import Limits

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


def private_proc() -> None:
    """In a child, as root: a mount namespace of its own with a /proc of the pid namespace it
    is in. Imports nothing (it runs between fork and exec)."""
    _check(_libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
