"""Trust boundary for text: what the grader did not write, made inert for every sink.

Student code controls exception messages, folder and file names and what it prints. Kept as
they are, an ESC or an 8-bit CSI in them drives the terminal of whoever reads them (clear the
screen and print a fake score, set the window title, write the clipboard with OSC 52), a bare
carriage return or backspaces overwrite what came before, bidi overrides show text reversed,
and XML 1.0 cannot hold most C0 controls at all. `printable` writes each such character as a
visible escape in Python's notation (`\\x1b`, `\\u202e`): nothing is hidden or dropped, and
the result is made of printable characters and newlines only, fit for a terminal, a log, CSV,
SQLite, HTML, XML, JSON and a spreadsheet alike. A backslash is left alone, so text that
already spells `\\x1b` reads the same as an escaped ESC; in exchange the function is
idempotent, and text may pass through it at every sink on its way.

Standard library only, and cheap: `grader ci` and `grader check` import it without pandas.
"""

from __future__ import annotations

import re

__all__ = ["printable"]

TAB = "    "

# C0 controls but newline, DEL and the C1 controls (U+009B is an 8-bit CSI); the Arabic letter
# mark, Mongolian vowel separator, zero-width space, left-to-right and right-to-left marks, line
# and paragraph separators, bidi embeddings and overrides, U+2060-U+206F (word joiner,
# invisible operators, bidi isolates, deprecated format controls); lone surrogates (UTF-8
# cannot encode them); the byte order mark, interlinear annotation controls, U+FFFE/U+FFFF
# (not characters; XML forbids them); tag characters (invisible text some tools still read).
# Zero-width (non-)joiners and variation selectors stay: scripts and emoji need them.
_INVISIBLE = ("\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u180e\u200b\u200e\u200f\u2028-\u202e"
              "\u2060-\u206f\ud800-\udfff\ufeff\ufff9-\ufffb\ufffe\uffff\U000e0000-\U000e007f")
# One character class, no alternation: the regex engine then scans clean text at full speed.
_IN_TEXT = re.compile(f"[{_INVISIBLE}]")
_IN_LINE = re.compile(f"[\n{_INVISIBLE}]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": TAB}


def _visible(match: re.Match[str]) -> str:
    char, end = match.group(), match.end()
    if char == "\r" and match.re is _IN_TEXT and match.string[end:end + 1] == "\n":
        return ""  # CRLF is a newline; only a bare CR can overwrite a line
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(text: str, *, newlines: bool = True) -> str:
    """TEXT with every control and invisible formatting character written as a visible escape
    (ESC as the four characters `\\x1b`), a tab as four spaces and CRLF as a newline.

    With `newlines=False` (a name shown on one line: a table row, a summary) a newline is
    escaped too (`\\n`). The result is at most 10 times as long as TEXT. Raises TypeError for
    anything but a str: formatting an object would run its code.
    """
    if not isinstance(text, str):
        raise TypeError(f"printable() takes a str, not {type(text).__name__}")
    return (_IN_TEXT if newlines else _IN_LINE).sub(_visible, str.__str__(text))
