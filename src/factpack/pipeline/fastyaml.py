"""A fast, exact parser for the block-style YAML that annotations are written in.

:func:`parse` reads the subset of YAML that annotation files use, line by line (one regular
expression matched over the whole text, a few string operations per line, no per-character
loop in Python), and returns the same plain data as the
libyaml path of :func:`factpack.pipeline.yamlload.load_yaml` (YAML 1.2 core schema for plain
scalars,
quoted and block scalars are strings, dates stay strings) -- or None, "decline", for anything it
is not certain about; the caller then composes the text with libyaml as before.

Accepted: full-line and trailing comments; block mappings with plain or simply quoted keys;
block sequences (also "indentless" ones under a key) of scalars, flow collections and mappings;
plain scalars on one line; one-line double-quoted scalars with JSON escapes only; one-line
single-quoted scalars; one-line flow mappings and flow sequences of scalars; block scalars
``|``, ``|-``, ``>`` and ``>-``; empty values. Declined (among anything else unexpected): tabs,
carriage returns, a BOM, control and non-printable characters, anchors, aliases, tags,
document markers, directives, complex keys, duplicate keys, multi-line plain, quoted or flow
scalars, explicit indentation or ``+`` in block scalar headers, nested sequences written
``- - x``, a document that is not a block mapping, and nesting deeper than :data:`MAX_DEPTH`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from factpack.pipeline.yamlload import scalar_value

MAX_DEPTH = 30
"""Deepest nesting accepted here; deeper documents go to libyaml (which refuses past 40)."""

_BAD = re.compile(
    "[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)
"""A character that is not plain printable text or a line feed: tab, CR, NEL, LS, PS, BOM,
controls, surrogates, non-characters."""

_PLAIN_KEY = r"[^\s\-?:,\[\]{}#&*!|>'\"%@`][^\s:#]*(?: +[^\s:#]+)*"
"""A plain key: not starting with an indicator, without ':', '#' or line-end spaces."""
_FLOW_KEY = r"[^\s\-?:,\[\]{}#&*!|>'\"%@`][^\s:#,\[\]{}]*(?: +[^\s:#,\[\]{}]+)*"
"""A plain key in a flow mapping: a plain key without flow indicators ',[]{}'."""
_KEY = rf"(?:({_PLAIN_KEY})|\"([^\"\\\n]+)\"|'((?:[^'\n]|'')+)')"
_LINE = re.compile(rf'^( *)(-(?: +|$))?(?:{_KEY}:(?: +|$))?(?:("[^"\\\n]*") *|(.*))$', re.MULTILINE)
"""Indentation, sequence dash, key (plain, double- or single-quoted, not empty), and either a
double-quoted value without escapes (with its quotes) or the rest.

Matched over the whole text with ``findall``: a group that took no part is "" (so an empty
quoted key is not recognised as a key, and the line is declined)."""

_DQ_BODY = r"(?:[^\"\\]|\\[\"\\/bfnrt]|\\u[0-9a-fA-F]{4})*"
_SQ_BODY = r"(?:[^']|'')*"
_TAIL = r"(?: *$| +#)"
_DQ = re.compile(rf'"({_DQ_BODY})"{_TAIL}')
_SQ = re.compile(rf"'({_SQ_BODY})'{_TAIL}")
_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")
_BLOCK_HEADER = re.compile(rf"([|>])(-?){_TAIL}")

_FLOW_VALUE = (
    rf'"({_DQ_BODY})"|\'({_SQ_BODY})\''
    r"|((?:[^\s,\[\]{}#&*!|>'\"%@`:?-]|-(?=[^\s,\[\]{}]))(?:[^,\[\]{}#:]|:(?=[\w./-]))*?)"
)
_FLOW_PAIR = re.compile(rf' *(?:({_FLOW_KEY})|"([^"\\]*)"): +(?:{_FLOW_VALUE}) *([,}}])')
_FLOW_ITEM = re.compile(rf" *(?:{_FLOW_VALUE}) *([,\]])")
_FLOW_EMPTY = re.compile(rf"(?:\{{ *\}}|\[ *\]){_TAIL}")
_AFTER_FLOW = re.compile(_TAIL)

_COMMON: dict[str, Any] = {"null": None, "~": None, "true": True, "false": False}
_MISSING = object()
_DECLINED_START = frozenset("&*!%@`,]}#?:")


class _Decline(Exception):
    """Raised to give the document up to the libyaml path."""


_Line = tuple[int, int, str, str | None, str, str]
"""A content line: index, indentation, dash (with its spaces) or "", key or None, rest, and
a double-quoted value without escapes (with its quotes) or ""."""


def parse(text: str) -> Any | None:
    """Return the plain data of ``text``, or None when this parser is not sure (decline).

    The data equals what the libyaml path builds (same values and types) whenever it is not
    None; a None document (empty, comments only, ``~``) is declined too.
    """
    if _BAD.search(text) is not None:
        return None
    try:
        parser = _Parser(text)
        first = parser.next(0)
        if first[1] != 0 or first[2] or first[3] is None:
            return None
        data, end = parser.mapping(first, 0)
        if end[0] != parser.count:
            return None
        return data
    except _Decline:
        return None


class _Parser:
    def __init__(self, text: str) -> None:
        self.rows: list[tuple[str, str, str, str, str, str, str]] = _LINE.findall(text)
        self.text = text
        self.lines: list[str] | None = None
        self.count = text.count("\n") + 1
        if len(self.rows) != self.count:
            raise _Decline
        self.eof: _Line = (self.count, -1, "", None, "", "")
        self.newline_at_end = text.endswith("\n")

    def next(self, i: int) -> _Line:
        """Return the first content line (not blank, not a comment) at or after ``i``."""
        rows = self.rows
        count = self.count
        while i < count:
            sp, dash, plain, dq, sq, quoted, rest = rows[i]
            if plain or dq or sq:
                if len(plain or dq or sq) > 1000:
                    raise _Decline  # libyaml allows at most 1024 characters of implicit key
                key = plain or dq or sq.replace("''", "'")
                return i, len(sp), dash, key, rest, quoted
            if dash or quoted or (rest and rest[0] != "#"):
                return i, len(sp), dash, None, rest, quoted
            i += 1
        return self.eof

    def mapping(self, cur: _Line, depth: int) -> tuple[dict[str, Any], _Line]:
        """Read a block mapping whose first entry is ``cur``; return it and the line after."""
        if depth > MAX_DEPTH:
            raise _Decline
        rows = self.rows
        count = self.count
        i, ind, dash, key, rest, quoted = cur
        out: dict[str, Any] = {}
        while True:
            if key is None or dash or key in out:
                raise _Decline
            value: Any
            if quoted or (rest and rest[0] != "#"):
                if quoted:
                    out[key] = quoted[1:-1]
                    j = i + 1
                else:
                    value = _COMMON.get(rest, _MISSING)  # null, true, false
                    if value is _MISSING:
                        value, j = self.value(rest, i, ind)
                    else:
                        j = i + 1
                    out[key] = value
                if j < count:  # the next line is most often the next key, plain, of this mapping
                    sp, dash, key, _, _, quoted, rest = rows[j]
                    if key and not dash and len(sp) == ind and len(key) <= 1000:
                        i = j
                        continue
                cur = self.next(j)
            else:
                cur = self.next(i + 1)
                below = cur[1]
                if below > ind or (below == ind and cur[2]):
                    if cur[2]:
                        value, cur = self.sequence(cur, depth + 1)
                    else:
                        value, cur = self.mapping(cur, depth + 1)
                else:
                    value = None
                out[key] = value
            i, below, dash, key, rest, quoted = cur
            if below < ind:
                return out, cur
            if below > ind:
                raise _Decline

    def sequence(self, cur: _Line, depth: int) -> tuple[list[Any], _Line]:
        """Read a block sequence whose first item is ``cur``; return it and the line after."""
        if depth > MAX_DEPTH:
            raise _Decline
        i, ind, dash, key, rest, quoted = cur
        out: list[Any] = []
        while dash:
            value: Any
            if key is not None:
                value, cur = self.mapping((i, ind + len(dash), "", key, rest, quoted), depth + 1)
            elif quoted:
                value = quoted[1:-1]
                cur = self.next(i + 1)
            elif not rest or rest[0] == "#" or (rest[0] == "-" and rest[1:2] in ("", " ")):
                raise _Decline  # an item on the lines below, or a nested "- - x"
            else:
                value, j = self.value(rest, i, ind)
                cur = self.next(j)
            out.append(value)
            i, below, dash, key, rest, quoted = cur
            if below < ind:
                return out, cur
            if below > ind:
                raise _Decline
        return out, cur

    def value(self, rest: str, i: int, parent: int) -> tuple[Any, int]:
        """Read the value that starts line ``i`` after its key or dash; return it, next index.

        ``parent`` is the indentation of the collection the value belongs to.
        """
        c = rest[0]
        if c == '"':
            end = rest.find('"', 1)
            if end == len(rest) - 1:
                body = rest[1:end]
                if "\\" not in body:
                    return body, i + 1
            m = _DQ.match(rest)
            if m is None:
                raise _Decline
            return _unescape(m.group(1)), i + 1
        if c == "'":
            m = _SQ.match(rest)
            if m is None:
                raise _Decline
            return m.group(1).replace("''", "'"), i + 1
        if c == "{" or c == "[":
            return _flow(rest), i + 1
        if c == "|" or c == ">":
            return self.block(rest, i, parent)
        if c in _DECLINED_START or (c == "-" and rest[1:2] in ("", " ")):
            raise _Decline
        cut = rest.find(" #")
        plain = (rest if cut < 0 else rest[:cut]).rstrip(" ")
        if ": " in plain or plain[-1] == ":":
            raise _Decline
        got = _COMMON.get(plain, _MISSING)
        return (scalar_value(plain, None) if got is _MISSING else got), i + 1

    def block(self, header: str, i: int, parent: int) -> tuple[str, int]:
        """Read a literal or folded block scalar whose header is on line ``i``."""
        m = _BLOCK_HEADER.match(header)
        if m is None:
            raise _Decline  # explicit indentation, keep chomping, or something else
        folded = m.group(1) == ">"
        strip = m.group(2) == "-"
        lines = self.lines
        if lines is None:
            lines = self.lines = self.text.split("\n")
        count = self.count
        j = i + 1
        leading = 0
        widest_blank = 0
        while j < count:
            line = lines[j]
            if line.strip(" "):
                break
            widest_blank = max(widest_blank, len(line))
            leading += 1
            j += 1
        if j >= count - 1 and not self.newline_at_end:
            raise _Decline  # the scalar would run into a last line without a line feed
        if j == count:
            indent = -1
        else:
            line = lines[j]
            indent = len(line) - len(line.lstrip(" "))
        if indent <= parent:
            if widest_blank:
                raise _Decline
            return "", j
        if widest_blank > indent:
            raise _Decline
        prefix = " " * indent
        body: list[str] = [""] * leading
        last = len(body)  # items up to the last content line
        while j < count:
            line = lines[j]
            if line.startswith(prefix):
                content = line[indent:]
                if content and not content.strip(" "):
                    raise _Decline  # a line of only spaces, more than the indentation
                body.append(content)
                if content:
                    last = len(body)
            elif line.strip(" "):
                break
            else:
                body.append("")
            j += 1
        if j >= count - 1 and not self.newline_at_end:
            raise _Decline
        del body[last:]
        end = "" if strip else "\n"
        if not folded:
            return "\n".join(body) + end, j
        return _fold(body, leading) + end, j


def _fold(body: list[str], leading: int) -> str:
    """Join the lines of a folded block scalar as libyaml does (``leading`` empty lines)."""
    parts = ["\n" * leading]
    breaks = 0
    first = True
    previous_blank = False
    for line in body[leading:]:
        if not line:
            breaks += 1
            continue
        blank = line[0] == " "
        if first:
            first = False
        elif not previous_blank and not blank:
            parts.append("\n" * breaks if breaks else " ")
        else:
            parts.append("\n" * (breaks + 1))
        parts.append(line)
        previous_blank = blank
        breaks = 0
    return "".join(parts)


def _unescape(body: str) -> str:
    """Return the text of a double-quoted scalar body that has only JSON escapes."""
    if "\\" not in body:
        return body
    if _SURROGATE.search(body) is not None:
        raise _Decline  # libyaml refuses surrogate escapes; JSON would pair them
    result: str = json.loads('"' + body + '"')
    return result


def _flow_scalar(m: re.Match[str]) -> Any:
    dq, sq, plain = m.group(3, 4, 5) if m.re is _FLOW_PAIR else m.group(1, 2, 3)
    if dq is not None:
        return _unescape(dq)
    if sq is not None:
        return sq.replace("''", "'")
    got = _COMMON.get(plain, _MISSING)
    return scalar_value(plain, None) if got is _MISSING else got


def _flow(rest: str) -> dict[str, Any] | list[Any]:
    """Read a one-line flow mapping or flow sequence of scalars (``rest`` starts with it)."""
    pos = 1
    if rest[0] == "{":
        mapping: dict[str, Any] = {}
        while True:
            m = _FLOW_PAIR.match(rest, pos)
            if m is None:
                if pos == 1 and _FLOW_EMPTY.match(rest):
                    return mapping
                raise _Decline
            key = m.group(1)
            if key is None:
                key = m.group(2)
            if key in mapping:
                raise _Decline
            mapping[key] = _flow_scalar(m)
            pos = m.end()
            if m.group(6) == "}":
                break
        if pos != len(rest) and _AFTER_FLOW.match(rest, pos) is None:
            raise _Decline
        return mapping
    items: list[Any] = []
    while True:
        m = _FLOW_ITEM.match(rest, pos)
        if m is None:
            if pos == 1 and _FLOW_EMPTY.match(rest):
                return items
            raise _Decline
        items.append(_flow_scalar(m))
        pos = m.end()
        if m.group(4) == "]":
            break
    if pos != len(rest) and _AFTER_FLOW.match(rest, pos) is None:
        raise _Decline
    return items
