"""Process isolation for the untrusted worker: from "run this worker on this submission with
these limits" to what to exec, at the strongest level this machine offers.

The package, one job per module: `records` (Limits, Capabilities, WorkerSpec, Usage),
`detect` (what this machine offers), `spec` (building a worker's spec), `child` (what runs
between fork and exec), `cgroups` (cleaning up after a worker).

    spec = worker_spec(python, worker_py, submission_copy, Limits(wall_time_s=60, memory_mb=512),
                       extra_args=[...], pass_fds=(r, w), hide=[course.solutions_dir, ...])
    proc = subprocess.Popen(**spec.popen_kwargs(), stdin=..., stdout=..., stderr=...)
    ...                                   # deadline; on expiry os.killpg(proc.pid, SIGKILL)
    proc.wait(); usage = cleanup(spec)    # removes the worker's cgroups, kills leftovers
    # spec.level goes to the gradebook's `isolation` column (grader.sandbox.launcher keeps it);
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
  seccomp  a system call filter (grader.sandbox.seccomp): creating namespaces, ptrace, mounting, the
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

from grader.sandbox.isolation.cgroups import cleanup
from grader.sandbox.isolation.child import private_proc
from grader.sandbox.isolation.detect import detect, weaker
from grader.sandbox.isolation.records import (
    NOBODY,
    WORKER_UID_BASE,
    Capabilities,
    Limits,
    Usage,
    WorkerSpec,
)
from grader.sandbox.isolation.spec import blas_kernel_env, seal, worker_spec

__all__ = [
    "NOBODY", "WORKER_UID_BASE", "Limits", "Capabilities", "WorkerSpec", "Usage",
    "detect", "worker_spec", "cleanup", "weaker", "blas_kernel_env", "private_proc", "seal",
]
