"""Grading: a class (`grade_class`, for `grade` and `grade --nbgrader`), the executor every
fan-out uses (`executor`), a student's own check (`local_check`) and the audit (`audit`).

Trust role: trusted; student code runs only in the sandbox's workers these modules start.
"""
