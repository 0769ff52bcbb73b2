"""Which repository this copy of the grader runs in.

In the instructor's course repository STUDENT_REPOSITORY is False. `grader release repo`
writes this file with True into the student repository, which holds no solutions, hidden
checks, nbgrader support or class reports: there the `grader` command offers only the
commands that work (check, ci) and answers the others in one line. Trust role: none; this
flag chooses what the command line offers and guards nothing (hidden material is kept out of
the student repository by not shipping it).
"""

STUDENT_REPOSITORY = False
