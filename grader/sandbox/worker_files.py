"""The worker's runtime files in a private folder, with its arguments and plain environment.

Trust role: grader side. Only the files of grader/sandbox/runtime/ are copied (the worker can
import nothing else of the grader); the folder is what every launcher and isolation level
starts the worker from.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["NUMPY_HOME", "RUNTIME_FILES", "minimal_env", "runtime_dir", "worker_arguments"]

RUNTIME_FILES = ("worker.py", "protocol.py", "loading.py")
RUNTIME = Path(__file__).resolve().parent / "runtime"
# The folder NumPy is installed in: the worker runs with -S (no site module) and puts this
# one folder on sys.path itself.
NUMPY_HOME = os.path.dirname(os.path.dirname(os.path.abspath(np.__file__)))


def worker_arguments(read_fd: int, write_fd: int) -> list[str]:
    """worker.py's command-line arguments: its two channel ends, and where NumPy is."""
    return [str(read_fd), str(write_fd), NUMPY_HOME]


def runtime_dir() -> Path:
    """A private folder holding only the worker's three files (nothing else importable)."""
    folder = Path(tempfile.mkdtemp(prefix="grader-worker-"))
    for name in RUNTIME_FILES:
        shutil.copyfile(RUNTIME / name, folder / name)
    folder.chmod(0o755)
    return folder


def minimal_env() -> dict[str, str]:
    """The environment of a worker started without isolation."""
    from grader.sandbox.isolation import blas_kernel_env

    return {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg",
            "HOME": "/tmp", "PYTHONDONTWRITEBYTECODE": "1", **blas_kernel_env()}
