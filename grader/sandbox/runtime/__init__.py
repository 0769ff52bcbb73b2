"""The worker's runtime: the only grader code that runs next to student code.

Trust role: untrusted side. `worker.py`, `protocol.py` and `loading.py` are copied, alone, into
a private folder and run there as top-level modules (grader.sandbox.worker_files), so they
import nothing but the standard library and NumPy; the import-linter contract in
pyproject.toml keeps it so. The grader imports `protocol` and `loading` from here too.
"""
