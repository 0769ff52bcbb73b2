"""The `grader` command: `commands` (the sub-commands), `usage` (one-line answers to a
mistaken command line), `edition` (which repository this copy runs in).

Trust role: command-line front end, in the process of whoever runs the command.
"""

from grader.cli.commands import main

__all__ = ["main"]
