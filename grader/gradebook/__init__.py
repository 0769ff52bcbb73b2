"""The gradebook: results as rows (`rows`), the durable SQLite store (`store`).

`grader.gradebook` keeps the public functions of the rows module importable here (rows,
write_csv, totals, pivot, COLUMNS), the names instructors' scripts use.

Trust role: trusted grader data; text a student controls is stored as grader.printable made it.
"""

from grader.gradebook.rows import (
    COLUMNS,
    WRITTEN_PREFIX,
    pivot,
    rows,
    stored_fields,
    totals,
    write_csv,
)

__all__ = ["COLUMNS", "WRITTEN_PREFIX", "pivot", "rows", "stored_fields", "totals", "write_csv"]
