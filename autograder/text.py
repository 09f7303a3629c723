"""Student-controlled text, made safe for wherever it lands.

A student id is a folder name and may hold any byte; an output or an exception message is
whatever the student's code chose.  Each function here makes such text inert in one medium:
one terminal line, a Markdown paragraph or code block, HTML, a spreadsheet cell.
"""
from __future__ import annotations

import html
import re

# Characters a spreadsheet reads as the start of a formula (OWASP's CSV injection list).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~&])")


def one_line(text: str) -> str:
    """``text`` with every control character, line break and undecodable byte (a lone surrogate
    from ``surrogateescape``) written as an escape: one line, printable, never a terminal code."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii")
                   for ch in text)


def utf8(text: str) -> str:
    """``text`` that can be written as UTF-8: an undecodable byte of a folder name is shown as
    ``\\xNN`` (lossy only for display; ``results.json`` keeps the exact id)."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def markdown_inline(text: str) -> str:
    """``text`` as literal Markdown inline text on one line (no emphasis, links or HTML)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", one_line(utf8(text)))


def markdown_code_block(text: str, info: str = "text") -> str:
    """``text`` as a fenced code block that nothing inside can close: the fence is longer than
    any run of backticks in it (CommonMark), so a message cannot forge the rows after it."""
    text = utf8(text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text}\n{fence}"


def html_text(text: str) -> str:
    return html.escape(utf8(text), quote=True)


def spreadsheet_cell(text: str) -> str:
    """A text cell a spreadsheet shows as text: control characters other than tab, CR and LF
    (which the CSV writer quotes) are escaped, and a cell that would start a formula (after any
    leading spaces) is prefixed with an apostrophe, as spreadsheets themselves document."""
    text = "".join(ch if ch.isprintable() or ch in "\t\r\n" else one_line(ch) for ch in utf8(text))
    return "'" + text if text.lstrip(" ").startswith(FORMULA_START) else text
