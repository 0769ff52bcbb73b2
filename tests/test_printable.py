"""grader.printable: student text with its control sequences written out, never obeyed."""

from __future__ import annotations

import re
import time
import unicodedata

import pytest

from grader.printable import printable

# What a terminal would act on: C0 controls but newline, DEL, C1 (U+009B is an 8-bit CSI).
TERMINAL_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")
ATTACK = "boom\x1b[2J\x1b[H22/22 all checks passed\x1b]52;c;ZXZpbA==\x07"


def test_csi_sequences_are_written_out():
    assert printable("\x1b[2J\x1b[H\x1b[31mred\x1b[0m") == \
        "\\x1b[2J\\x1b[H\\x1b[31mred\\x1b[0m"


def test_the_clear_screen_attack_is_inert_and_still_readable():
    out = printable(ATTACK)
    assert not TERMINAL_CONTROL.search(out)
    assert out == "boom\\x1b[2J\\x1b[H22/22 all checks passed\\x1b]52;c;ZXZpbA==\\x07"


@pytest.mark.parametrize("terminator, shown", [("\x07", "\\x07"), ("\x1b\\", "\\x1b\\")])
def test_osc_52_clipboard_and_window_title_with_bel_or_st(terminator, shown):
    for osc in ("\x1b]52;c;ZXZpbA==", "\x1b]0;pwned"):
        out = printable(osc + terminator)
        assert "\x1b" not in out and "\x07" not in out
        assert out == "\\x1b" + osc[1:] + shown


def test_a_bare_carriage_return_cannot_overwrite_the_line():
    assert printable("0/22 points\r22/22 points") == "0/22 points\\r22/22 points"


def test_crlf_is_a_newline():
    assert printable("one\r\ntwo\r\n") == "one\ntwo\n"
    assert printable("a\r\r\nb") == "a\\r\nb"


def test_backspaces_cannot_erase_what_came_before():
    assert printable("failed\b\b\b\b\b\bpassed") == "failed" + "\\x08" * 6 + "passed"


def test_c1_controls_including_the_8_bit_csi():
    assert printable("\x9b2J\x9d0;title\x9c\x85") == "\\x9b2J\\x9d0;title\\x9c\\x85"


def test_del_and_nul():
    assert printable("a\x7fb\x00c") == "a\\x7fb\\x00c"


def test_bidi_overrides_and_isolates_cannot_reverse_text():
    # "exe.gnp" shown reversed as "png.exe" by U+202E; the isolates U+2066-U+2069 likewise.
    assert printable("invoice\u202egnp.exe") == "invoice\\u202egnp.exe"
    assert printable("\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069") == \
        "\\u202a\\u202b\\u202c\\u202d\\u2066\\u2067\\u2068\\u2069"
    assert printable("\u200e\u200f\u061c") == "\\u200e\\u200f\\u061c"


def test_invisible_and_non_characters():
    assert printable("a\u200bb\ufeffc\u2028d\u2029e") == "a\\u200bb\\ufeffc\\u2028d\\u2029e"
    assert printable("\ufffe\uffff") == "\\ufffe\\uffff"
    assert printable("tag\U000e0041") == "tag\\U000e0041"


def test_a_lone_surrogate_becomes_text_utf8_can_encode():
    out = printable("bad\ud800end")
    assert out == "bad\\ud800end"
    out.encode("utf-8")


def test_newlines_stay_tabs_become_spaces():
    assert printable("line one\n\tindented\n") == "line one\n    indented\n"


def test_one_line_escapes_newlines_too():
    assert printable("new\nline\r\n", newlines=False) == "new\\nline\\r\\n"
    assert printable("a\tb\x1b", newlines=False) == "a    b\\x1b"


@pytest.mark.parametrize("text", [
    "plain ASCII, punctuation: <>&\"'`|*_~ and a \\ backslash",
    "ünïcödé 学生 🙂 👩\u200d💻 (a zero-width joiner is kept)",
    "नमस्\u200cते",  # zero-width non-joiner: needed by scripts
    "❤\ufe0f",  # variation selector
    "",
])
def test_ordinary_text_is_unchanged(text):
    assert printable(text) == text
    assert printable(text, newlines=False) == text


def test_no_control_surrogate_separator_or_bidi_character_comes_out():
    every = "".join(map(chr, range(0x3000))) + "\ufeff\ufffe\uffff\U000e0001\U000e007f"
    for newlines in (True, False):
        out = printable(every, newlines=newlines)
        left = {c for c in out if unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp")
                or unicodedata.bidirectional(c) in ("LRE", "RLE", "LRO", "RLO", "PDF", "LRI",
                                                    "RLI", "FSI", "PDI", "LRM", "RLM", "ALM")}
        assert left == ({"\n"} if newlines else set())


@pytest.mark.parametrize("text", [ATTACK, "a\r\r\n\r\n\tb\u202e\ud800", "\\x1b literally",
                                  "".join(map(chr, range(0x300)))])
def test_idempotent(text):
    once = printable(text)
    assert printable(once) == once
    line = printable(text, newlines=False)
    assert printable(line, newlines=False) == line
    assert printable(line) == line


def test_deterministic_and_bounded():
    text = "\x1b\U000e0041\u202e" * 1000
    assert printable(text) == printable(text)
    assert len(printable(text)) <= 10 * len(text)


def test_fast_on_large_clean_text():
    text = "observed 0.31, expected 0.5\n" * 10_000  # 280 kB
    start = time.perf_counter()
    for _ in range(10):
        assert printable(text) == text
    assert time.perf_counter() - start < 0.5


def test_a_str_subclass_is_read_as_plain_text():
    class Sly(str):
        def __str__(self) -> str:
            return "\x1b[2J"

    out = printable(Sly("fine\x07"))
    assert out == "fine\\x07" and type(out) is str


@pytest.mark.parametrize("value", [None, 3, b"\x1b[2J", ["\x1b"]])
def test_anything_but_text_is_refused(value):
    with pytest.raises(TypeError):
        printable(value)  # type: ignore[arg-type]
