"""The engine: running checks against one submission through one handle type.

`handle` (the Handle protocol and the in-process guard), `in_process` (loading a submission in
this process), `remote` (the worker's handles, across the sandbox's channel), `sessions` (one
exercise of one submission, in this process or in a worker), `run_check` (a check's outcome as
a result), `results`, `time_limit`, `replay` and `example_cache` (a check's examples, drawn
once), `grader_key` (what graded a row).

Trust role: trusted, the grader's side; student code is reached only through a handle.
"""
