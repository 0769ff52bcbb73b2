"""JUnit XML for one student, from gradebook rows: what CI test reporters display.

One <testsuite> per exercise, one <testcase> per check. A failed check is a <failure>; any
other status that is not a pass (error, missing, timeout, ...) is an <error> whose type is
that status. Points go in each test case's <properties>. Messages quote student text, so
characters XML 1.0 cannot hold at all (control characters) are dropped; ElementTree escapes
the rest.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: object) -> str:
    return _NOT_XML.sub("", str(text))


def junit_tree(rows: list[dict], name: str = "grader") -> ET.ElementTree:
    suites: dict[str, list[dict]] = {}
    for row in rows:
        suites.setdefault(str(row["exercise"]), []).append(row)
    root = ET.Element("testsuites", name=xml_text(name))
    totals = {"tests": 0, "failures": 0, "errors": 0}
    total_time = 0.0
    for exercise, suite_rows in suites.items():
        suite = ET.SubElement(root, "testsuite", name=xml_text(exercise))
        counts = {"tests": 0, "failures": 0, "errors": 0}
        suite_time = 0.0
        for row in suite_rows:
            seconds = float(row.get("duration_s") or 0.0)
            case = ET.SubElement(suite, "testcase", classname=xml_text(exercise),
                                 name=xml_text(row["check"]), time=f"{seconds:.3f}")
            properties = ET.SubElement(case, "properties")
            for key in ("score", "max_score"):
                ET.SubElement(properties, "property", name=key, value=f"{float(row[key]):g}")
            counts["tests"] += 1
            suite_time += seconds
            if row["status"] != "passed":
                tag = "failure" if row["status"] == "failed" else "error"
                counts["failures" if tag == "failure" else "errors"] += 1
                message = str(row.get("message") or "")
                first = message.splitlines()[0] if message else str(row["status"])
                outcome = ET.SubElement(case, tag, message=xml_text(first),
                                        type=xml_text(row["status"]))
                statement = f"{row['statement']}\n" if row.get("statement") else ""
                outcome.text = xml_text(statement + message)
        suite.set("tests", str(counts["tests"]))
        suite.set("failures", str(counts["failures"]))
        suite.set("errors", str(counts["errors"]))
        suite.set("skipped", "0")
        suite.set("time", f"{suite_time:.3f}")
        for key in totals:
            totals[key] += counts[key]
        total_time += suite_time
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{total_time:.3f}")
    ET.indent(root)
    return ET.ElementTree(root)


def write_junit(rows: list[dict], path: Path, name: str = "grader") -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    junit_tree(rows, name).write(path, encoding="utf-8", xml_declaration=True)
