"""Making student-controlled text harmless where reports put it: spreadsheets, file names, XML.

Every text is first made printable (grader.printable: no control sequence, nothing XML
cannot hold), then kept from being read as a formula. HTML is escaped by Jinja2's autoescape
(grader/reports/html.py), not here.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Any

from grader.printable import printable

if TYPE_CHECKING:  # pandas only where frames are neutralised: `grader ci` runs without it
    import pandas as pd

# A spreadsheet (Excel, LibreOffice, Google Sheets) reads a cell starting with one of these as
# a formula (OWASP "CSV injection"), also after leading spaces, and in the full-width forms
# that some of them fold to ASCII. Tab and carriage return start a new field in some importers.
_FORMULA_START = tuple("=+-@\t\r\uff1d\uff0b\uff0d\uff20")


def neutralise(value: Any) -> Any:
    """VALUE, safe to put in a spreadsheet cell: a string is made printable, and one that a
    spreadsheet would read as a formula gets a leading apostrophe (shown as text, never
    evaluated). Numbers, including negative ones, stay numbers: only strings can carry a
    formula."""
    if not isinstance(value, str):
        return value
    value = printable(value)
    if value.lstrip(" ").startswith(_FORMULA_START):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    """A copy of FRAME with every text cell neutralised, and its column names too. Numeric
    columns are left alone (a negative number is a number, not a formula)."""
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        # Vectorised for the common case (text columns of a large gradebook); a cell that is
        # not a string (None, a number in a mixed column) is left as it is.
        text = values.astype(object)
        is_text = pd.Series([isinstance(v, str) for v in text], index=text.index, dtype=bool)
        # Tested as one string first: one scan, where most columns have nothing to change.
        joined = "\n".join(text[is_text])
        if printable(joined) != joined:
            text = pd.Series([printable(v) if isinstance(v, str) else v for v in text],
                             index=text.index, dtype=object)
            out[column] = text
        first = text.where(is_text, "").astype(str).str.lstrip(" ").str[:1]
        risky = is_text & first.isin(_FORMULA_START)
        if risky.any():
            out[column] = text.where(~risky, "'" + text.where(risky, "").astype(str))
    out.columns = [neutralise(c) for c in out.columns]
    return out


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def slugs(students: list[str]) -> dict[str, str]:
    """A distinct, safe file name for each student: the name itself when it is plain ASCII
    letters, digits, `.`, `_`, `-` (not starting with a dot), otherwise a cleaned-up prefix
    plus a hash of the name, so `../x`, `a/b`, names differing only in case or in
    characters that were removed can never overwrite each other or escape the folder."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for student in students:
        plain = _UNSAFE.sub("_", student).strip("._-")[:60]
        slug = student
        if plain != student or not plain or slug.lower() in taken:
            digest = hashlib.sha256(student.encode("utf-8", "surrogatepass")).hexdigest()[:10]
            slug = f"{plain or 'student'}-{digest}"
        taken.add(slug.lower())
        out[student] = slug
    return out


def xml_text(value: Any) -> str:
    """VALUE as text an XML file can hold (ElementTree escapes <, & and quotes itself): XML
    1.0 cannot contain most C0 controls, surrogates or U+FFFE/U+FFFF at all, even escaped,
    and printable() writes each of them out."""
    return printable(str(value))
