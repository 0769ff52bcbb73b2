"""The sandbox: where student code runs, and everything that confines it.

Trust role: the boundary. `runtime/` is the only code copied into a worker (standard library
and NumPy only); the rest runs on the grader's side: `worker_files` (the runtime's private
folder, arguments and environment), `isolation/` (namespaces, uid, rlimits, cgroups),
`seccomp` (the system call filter), `launcher` (starting and killing workers, the part that
keeps root), `grading_process` (a fresh unprivileged process per student) and `output_cap`
(what a worker prints, capped, for instructors only).
"""
