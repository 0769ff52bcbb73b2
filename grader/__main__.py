import sys

from grader.cli.commands import main

sys.exit(main())
