"""The course through other systems: nbgrader (`nbgrader/`), CI (`ci/`) and JupyterHub (`hub`).

Trust role: as each subpackage's docstring says; all of them grade through grader.grading.
"""
