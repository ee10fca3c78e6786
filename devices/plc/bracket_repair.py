"""Put back the closing brackets that the seed's Beckhoff firmware leaves out.

The seed's PLC status (seed 000, section 6.1.3.3) is not valid JSON: a device object is not closed
before the next device starts (``...}], {"name": "DRD11", ...``), and the end of the device list is
closed with ``}`` instead of ``]}``. The text is otherwise well formed, and what is missing is clear
from the brackets still open:

* a closing bracket of the other kind (``}`` while an array is open, ``]`` while an object is open)
  closes the containers opened since the nearest container of its own kind first;
* ``{`` or ``[`` where an object expects a key after a comma closes that object first, so the comma
  separates siblings in the enclosing array.

Nothing else is guessed: a closing bracket with no container of its kind open, or text that ends with
containers still open (a truncated status), is left as it is, and the JSON parser then refuses it.
Repair is opt-in (``normalise_status(..., repair_brackets=True)``): only a link to seed-era firmware
should need it. Every missing closer leaves the unrepaired text one level deeper, so the depth limit
checked before parsing also bounds how many closers are ever put back.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

_CLOSER = {"{": "}", "[": "]"}


@dataclass(frozen=True)
class BracketInsertion:
    """One closing bracket put back.

    Attributes:
        line: Line (from 1) of the original text where it was put.
        column: Column (from 1) of the original text before which it was put.
        bracket: ``}`` or ``]``.
        reason: Why it was needed.
    """

    line: int
    column: int
    bracket: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: inserted {self.bracket!r} ({self.reason})"


@dataclass(frozen=True)
class RepairedText:
    """JSON text with its missing closing brackets put back.

    Attributes:
        text: The repaired text (the original text if nothing was missing).
        insertions: What was put back, in text order.
    """

    text: str
    insertions: tuple[BracketInsertion, ...]


@dataclass
class _Container:
    """An open object or array; for an object, whether a key is due after a comma, and where that comma is."""

    opener: str
    after_comma: bool = False
    comma_out: int = -1
    comma_text: int = -1


class _LineIndex:
    """Line and column of text positions, learnt as the scan passes newlines."""

    def __init__(self) -> None:
        self.starts = [0]

    def passed_newline(self, position: int) -> None:
        self.starts.append(position + 1)

    def locate(self, position: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.starts, position) - 1
        return line + 1, position - self.starts[line] + 1


def repair_brackets(text: str) -> RepairedText:
    """Put back the closing brackets missing from JSON text, by the rules of this module.

    Runs in one pass with an explicit stack (no recursion), so it is safe on any input size the caller
    accepts.

    Args:
        text: The JSON text.

    Returns:
        The repaired text and what was inserted.
    """
    out: list[str] = []
    insertions: list[BracketInsertion] = []
    stack: list[_Container] = []
    lines = _LineIndex()

    def inserted(position: int, bracket: str, reason: str) -> None:
        line, column = lines.locate(position)
        insertions.append(BracketInsertion(line, column, bracket, reason))

    index = 0
    length = len(text)
    while index < length:
        char = text[index]
        if char == '"':
            end = index + 1
            while end < length and text[end] != '"':
                if text[end] == "\\":
                    end += 1
                elif text[end] == "\n":
                    lines.passed_newline(end)
                end += 1
            out.append(text[index:end + 1])
            index = end + 1
            if stack:
                stack[-1].after_comma = False
            continue
        index += 1
        out.append(char)
        if char in " \t\r\n":
            if char == "\n":
                lines.passed_newline(index - 1)
            continue
        if char in "{[":
            # A container where an object expects a key: that object ended at its last comma.
            while len(stack) > 1 and stack[-1].opener == "{" and stack[-1].after_comma:
                closed = stack.pop()
                out.insert(closed.comma_out, "}")
                inserted(closed.comma_text, "}", "an object was not closed before its next sibling")
                parent = stack[-1]
                parent.after_comma = parent.opener == "{"
                parent.comma_out, parent.comma_text = closed.comma_out + 1, closed.comma_text
            if stack:
                stack[-1].after_comma = False
            stack.append(_Container(char))
        elif char in "}]":
            opener = "{" if char == "}" else "["
            if any(container.opener == opener for container in stack):
                while stack[-1].opener != opener:
                    unclosed = stack.pop()
                    out.insert(len(out) - 1, _CLOSER[unclosed.opener])
                    kind = "an array" if unclosed.opener == "[" else "an object"
                    inserted(index - 1, _CLOSER[unclosed.opener], f"{kind} was not closed before {char!r}")
                stack.pop()
            if stack:
                stack[-1].after_comma = False
        elif char == "," and stack:
            stack[-1].after_comma = True
            stack[-1].comma_out, stack[-1].comma_text = len(out) - 1, index - 1
        elif stack:
            stack[-1].after_comma = False
    return RepairedText("".join(out), tuple(insertions))
