"""A seccomp filter for the worker: no new namespaces, none of the kernel's riskiest calls.

The worker needs ordinary system calls only: files, memory, threads, fork. What it must not
reach is the kernel surface that sandbox escapes go through: creating namespaces (a nested
user namespace makes the worker "root" inside it and opens mount, netfilter and other code
paths written for root), ptrace, the key store, mounting, loading modules or kernels, BPF,
perf events, userfaultfd and io_uring. Those fail with EPERM; the rest is allowed.

    program()              the filter as raw `struct sock_filter` records (for bwrap --seccomp)
    filter_fd()            a memfd holding program(), to pass to bwrap
    installer()            a function that installs the filter in the calling process (for a
                           preexec_fn: everything is prepared before fork, nothing imported)

The program is classic BPF, written out here (it is short) so that nothing but the standard
library is needed. Traps:
- clone3 takes its flags in a struct in user memory, which seccomp cannot read: it returns
  ENOSYS, and glibc (2.34+) falls back to clone, whose flags are an argument that is checked.
  Threads (clone without namespace flags) and fork keep working.
- The filter holds for the architecture it was built for: a call through another ABI of the
  same machine (i386 `int 0x80`, x32 on x86_64) would use other numbers, so it kills the
  process instead of being looked up.
- Installing a filter needs no_new_privs or CAP_SYS_ADMIN; installer() sets no_new_privs.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import platform
import struct
import sys
from collections.abc import Callable

__all__ = ["DENIED", "SUPPORTED", "filter_fd", "installer", "program", "rewind_in_child",
           "supported"]

# Classic BPF opcodes (linux/filter.h) and seccomp return values (linux/seccomp.h).
_LD_W_ABS = 0x20    # BPF_LD | BPF_W | BPF_ABS
_JEQ_K = 0x15       # BPF_JMP | BPF_JEQ | BPF_K
_JGE_K = 0x35       # BPF_JMP | BPF_JGE | BPF_K
_JSET_K = 0x45      # BPF_JMP | BPF_JSET | BPF_K
_RET_K = 0x06       # BPF_RET | BPF_K
_RET_KILL_PROCESS = 0x80000000
_RET_ERRNO = 0x00050000
_RET_ALLOW = 0x7FFF0000

# struct seccomp_data: int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6];
_NR, _ARCH = 0, 4
_ARG0_LOW = 16 if sys.byteorder == "little" else 20  # flags of clone/unshare are 32-bit

CLONE_NEWTIME = 0x00000080  # unshare only: in clone's flags these bits are the exit signal
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
_CLONE_NAMESPACES = (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER
                     | CLONE_NEWPID | CLONE_NEWNET)
_UNSHARE_NAMESPACES = _CLONE_NAMESPACES | CLONE_NEWTIME

# Calls that fail with EPERM whatever their arguments.
DENIED = ("setns", "mount", "umount2", "pivot_root", "open_tree", "move_mount", "fsopen",
          "fsconfig", "fsmount", "fspick", "mount_setattr", "ptrace", "process_vm_readv",
          "process_vm_writev", "keyctl", "add_key", "request_key", "kexec_load",
          "kexec_file_load", "init_module", "finit_module", "delete_module", "bpf",
          "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter",
          "io_uring_register", "swapon", "swapoff", "reboot", "acct", "quotactl", "syslog")


class _Arch:
    def __init__(self, audit_arch: int, numbers: dict[str, int], foreign_from: int | None):
        self.audit_arch = audit_arch
        self.numbers = numbers
        self.foreign_from = foreign_from  # syscall numbers from here on belong to another ABI


# From the kernel's syscall tables (asm/unistd_64.h; asm-generic/unistd.h for arm64).
_X86_64 = _Arch(0xC000003E, {
    "clone": 56, "clone3": 435, "unshare": 272, "setns": 308, "mount": 165, "umount2": 166,
    "pivot_root": 155, "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431,
    "fsmount": 432, "fspick": 433, "mount_setattr": 442, "ptrace": 101,
    "process_vm_readv": 310, "process_vm_writev": 311, "keyctl": 250, "add_key": 248,
    "request_key": 249, "kexec_load": 246, "kexec_file_load": 320, "init_module": 175,
    "finit_module": 313, "delete_module": 176, "bpf": 321, "perf_event_open": 298,
    "userfaultfd": 323, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
    "swapon": 167, "swapoff": 168, "reboot": 169, "acct": 163, "quotactl": 179, "syslog": 103,
}, foreign_from=0x40000000)  # __X32_SYSCALL_BIT
_AARCH64 = _Arch(0xC00000B7, {
    "clone": 220, "clone3": 435, "unshare": 97, "setns": 268, "mount": 40, "umount2": 39,
    "pivot_root": 41, "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431,
    "fsmount": 432, "fspick": 433, "mount_setattr": 442, "ptrace": 117,
    "process_vm_readv": 270, "process_vm_writev": 271, "keyctl": 219, "add_key": 217,
    "request_key": 218, "kexec_load": 104, "kexec_file_load": 294, "init_module": 105,
    "finit_module": 273, "delete_module": 106, "bpf": 280, "perf_event_open": 241,
    "userfaultfd": 282, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
    "swapon": 224, "swapoff": 225, "reboot": 142, "acct": 89, "quotactl": 60, "syslog": 116,
}, foreign_from=None)
SUPPORTED = {"x86_64": _X86_64, "amd64": _X86_64, "aarch64": _AARCH64, "arm64": _AARCH64}


def supported(machine: str | None = None) -> bool:
    """Whether a filter can be built for MACHINE (default: this one) and this platform."""
    return sys.platform.startswith("linux") and \
        (machine or platform.machine()).lower() in SUPPORTED


def program(machine: str | None = None) -> bytes:
    """The filter as `struct sock_filter` records, native byte order. Raises OSError when the
    machine is not supported."""
    machine = (machine or platform.machine()).lower()
    arch = SUPPORTED.get(machine)
    if arch is None:
        raise OSError(errno.ENOSYS, f"no seccomp filter for the {machine} architecture")
    # (code, jump-if-true label, jump-if-false label, k); None: the next instruction.
    code: list[tuple[int, str | None, str | None, int]] = [
        (_LD_W_ABS, None, None, _ARCH),
        (_JEQ_K, None, "kill", arch.audit_arch),
        (_LD_W_ABS, None, None, _NR),
    ]
    if arch.foreign_from is not None:
        code.append((_JGE_K, "kill", None, arch.foreign_from))
    code += [(_JEQ_K, "enosys", None, arch.numbers["clone3"]),
             (_JEQ_K, "clone", None, arch.numbers["clone"]),
             (_JEQ_K, "unshare", None, arch.numbers["unshare"])]
    code += [(_JEQ_K, "eperm", None, arch.numbers[name]) for name in DENIED]
    code.append((_RET_K, None, None, _RET_ALLOW))
    labels = {"clone": len(code)}
    code += [(_LD_W_ABS, None, None, _ARG0_LOW),
             (_JSET_K, "eperm", "allow", _CLONE_NAMESPACES)]
    labels["unshare"] = len(code)
    code += [(_LD_W_ABS, None, None, _ARG0_LOW),
             (_JSET_K, "eperm", "allow", _UNSHARE_NAMESPACES)]
    for label, value in (("allow", _RET_ALLOW), ("eperm", _RET_ERRNO | errno.EPERM),
                         ("enosys", _RET_ERRNO | errno.ENOSYS), ("kill", _RET_KILL_PROCESS)):
        labels[label] = len(code)
        code.append((_RET_K, None, None, value))
    out = bytearray()
    for i, (op, jt, jf, k) in enumerate(code):
        offsets = [labels[j] - i - 1 if j is not None else 0 for j in (jt, jf)]
        assert all(0 <= o < 256 for o in offsets), "a jump is out of classic BPF's reach"
        out += struct.pack("=HBBI", op, offsets[0], offsets[1], k)
    return bytes(out)


_fd: int | None = None


def filter_fd() -> int:
    """A read-only memfd holding program(), made once per process and kept open (it is
    close-on-exec: a child gets it only through pass_fds). bwrap reads it from its current
    offset, so whoever passes it must give each child its own offset (see rewind_in_child)."""
    global _fd
    if _fd is None:
        data = program()
        fd = os.memfd_create("grader-seccomp", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        os.write(fd, data)
        import fcntl

        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_WRITE | fcntl.F_SEAL_GROW
                    | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_SEAL)
        _fd = fd
    return _fd


def rewind_in_child(fd: int) -> None:
    """In a child before exec: make FD a private open file at offset 0, so that children
    started at the same time (or from forked copies of this process) never share an offset."""
    try:
        fresh = os.open(f"/proc/self/fd/{fd}", os.O_RDONLY)
    except OSError:
        os.lseek(fd, 0, os.SEEK_SET)
        return
    os.dup2(fresh, fd)
    os.close(fresh)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, _PR_SET_NO_NEW_PRIVS = 22, 2, 38


def installer() -> Callable[[], None]:
    """A function that installs the filter in the process that calls it (no_new_privs first).
    Made before fork: the function itself only calls prctl."""
    data = program()
    buffer = ctypes.create_string_buffer(data, len(data))
    fprog = _SockFprog(len(data) // 8, ctypes.addressof(buffer))
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    prctl = libc.prctl
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                      ctypes.c_ulong]
    address = ctypes.addressof(fprog)

    def install(_keep_alive: object = (buffer, fprog)) -> None:
        for args in ((_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0),
                     (_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, address, 0, 0)):
            if prctl(*args) != 0:
                e = ctypes.get_errno()
                raise OSError(e, f"installing the seccomp filter: {os.strerror(e)}")

    return install
