"""A worker's spec: from a worker, a submission and limits to the argv, environment and
preexec function of the strongest level this machine offers.

Trust role: the grader's side of the sandbox (grader.sandbox.isolation describes the levels).
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from grader.sandbox import seccomp
from grader.sandbox.isolation.cgroups import _rmdir_quietly
from grader.sandbox.isolation.child import _Cover, _make_preexec
from grader.sandbox.isolation.detect import (
    _KEEP_CAPS,
    _NAMESPACE_ARGS,
    _pid_ns,
    _python_layout,
    _searchable_by,
    _setpriv_args,
    _system_binds,
    detect,
)
from grader.sandbox.isolation.records import NOBODY, Capabilities, Limits, WorkerSpec

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
