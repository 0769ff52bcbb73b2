"""GitHub Actions workflow commands (`::error file=...,line=...::message`), escaped.

Messages quote student-controlled text, which must not end the command early or start a new
one: GitHub's toolkit escapes `%`, `\\r` and `\\n` in the data, and also `:` and `,` in property
values (actions/toolkit, core/src/command.ts). A student's text holding a newline followed
by `::add-mask::` or `::stop-commands::` thus stays inside one annotation.
"""

from __future__ import annotations


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties: object) -> str:
    """One workflow command line; properties whose value is None are left out."""
    props = ",".join(f"{key}={escape_property(str(value))}"
                     for key, value in properties.items() if value is not None)
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def error(message: str, *, file: str | None = None, line: int | None = None,
          title: str | None = None) -> str:
    return command("error", message, file=file, line=line, title=title)
