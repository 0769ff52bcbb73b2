"""One student's results as JUnit XML, the format CI test reporters display.

`<testsuites>` with one `<testsuite>` per exercise and one `<testcase>` per check
(classname: the exercise, name: the check). A failed check has a `<failure>`, any status
where the code did not run as it should (error, missing, timeout, crashed, ...) an
`<error>`; the message attribute is the feedback's first line, the element text all of it.
Points and the late penalty are `<properties>` of each suite. Built with ElementTree, which
escapes markup; characters XML cannot hold at all are replaced (grader.reports.safe.xml_text).

`rows` are gradebook rows of ONE student, as for grader.reports.gradescope.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from grader.course.late import Lateness
from grader.reports.safe import xml_text


def junit_tree(rows: Sequence[Mapping[str, Any]], *,
               late: Mapping[str, Lateness] | None = None,
               suite_prefix: str = "") -> ET.ElementTree:
    """The JUnit document of one student's ROWS. SUITE_PREFIX goes before each exercise's
    suite name (e.g. the student's name when several files are merged)."""
    suites: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        suites.setdefault(str(row["exercise"]), []).append(row)
    root = ET.Element("testsuites", name=xml_text(suite_prefix or "grader"))
    totals = {"tests": 0, "failures": 0, "errors": 0, "time": 0.0}
    for ex, checks in suites.items():
        suite = ET.SubElement(root, "testsuite", name=xml_text(f"{suite_prefix}{ex}"))
        score = sum(float(r["score"]) for r in checks)
        max_score = sum(float(r["max_score"]) for r in checks)
        properties = ET.SubElement(suite, "properties")
        lateness = (late or {}).get(ex)
        penalty = lateness.penalty(score, max_score) if lateness else 0.0
        for name, value in (("points", f"{score:g}"), ("max_points", f"{max_score:g}"),
                            ("late_penalty", f"{penalty:g}"),
                            ("late", lateness.describe() if lateness else "")):
            ET.SubElement(properties, "property", name=name, value=xml_text(value))
        counts = {"failures": 0, "errors": 0}
        elapsed = 0.0
        for row in checks:
            duration = float(row.get("duration_s") or 0.0)
            elapsed += duration
            hidden = " (hidden)" if row.get("hidden") else ""
            case = ET.SubElement(suite, "testcase", classname=xml_text(ex),
                                 name=xml_text(f"{row['check']}{hidden}"),
                                 time=f"{duration:.3f}")
            status = str(row["status"])
            if status == "passed":
                continue
            kind = "failure" if status == "failed" else "error"
            counts["failures" if kind == "failure" else "errors"] += 1
            message = str(row.get("message") or "")
            first = message.splitlines()[0] if message else status
            points = f"{float(row['score']):g}/{float(row['max_score']):g} points"
            element = ET.SubElement(case, kind, type=status,
                                    message=xml_text(f"{first} ({points})"))
            element.text = xml_text(message)
        suite.set("tests", str(len(checks)))
        suite.set("failures", str(counts["failures"]))
        suite.set("errors", str(counts["errors"]))
        suite.set("skipped", "0")
        suite.set("time", f"{elapsed:.3f}")
        totals["tests"] += len(checks)
        totals["failures"] += counts["failures"]
        totals["errors"] += counts["errors"]
        totals["time"] += elapsed
    for name in ("tests", "failures", "errors"):
        root.set(name, str(totals[name]))
    root.set("time", f"{totals['time']:.3f}")
    return ET.ElementTree(root)


def write_junit(rows: Sequence[Mapping[str, Any]], path: Path, **options: Any) -> Path:
    """Write junit_tree(ROWS, **OPTIONS) to PATH (UTF-8 XML)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tree = junit_tree(rows, **options)
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
    return path
