"""CI autograding: the student's repository, its workflow, and what GitHub Actions reads.

    release.py        `grader release repo DIR`: the student template repository (stubs, public
                      checks, the grader runtime, README, workflow), with a guard that nothing of
                      solutions/ or the hidden checks is in it
    command.py        `grader ci`: the public checks of the student's own repository, with exit
                      code, job summary, annotations, results.json and JUnit
    workflow.py       GitHub Actions workflow commands (annotations), escaped
    summary.py        the job summary in Markdown
    (results.json and JUnit come from grader.reports, as for the instructor's reports)
    collect.py        `grader collect`: student repositories or zips into a folder to grade
    templates/        the workflows (student, instructor) and the student repository's files
"""
