"""Reports and exports from the gradebook: `grader report OUT` (build.py runs them all).

    data.py        the gradebook as the reports see it: checks, scores with the late policy
    safe.py        neutralising spreadsheet formulas, safe file names, XML-safe text
    tables.py      CSV: long, wide, nbgrader export, Otter final_grades, Canvas import
    excel.py       the Excel workbook (openpyxl)
    gradescope.py  one student's results.json (also used by `grader ci`)
    junit.py       one student's JUnit XML (also used by `grader ci`)
    analysis.py    score distribution, exercise difficulty, most failed checks
    curves.py      the students' traces for the plots, by the course's hooks
                   (solutions/plots/), their code run in sandboxed workers
    plots.py       matplotlib figures (Agg)
    html.py        the class report and each student's feedback (Jinja2, autoescaped)
    screenshot.py  headless Chromium screenshots of the HTML reports
    build.py       `grader report`: which formats, in which order, in how many processes
"""
