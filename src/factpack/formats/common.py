"""The tool-neutral document model, offset conversion and the document-name -> stem rule.

Every tool module reads its export into :class:`Document` objects: the verbatim text, spans with
code-point offsets, relations between spans and the annotator who made them. Offsets given in
UTF-16 code units or UTF-8 bytes are converted here, and a span whose covered text (when the
tool gives it) differs from the slice of the text is an error naming both strings.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from factpack.shared.problems import FactpackError

TOOLS: tuple[str, ...] = ("inception", "label-studio", "brat", "doccano")
"""The FORMAT names of ``factpack import`` / ``factpack export``."""

OFFSET_UNITS: tuple[str, ...] = ("code-points", "utf-16", "utf-8")
"""How a tool counts offsets: Unicode code points, UTF-16 code units or UTF-8 bytes."""

CARRY_KEY = "factpack"
"""The metadata key under which an export carries what the tool cannot show (ids, fields)."""


class FormatError(FactpackError):
    """A tool export or mapping file that cannot be imported; one line, naming file and line."""


def export_files(paths: Iterable[Path], suffixes: tuple[str, ...], what: str) -> list[Path]:
    """The files given, or those ending in ``suffixes`` found below given folders (sorted).

    Raises:
        FormatError: a path is neither such a file nor a folder, or nothing was found.
    """
    paths = [Path(p) for p in paths]
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.suffix in suffixes and f.is_file()))
        elif p.suffix in suffixes and p.is_file():
            out.append(p)
        else:
            raise FormatError(f"{p}: not {what} or a folder of them")
    if not out:
        raise FormatError(f"{', '.join(map(str, paths))}: no {what} found")
    return out


def fail(where: str, message: str, hint: str) -> FormatError:
    """Return the one-line error ``where: message; hint``."""
    return FormatError(f"{where}: {message}; {hint}")


@dataclass(frozen=True)
class Span:
    """One labelled stretch of the text.

    Attributes:
        id: The tool's id of the span (brat ``T3``, a Label Studio region id, ...).
        label: The tool's label (brat type, Label Studio label, INCEpTION layer value).
        start: First code point.
        end: Code point just past the span (exclusive).
        where: ``file:line`` of the span in the export, for messages.
        fields: The tool's attributes/features of the span by the tool's names.
        carried: Our item as an earlier ``factpack export`` carried it (local id and the fields
            the tool cannot show), or None.
        segments: For a discontinuous span, its pieces ``(start, end)``; else empty.
    """

    id: str
    label: str
    start: int
    end: int
    where: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    carried: Mapping[str, Any] | None = None
    segments: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Relation:
    """A labelled link from one span to another (``source`` and ``target`` are span ids)."""

    id: str
    label: str
    source: str
    target: str
    where: str


@dataclass(frozen=True)
class Document:
    """One article as a tool exported it.

    Attributes:
        name: The tool's document name (file name, task file, ...); the stem derives from it.
        text: The verbatim text.
        spans: Its spans, offsets in code points.
        relations: Links between spans.
        where: The export file, for messages.
        annotator: Whose work this is, when the tool says (None: the adjudicated annotation).
        carried: The article section and stem an earlier ``factpack export`` carried, or None.
        skipped: What the reader left out and why (printed by the import).
    """

    name: str
    text: str
    spans: Sequence[Span]
    relations: Sequence[Relation]
    where: str
    annotator: str | None = None
    carried: Mapping[str, Any] | None = None
    skipped: Sequence[str] = ()


# --------------------------------------------------------------------------- offsets


class Offsets:
    """Converts a tool's offsets into code-point offsets of one text."""

    def __init__(self, text: str, unit: str) -> None:
        if unit not in OFFSET_UNITS:
            raise ValueError(unit)
        self.text = text
        self.unit = unit
        self._to_cp: dict[int, int] | None = None
        if unit != "code-points" and not (text.isascii()):
            table: dict[int, int] = {}
            pos = 0
            for i, ch in enumerate(text):
                table[pos] = i
                o = ord(ch)
                if unit == "utf-16":
                    pos += 2 if o > 0xFFFF else 1
                else:
                    pos += len(ch.encode("utf-8"))
            table[pos] = len(text)
            self._to_cp = table

    def code_point(self, offset: Any, where: str) -> int:
        """Return the code-point offset of a tool offset, or raise naming ``where``."""
        if isinstance(offset, bool) or not isinstance(offset, int):
            raise fail(where, f"offset {offset!r} is not a whole number", "fix the export")
        if self._to_cp is None:
            if not 0 <= offset <= len(self.text):
                raise fail(
                    where,
                    f"offset {offset} is outside the text ({len(self.text)} characters)",
                    "the export and its text do not belong together",
                )
            return offset
        cp = self._to_cp.get(offset)
        if cp is None:
            raise fail(
                where,
                f"offset {offset} is not a character boundary in {self.unit} units "
                "(inside a character outside the BMP or a multi-byte character, or past the end)",
                "check `offsets:` in the mapping (code-points | utf-16 | utf-8)",
            )
        return cp

    def from_code_point(self, cp: int) -> int:
        """Return the tool offset of a code-point offset (for exports)."""
        if self.unit == "code-points":
            return cp
        head = self.text[:cp]
        if self.unit == "utf-8":
            return len(head.encode("utf-8"))
        return len(head.encode("utf-16-le")) // 2

    def span(self, start: Any, end: Any, where: str, covered: str | None = None) -> tuple[int, int]:
        """Convert ``start``/``end``; check the covered text the tool gave equals the slice.

        Raises:
            FormatError: an offset is invalid, the span is empty or reversed, or the covered
                text differs from the slice (both strings named).
        """
        s = self.code_point(start, where)
        e = self.code_point(end, where)
        if e <= s:
            raise fail(where, f"span {start}-{end} is empty or reversed", "fix the export")
        if covered is not None and covered != self.text[s:e]:
            raise fail(
                where,
                f"the tool's text {_show(covered)} differs from the text at {start}-{end}, "
                f"{_show(self.text[s:e])}",
                "the offsets and the text disagree: check `offsets:` in the mapping "
                f"(now {self.unit}) or fix the export",
            )
        return s, e


def _show(s: str, width: int = 60) -> str:
    s = s if len(s) <= width else s[: width - 1] + "…"
    return '"' + s.replace("\n", "\\n").replace('"', '\\"') + '"'


def show(s: str) -> str:
    """Quote a string on one line for a message."""
    return _show(s)


# --------------------------------------------------------------------------- names


_UNSAFE = re.compile(r"[^a-z0-9_-]+")
_EXTENSIONS = (".txt", ".ann", ".xmi", ".tsv", ".json", ".jsonl", ".html", ".htm")


def stem_of(name: str, text: str) -> str:
    """The stem of a tool's document name (documented in docs/importing.md, "Stems").

    1. Take the last path component (after ``/`` or ``\\``) and drop one known extension
       (.txt .ann .xmi .tsv .json .jsonl .html .htm).
    2. Decompose accents (NFKD), keep ASCII, lower-case.
    3. Replace every run of characters other than ``a-z 0-9 _ -`` by ``-``; strip ``-``/``_``
       from both ends; cut to 64 characters (and strip again).
    4. When nothing is left, ``doc-`` and the first 12 hex digits of the text's sha256.
    """
    base = re.split(r"[/\\]", name)[-1]
    for ext in _EXTENSIONS:
        if base.lower().endswith(ext):
            base = base[: -len(ext)]
            break
    ascii_ = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode("ascii")
    stem = _UNSAFE.sub("-", ascii_.lower()).strip("-_")[:64].strip("-_")
    if not stem:
        return "doc-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    return stem


def annotator_name(name: str) -> str:
    """An annotator's folder name: the stem rule applied to the tool's user name."""
    base = name.split("@", 1)[0]
    ascii_ = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode("ascii")
    out = _UNSAFE.sub("-", ascii_.lower()).strip("-_")[:64].strip("-_")
    return out or "anonymous"


def check_text(text: str, where: str) -> None:
    """Refuse a text the checker would refuse (CR line ends, NUL, byte-order mark)."""
    if text.startswith("\ufeff"):
        raise fail(where, "the text starts with a byte-order mark", "remove it in the tool")
    if "\r" in text:
        line = text.count("\n", 0, text.index("\r")) + 1
        raise fail(
            where,
            f"the text has a carriage return (CR) on its line {line}",
            "the seeds use LF line ends; convert the documents to LF before annotating",
        )
    if "\x00" in text:
        raise fail(where, "the text contains a NUL character", "remove it in the tool")
    if not text.strip():
        raise fail(where, "the document's text is empty", "export the document with its text")
