"""A student's submission: which file is an exercise (`files`), a notebook's code
(`notebook`), when it was submitted (`times`) and what it hashes to (`identity`).

Trust role: these modules read student files as bytes and never run them (running is
grader.engine.in_process's and the sandbox's job).
"""
