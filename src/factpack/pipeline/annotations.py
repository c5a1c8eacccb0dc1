"""Read and check one article pair (``seeds/<stem>.txt`` + ``seeds/<stem>.yaml``).

:func:`load_article` reads the text and the annotation once, checks the annotation against its
JSON Schema (derived from ``schema/`` by :mod:`factpack.shared.schema`) and against the text,
resolves every quote selector to code-point offsets and returns an
:class:`~factpack.pipeline.article.Article`.
:func:`check_paths` does that for files and directories and is what ``factpack check`` runs.
Every problem names the file, line and column and says how to fix it; all are collected.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import gc
import hashlib
import os
import re
import zoneinfo
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import astuple, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import fastjsonschema
import jsonschema

from factpack.pipeline.article import Article
from factpack.pipeline.selectors import FoldedText, Selector, SelectorError, fold
from factpack.shared.problems import Problem, UsageError, display_path, display_paths
from factpack.shared.schema import annotation_json_schema, load_schema
from factpack.shared.yamlload import Loaded, Path_, load_yaml

SAFE_STEM = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
SEQUENCE_PREFIX = re.compile(r"^[0-9]+_")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
SECTIONS: tuple[tuple[str, str], ...] = (
    ("sources", "source_id"),
    ("events", "event_id"),
    ("claims", "claim_id"),
)
GUIDE = "docs/annotation-guide.md"


def article_id_of(stem: str) -> str:
    """Return the article id: the stem without an optional leading ``^[0-9]+_`` prefix."""
    return SEQUENCE_PREFIX.sub("", stem, count=1)


# --------------------------------------------------------------------------- the text


def decode_text(data: bytes, shown: str) -> tuple[str | None, list[Problem]]:
    """Decode an article text: UTF-8, no byte-order mark, no NUL, LF line ends.

    Args:
        data: The bytes of ``seeds/<stem>.txt``.
        shown: The path as shown in problems.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return None, [
            Problem(
                shown,
                1,
                1,
                "text starts with a UTF-8 byte-order mark",
                "save it without BOM (offsets count from the first character)",
                code="text-bom",
            )
        ]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        return None, [
            Problem(
                shown,
                line,
                col,
                f"text is not valid UTF-8 (byte 0x{data[e.start]:02x})",
                "save the article as UTF-8",
                code="text-encoding",
            )
        ]
    problems = []
    if (at := text.find("\x00")) >= 0:
        line, col = _line_col(text, at)
        problems.append(
            Problem(shown, line, col, "text contains a NUL character", "remove it", code="text-nul")
        )
    if (at := text.find("\r")) >= 0:
        line, col = _line_col(text, at)
        problems.append(
            Problem(
                shown,
                line,
                col,
                "text contains a carriage return (CR)",
                "use LF line ends (dos2unix)",
                code="text-crlf",
            )
        )
    return (None if problems else text), problems


# --------------------------------------------------------------------------- the JSON Schema


@lru_cache(maxsize=1)
def _schema_parts() -> tuple[jsonschema.protocols.Validator, dict[str, str]]:
    """Return the annotation validator and the sub-event type -> event type map."""
    schema = load_schema()
    json_schema = annotation_json_schema(schema)
    cls = jsonschema.validators.validator_for(json_schema)
    validator = cls(json_schema)
    parents = {
        name: str(value.get("parent", ""))
        for name, value in schema.vocabularies["sub_event_type"].values.items()
    }
    return validator, parents


def _label(path: Iterable[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "the file"


def _suggest(value: Any, choices: Iterable[Any]) -> str | None:
    options = [str(c) for c in choices if c is not None]
    text = str(value)
    for c in options:
        if c.lower() == text.lower():
            return c
    close = difflib.get_close_matches(text, options, n=1, cutoff=0.5)
    return close[0] if close else None


_TYPE_NAMES = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    list: "list",
    dict: "mapping",
    type(None): "null",
}


_JSON_TYPE_NAMES = {"object": "mapping", "array": "list"}
"""JSON Schema type names as an annotator writing YAML knows them."""


@lru_cache(maxsize=1)
def fast_validator() -> Callable[[Any], bool]:
    """Return a check that is True exactly when a document fits the annotation JSON Schema.

    The clean file's fast path: ``fastjsonschema`` compiles the schema to Python once per
    process (formats are annotations only, as jsonschema treats them by default); jsonschema
    runs, and explains with paths, only when this says False.
    """
    validator, _ = _schema_parts()
    schema: Any = validator.schema
    compiled = fastjsonschema.compile(schema, use_formats=False)

    def check(value: Any) -> bool:
        try:
            compiled(value)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    return check


_SCHEMA_CODES = {
    "enum": "vocabulary",
    "const": "format",
    "type": "type",
    "pattern": "pattern",
    "minLength": "empty",
    "minimum": "range",
    "maximum": "range",
    "": "schema",
}
"""JSON Schema keyword -> problem code (``""``: any other keyword)."""

_ID_KINDS = {"S": ("source", "sources"), "E": ("event", "events"), "C": ("claim", "claims")}
_ID_PATTERN = re.compile(r"^\^([SEC])\[0-9\]\+\$$")
_PATTERN_HINTS = {
    r"^\d{4}-\d{2}-\d{2}$": 'write the date as "YYYY-MM-DD" (in quotes)',
    r"^([01][0-9]|2[0-3]):[0-5][0-9]$": 'write a 24-hour time "HH:MM" from 00:00 to 23:59',
    r"^[a-z]{2}$": "write a two-letter ISO 639-1 language code such as en",
    r"^[A-Z]{2}$": "write a two-letter ISO 3166-1 country code such as UA",
    r"^[0-9a-f]{64}$": "write the sha256 of the .txt: 64 lower-case hex digits (sha256sum)",
    r"^Q[1-9][0-9]*$": "write a Wikidata id such as Q159, or leave it empty",
}


def _pattern_hint(path: Path_, value: Any, pattern: str) -> str:
    """Say how to write a value that does not match its pattern (ids: which kind is wanted)."""
    wanted = _ID_PATTERN.match(pattern)
    if wanted:
        noun = _ID_KINDS[wanted.group(1)][0]
        text = str(value)
        got = _ID_KINDS.get(text[:1]) if re.fullmatch(r"[SEC][0-9]+", text) else None
        if got:
            letter = wanted.group(1)
            article = "an" if got[0][0] == "e" else "a"
            return (
                f"'{text}' is {article} {got[0]} id, but {_label(path)} takes a {noun} id "
                f"({letter}1, {letter}2, ...)"
            )
        return f"write a {noun} id: {wanted.group(1)} and a number ({wanted.group(1)}1)"
    return _PATTERN_HINTS.get(pattern, f"see {GUIDE} for the form")


def _schema_problems(data: Any, loaded: Loaded, shown: str) -> list[Problem]:
    if fast_validator()(data):
        return []
    validator, _ = _schema_parts()
    problems: list[Problem] = []
    suggested: set[tuple[Path_, str]] = set()
    required: list[tuple[Path_, str]] = []
    seen: set[tuple[Any, ...]] = set()
    for err in validator.iter_errors(data):
        path: Path_ = tuple(err.absolute_path)
        kind = err.validator
        label = _label(path)
        inst = err.instance
        subschema: Any = err.schema
        wanted: Any = err.validator_value
        if kind == "additionalProperties" and isinstance(inst, dict):
            allowed = list(subschema.get("properties", {}))
            for key in inst:
                if key in allowed or (path, key) in seen:
                    continue
                seen.add((path, key))
                guess = _suggest(key, allowed)
                if guess:
                    suggested.add((path, guess))
                hint = f"did you mean '{guess}'?" if guess else "allowed: " + ", ".join(allowed)
                line, col = loaded.where((*path, key), key=True)
                problems.append(
                    Problem(
                        shown,
                        line,
                        col,
                        f"unknown key '{key}' in {label}",
                        hint,
                        code="unknown-key",
                    )
                )
            continue
        if kind == "required" and isinstance(inst, dict):
            for key in wanted:
                if key not in inst and (path, key) not in seen:
                    seen.add((path, key))
                    required.append((path, key))
            continue
        line, col = loaded.where(path)
        code = _SCHEMA_CODES.get(str(kind), _SCHEMA_CODES[""])
        if kind == "enum":
            options = [v for v in wanted if v is not None]
            guess = _suggest(inst, options)
            hint = (
                (f"did you mean '{guess}'? " if guess else "")
                + "valid: "
                + ", ".join(map(str, options))
            )
            message = f"{label}: {inst!r} is not a valid value"
        elif kind == "const":
            message = f"{label} must be {wanted!r}"
            hint = f"write {label}: {wanted}"
        elif kind == "type":
            want = wanted
            wants = [
                _JSON_TYPE_NAMES.get(w, w)
                for w in ([want] if isinstance(want, str) else want)
                if w != "null"
            ]
            got = _TYPE_NAMES.get(type(inst), type(inst).__name__)
            if inst is None:
                message = f"{label} is required and must not be empty"
                hint = f"give a {' or '.join(wants)} value"
            else:
                message = f"{label}: expected {' or '.join(wants)}, got {got} {inst!r}"
                if "string" in wants and isinstance(inst, (int, float)):
                    hint = f'write it in quotes: "{inst}"'
                elif wants == ["boolean"]:
                    hint = "write true or false, without quotes"
                else:
                    hint = f"give a {' or '.join(wants)} value"
        elif kind == "pattern":
            message = f"{label}: {inst!r} does not match {wanted}"
            hint = _pattern_hint(path, inst, wanted)
        elif kind == "minLength":
            message = f"{label} must not be empty"
            hint = "give a value, or remove the key if it is optional"
        elif kind in ("minimum", "maximum"):
            message = f"{label}: {inst!r} is out of range ({kind} {wanted})"
            hint = f"give a value {'>=' if kind == 'minimum' else '<='} {wanted}, or leave it empty"
        else:
            message = f"{label}: {err.message}"
            hint = f"see {GUIDE}"
        problems.append(Problem(shown, line, col, message, hint, code=code))
    for path, key in required:
        if (path, key) in suggested:
            continue
        line, col = loaded.where(path)
        problems.append(
            Problem(
                shown,
                line,
                col,
                f"missing required key '{key}' in {_label(path)}",
                f"add {key}: (see {GUIDE})",
                code="missing-key",
            )
        )
    return problems


# --------------------------------------------------------------------------- checks on the text


def _items(doc: Mapping[str, Any], section: str) -> Iterator[tuple[int, dict[str, Any]]]:
    items = doc.get(section)
    if isinstance(items, list):
        for i, item in enumerate(items):
            if isinstance(item, dict):
                yield i, item


def _selector(value: Any) -> Selector | None:
    if not isinstance(value, dict) or not isinstance(value.get("exact"), str):
        return None
    prefix, suffix = value.get("prefix"), value.get("suffix")
    return Selector(
        value["exact"],
        prefix if isinstance(prefix, str) else None,
        suffix if isinstance(suffix, str) else None,
    )


def _date(value: Any) -> dt.date | str | None:
    """Return the date, None when absent or malformed (the schema reports it), or "bad"."""
    if not isinstance(value, str) or not DATE.match(value):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return "bad"


@lru_cache(maxsize=512)
def _valid_timezone(name: str) -> bool:
    if not name or name.startswith(("/", ".")) or ".." in name:
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


class _Checker:
    """Collects the problems of one annotation checked against its text."""

    def __init__(self, shown: str, loaded: Loaded) -> None:
        self.shown = shown
        self.loaded = loaded
        self.problems: list[Problem] = []

    def add(self, path: Path_, message: str, hint: str, *, code: str, key: bool = False) -> None:
        line, col = self.loaded.where(path, key=key)
        self.problems.append(Problem(self.shown, line, col, message, hint, code))

    # ids and references ----------------------------------------------------------------

    def ids(self, doc: Mapping[str, Any]) -> dict[str, dict[str, int]]:
        """Check local ids are unique; return section -> id -> item index."""
        out: dict[str, dict[str, int]] = {}
        for section, id_key in SECTIONS:
            seen: dict[str, int] = {}
            for i, item in _items(doc, section):
                local = item.get(id_key)
                if not isinstance(local, str):
                    continue
                if local in seen:
                    first = self.loaded.where((section, seen[local], id_key))[0]
                    self.add(
                        (section, i, id_key),
                        f"duplicate {id_key} '{local}' (first at line {first})",
                        "give every item its own id",
                        code="duplicate-id",
                    )
                else:
                    seen[local] = i
            out[section] = seen
        return out

    def references(self, doc: Mapping[str, Any], ids: Mapping[str, Mapping[str, int]]) -> None:
        """Claims point at existing sources, events and claims; responds_to has no cycles."""
        targets = (
            ("source_id", "sources", "source"),
            ("event_id", "events", "event"),
            ("responds_to", "claims", "claim"),
        )
        # A reference of the wrong form (an event id as source_id) is the schema's to report.
        forms = {"source_id": "S", "event_id": "E", "responds_to": "C"}
        answers: dict[str, str] = {}
        for i, claim in _items(doc, "claims"):
            own = claim.get("claim_id")
            for key, section, noun in targets:
                ref = claim.get(key)
                if not isinstance(ref, str) or not re.fullmatch(forms[key] + "[0-9]+", ref):
                    continue
                if key == "responds_to" and ref == own:
                    self.add(
                        ("claims", i, key),
                        f"claims[{i}].responds_to: claim {own} answers itself",
                        "point at the earlier claim it answers, or null",
                        code="reference",
                    )
                    continue
                known = ids.get(section, {})
                if ref not in known:
                    guess = _suggest(ref, known)
                    listed = ", ".join(known) or f"none: add the {noun} to {section}"
                    self.add(
                        ("claims", i, key),
                        f"claims[{i}].{key}: no {noun} with id '{ref}'",
                        (f"did you mean '{guess}'? " if guess else "") + f"{section}: {listed}",
                        code="reference",
                    )
                elif key == "responds_to" and isinstance(own, str):
                    answers[own] = ref
            has_reply, has_relation = claim.get("responds_to"), claim.get("relation")
            if bool(has_reply) != bool(has_relation):
                if has_reply:
                    self.add(
                        ("claims", i, "responds_to"),
                        f"claims[{i}] has responds_to but no relation",
                        "add relation: denies | disputes | supports",
                        code="relation",
                    )
                else:
                    self.add(
                        ("claims", i, "relation"),
                        f"claims[{i}] has a relation but no responds_to",
                        "name the claim it answers in responds_to, or set relation: null",
                        code="relation",
                    )
        reported: set[str] = set()
        claim_index = ids.get("claims", {})
        for start in answers:
            chain = [start]
            node = answers.get(start)
            while node is not None and node not in chain:
                chain.append(node)
                node = answers.get(node)
            if node is None or node in reported:
                continue
            cycle = chain[chain.index(node) :]
            reported.update(cycle)
            first = min(cycle, key=lambda c: claim_index.get(c, 0))
            shown = " -> ".join([*cycle[cycle.index(first) :], *cycle[: cycle.index(first)]])
            self.add(
                ("claims", claim_index.get(first, 0), "responds_to"),
                f"responds_to forms a cycle: {shown} -> {first}",
                "a claim answers an earlier claim; break the cycle",
                code="reference",
            )

    def adjudication(self, doc: Mapping[str, Any], ids: Mapping[str, Mapping[str, int]]) -> None:
        """Every adjudication note names at least one item, and only items of this file."""
        sections = {"S": ("sources", "source"), "E": ("events", "event"), "C": ("claims", "claim")}
        notes = doc.get("adjudication")
        for i, note in enumerate(notes if isinstance(notes, list) else []):
            items = note.get("items") if isinstance(note, dict) else None
            if not isinstance(items, list):
                continue
            if not items:
                self.add(
                    ("adjudication", i, "items"),
                    f"adjudication[{i}].items is empty",
                    "name the item(s) the decision is about, e.g. items: [E1]",
                    code="reference",
                )
            for j, ref in enumerate(items):
                if not isinstance(ref, str) or ref[:1] not in sections:
                    continue
                section, noun = sections[ref[:1]]
                if ref not in ids.get(section, {}):
                    self.add(
                        ("adjudication", i, "items", j),
                        f"adjudication[{i}].items: no {noun} with id '{ref}'",
                        f"{section}: " + (", ".join(ids.get(section, {})) or "none"),
                        code="reference",
                    )

    # vocabularies, dates, times -----------------------------------------------------------

    def events(self, doc: Mapping[str, Any], published: dt.date | None) -> None:
        """sub_event_type belongs to event_type; dates, time zones and notes are coherent."""
        _, parents = _schema_parts()
        for i, ev in _items(doc, "events"):
            sub, typ = ev.get("sub_event_type"), ev.get("event_type")
            if isinstance(sub, str) and isinstance(typ, str) and parents.get(sub, typ) != typ:
                self.add(
                    ("events", i, "sub_event_type"),
                    f"events[{i}].sub_event_type '{sub}' does not belong to event_type '{typ}'",
                    f"'{sub}' is a sub-event type of '{parents[sub]}'; change one of the two",
                    code="sub-event-type",
                )
            start = self.date(("events", i, "date_start"), ev)
            end = self.date(("events", i, "date_end"), ev)
            if start and end and start > end:
                self.add(
                    ("events", i, "date_end"),
                    f"events[{i}]: date_end {end} is before date_start {start}",
                    "swap them, or correct the wrong one",
                    code="date-order",
                )
            if end and not ev.get("date_start"):
                self.add(
                    ("events", i, "date_end"),
                    f"events[{i}] has date_end but no date_start",
                    "give date_start too (equal to date_end for one day)",
                    code="date-order",
                )
            note = ev.get("date_note")
            if start and published and start > published and not note:
                self.add(
                    ("events", i, "date_start"),
                    f"events[{i}].date_start {start} is after the publication date {published}",
                    "correct it, or explain it in date_note",
                    code="date-after-publication",
                )
            self.basis(("events", i), ev, "date_basis", "date_note", ("date_start", "date_end"))
            tz = ev.get("timezone")
            if isinstance(tz, str) and tz and not _valid_timezone(tz):
                guess = _suggest(tz, _timezone_names())
                self.add(
                    ("events", i, "timezone"),
                    f"events[{i}].timezone '{tz}' is not an IANA time zone name",
                    (f"did you mean '{guess}'? " if guess else "")
                    + "use a name like Europe/Moscow",
                    code="timezone",
                )
            if ev.get("time_local"):
                missing = [k for k in ("timezone", "date_start") if not ev.get(k)]
                if missing:
                    self.add(
                        ("events", i, "time_local"),
                        f"events[{i}].time_local needs {' and '.join(missing)}",
                        "give the event's IANA time zone and date, or remove time_local",
                        code="time-local",
                    )

    def date(self, path: Path_, item: Mapping[str, Any]) -> dt.date | None:
        """Return the date at ``path`` (its last part is the key in ``item``), if valid."""
        raw = item.get(str(path[-1]))
        value = _date(raw)
        if value == "bad":
            self.add(
                path,
                f"{_label(path)}: {raw} is not a calendar date",
                "give a day that exists (YYYY-MM-DD)",
                code="date",
            )
            return None
        return value if isinstance(value, dt.date) else None

    def basis(
        self,
        path: Path_,
        item: Mapping[str, Any],
        basis_key: str,
        note_key: str,
        date_keys: tuple[str, ...],
    ) -> None:
        """An inferred date needs a note; a date has a known basis and a known basis a date."""
        basis = item.get(basis_key)
        has_date = any(item.get(k) for k in date_keys)
        where = _label(path)
        if basis == "inferred" and not item.get(note_key):
            self.add(
                (*path, basis_key),
                f"{where}: {basis_key} is inferred but {note_key} is empty",
                f"say in {note_key} how the date was derived",
                code="inferred-note",
            )
        if basis == "unknown" and has_date:
            self.add(
                (*path, basis_key),
                f"{where}: {basis_key} is unknown but a date is given",
                "set the basis to stated or inferred, or remove the date",
                code="date-basis",
            )
        if basis in ("stated", "inferred") and not has_date:
            self.add(
                (*path, basis_key),
                f"{where}: {basis_key} is {basis} but no date is given",
                f"give the date, or set {basis_key}: unknown",
                code="date-basis",
            )

    # quotes -------------------------------------------------------------------------------

    def quotes(
        self, doc: Mapping[str, Any], text: FoldedText
    ) -> dict[tuple[str, str], tuple[int, int]]:
        """Resolve every selector; check cues and page furniture. Return the spans."""
        furniture: list[tuple[int, int]] = []
        article = doc.get("article")
        if isinstance(article, dict) and isinstance(article.get("furniture"), list):
            for j, sel in enumerate(article["furniture"]):
                span = self.resolve(("article", "furniture", j), sel, text)
                if span:
                    furniture.append(span)
        spans: dict[tuple[str, str], tuple[int, int]] = {}
        for section, id_key in SECTIONS:
            for i, item in _items(doc, section):
                span = self.resolve((section, i, "quote"), item.get("quote"), text)
                if span is None:
                    continue
                local = item.get(id_key)
                if isinstance(local, str):
                    spans.setdefault((section, local), span)
                # A source may be named only in furniture (the publisher in "Most read in
                # The Sun"); events and claims must be the article's own text.
                for fs, fe in furniture if section != "sources" else ():
                    if span[0] < fe and fs < span[1]:
                        self.add(
                            (section, i, "quote", "exact"),
                            f"{section}[{i}] evidence lies in page furniture "
                            f"({_q(text.text[fs:fe])}, line {text.line_of(fs)})",
                            "quote the article's own text, not navigation or adverts",
                            code="furniture",
                        )
                        break
                cue = item.get("cue")
                if section == "claims" and isinstance(cue, str) and cue:
                    evidence = fold(text.text[span[0] : span[1]])
                    if fold(cue) not in evidence:
                        self.add(
                            (section, i, "cue"),
                            f"claims[{i}].cue {cue!r} does not occur in the claim's quote",
                            "the cue is the attributing word inside the evidence; "
                            "widen the quote or correct the cue",
                            code="cue",
                        )
        return spans

    def resolve(self, path: Path_, value: Any, text: FoldedText) -> tuple[int, int] | None:
        sel = _selector(value)
        if sel is None:
            return None
        try:
            return text.resolve(sel)
        except SelectorError as e:
            self.add((*path, "exact"), f"{_label(path)}: {e.message}", e.hint, code="quote")
            return None


def _q(s: str) -> str:
    return '"' + " ".join(s.split()) + '"'


@lru_cache(maxsize=1)
def _timezone_names() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


# --------------------------------------------------------------------------- entry points


MAX_ANNOTATION_BYTES = 2 * 1024 * 1024
"""Largest annotation file read (the seed's is 20 kB; a bigger one is a mistake or an attack)."""

MAX_TEXT_BYTES = 4 * 1024 * 1024
"""Largest article text read."""


def _line_col(data: bytes | str, at: int) -> tuple[int, int]:
    nl: Any = b"\n" if isinstance(data, bytes) else "\n"
    return data.count(nl, 0, at) + 1, at - (data.rfind(nl, 0, at) + 1) + 1


@dataclass(frozen=True)
class FileRead:
    """What :func:`load_article` read of one file, for a cache keyed by its content.

    Attributes:
        sha256: The sha256 (hex) of the bytes read.
        before: The file's ``fstat`` when it was opened.
        after: Its ``fstat`` once read (equal to ``before`` unless it changed meanwhile).
    """

    sha256: str
    before: os.stat_result
    after: os.stat_result


def _read(
    path: Path, shown: str, limit: int, what: str, reads: dict[Path, FileRead] | None = None
) -> tuple[bytes | None, Problem | None]:
    """Read at most ``limit`` bytes of a file; a problem instead when it is bigger/unreadable.

    With ``reads``, the sha256 of what was read and the file's stat around the read are
    recorded under ``path`` (the build's cache keys, without reading the file twice).
    """
    try:
        with path.open("rb") as fh:
            # read(n) allocates n bytes first: n = limit + 1 (2-4 MB) cost 0.14 ms per file,
            # 10x reading a 10 KB file. Ask for the file's size + 1 (the extra byte tells a
            # file that grew since), then for the rest up to the limit when it did grow.
            before = os.fstat(fh.fileno())
            want = min(before.st_size, limit) + 1
            data = fh.read(want)
            if len(data) == want and want <= limit:
                data += fh.read(limit + 1 - want)
            if reads is not None and len(data) <= limit:
                after = os.fstat(fh.fileno())
                reads[path] = FileRead(hashlib.sha256(data).hexdigest(), before, after)
    except OSError as e:
        reason = e.strerror or type(e).__name__
        return None, Problem(
            shown, 0, 0, f"cannot read the {what}: {reason}", "check the path", code="unreadable"
        )
    if len(data) > limit:
        return None, Problem(
            shown,
            0,
            0,
            f"the {what} is larger than {limit // (1024 * 1024)} MB",
            "one article per pair: split it, or check it is the right file",
            code="too-large",
        )
    return data, None


def stem_problems(stem: str, shown: str) -> list[Problem]:
    """Check that a file stem can be an id and a path: safe characters, a non-empty article id.

    Args:
        stem: The pair's file name without ``.yaml``/``.txt``.
        shown: The annotation path as shown in problems.
    """
    if not SAFE_STEM.match(stem):
        return [
            Problem(
                shown,
                0,
                0,
                f"file name {stem!r} is not a safe stem (it becomes an id and a path)",
                "rename the pair to lower-case ASCII letters, digits, '_' and '-' "
                "(^[a-z0-9][a-z0-9_-]{0,63}$)",
                code="stem",
            )
        ]
    if not SAFE_STEM.match(article_id_of(stem)):
        return [
            Problem(
                shown,
                0,
                0,
                f"file name {stem!r} gives the article id {article_id_of(stem)!r}",
                "after the optional '<number>_' prefix the name must start with a letter or "
                "digit, e.g. 001_kremlin-drones",
                code="stem",
            )
        ]
    return []


ANNOTATORS = "annotators"
"""``seeds/annotators/<name>/<stem>.yaml``: each annotator's own annotation of ``<stem>.txt``."""


def text_path_of(yaml_path: Path) -> Path:
    """Return the text an annotation describes: ``<stem>.txt`` beside it, or for an annotator's
    file ``seeds/annotators/<name>/<stem>.yaml`` the ``seeds/<stem>.txt`` it annotates."""
    folder = yaml_path.parent.parent
    if folder.name == ANNOTATORS:
        shared = folder.parent / f"{yaml_path.stem}.txt"
        if shared.exists() or not yaml_path.with_suffix(".txt").exists():
            return shared
    return yaml_path.with_suffix(".txt")


def annotator_files(
    seeds_dir: Path, within: Path | None = None
) -> tuple[list[tuple[str, Path]], list[Problem]]:
    """Return every annotator's file ``seeds_dir/annotators/<name>/<stem>.yaml``.

    Hidden entries (``.gitkeep``) are skipped. A folder name that is not safe
    (``^[a-z0-9][a-z0-9_-]{0,63}$``) and anything but a folder in ``annotators/`` or a
    ``.yaml`` file in an annotator's folder are problems (nothing there is silently ignored).

    Args:
        seeds_dir: The folder of the published pairs.
        within: Only this annotator's folder, or this one file, of ``annotators/``.

    Returns:
        ``(annotator name, path)`` in name then file order, and the problems.
    """
    root = Path(seeds_dir) / ANNOTATORS

    def wanted(p: Path) -> bool:
        return within is None or p == within or p in within.parents or within in p.parents

    found: list[tuple[str, Path]] = []
    problems: list[Problem] = []
    if not root.is_dir():
        return found, problems
    for folder in sorted(root.iterdir()):
        if folder.name.startswith(".") or not wanted(folder):
            continue
        shown = display_path(folder)
        if not folder.is_dir():
            problems.append(
                Problem(
                    shown,
                    0,
                    0,
                    f"{ANNOTATORS}/ holds one folder per annotator, not files",
                    f"move it to {ANNOTATORS}/<name>/{folder.name}",
                    code="annotator-layout",
                )
            )
            continue
        if not SAFE_STEM.match(folder.name):
            problems.append(
                Problem(
                    shown,
                    0,
                    0,
                    f"annotator name {folder.name!r} is not a safe folder name",
                    "rename the folder to lower-case ASCII letters, digits, '_' and '-' "
                    "(^[a-z0-9][a-z0-9_-]{0,63}$)",
                    code="annotator-name",
                )
            )
            continue
        for path in sorted(folder.iterdir()):
            if path.name.startswith(".") or not wanted(path):
                continue
            if path.suffix == ".yaml" and path.is_file():
                found.append((folder.name, path))
            else:
                problems.append(
                    Problem(
                        display_path(path),
                        0,
                        0,
                        "an annotator's folder holds only <stem>.yaml annotations",
                        f"the text stays {display_path(Path(seeds_dir))}/<stem>.txt; "
                        "remove or move this",
                        code="annotator-layout",
                    )
                )
    return found, problems


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector (reference counting still frees everything).

    Loading an article allocates ~600 YAML nodes and as many values, none of them in a cycle
    (the collector found nothing to collect on a 2,000-article corpus), yet they trigger
    collections that walk every live object of the process: 0.9 of 2.8 ms per article
    (docs/scaling.md, "The load stage"). The collector is switched back on only by the caller
    that switched it off, so nesting and threads never leave it off.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def load_article(
    yaml_path: Path, reads: dict[Path, FileRead] | None = None
) -> tuple[Article | None, list[Problem]]:
    """Read one article pair, check it and resolve its quotes (with :func:`_gc_paused`).

    Args:
        yaml_path: ``seeds/<stem>.yaml``; the text is ``seeds/<stem>.txt`` beside it (for
            ``seeds/annotators/<name>/<stem>.yaml`` too: see :func:`text_path_of`).
        reads: When given, gets a :class:`FileRead` of each file read whole (the build
            keys its cache by them).

    Returns:
        The article (None when there is any problem) and every problem found, in file order.
    """
    with _gc_paused():
        return _load_article(Path(yaml_path), reads)


def _load_article(
    yaml_path: Path, reads: dict[Path, FileRead] | None
) -> tuple[Article | None, list[Problem]]:
    shown = display_path(yaml_path)
    stem = yaml_path.stem
    txt_path = text_path_of(yaml_path)
    shown_txt = display_path(txt_path)
    problems: list[Problem] = stem_problems(stem, shown)
    raw_yaml, problem = _read(yaml_path, shown, MAX_ANNOTATION_BYTES, "annotation", reads)
    if raw_yaml is None:
        return None, [*problems, *([problem] if problem else [])]
    try:
        yaml_text = raw_yaml.decode("utf-8")
    except UnicodeDecodeError as e:
        line, col = _line_col(raw_yaml, e.start)
        return None, [
            *problems,
            Problem(
                shown,
                line,
                col,
                f"annotation is not valid UTF-8 (byte 0x{raw_yaml[e.start]:02x})",
                "save it as UTF-8",
                code="encoding",
            ),
        ]
    text: str | None = None
    raw_text = b""
    if not txt_path.exists():
        problems.append(
            Problem(
                shown,
                0,
                0,
                f"no text {shown_txt} "
                + ("beside" if txt_path.parent == yaml_path.parent else "for")
                + " the annotation",
                "put the verbatim article there, named like the annotation",
                code="missing-text",
            )
        )
    else:
        got, problem = _read(txt_path, shown_txt, MAX_TEXT_BYTES, "text", reads)
        if got is None:
            problems.extend([problem] if problem else [])
        else:
            raw_text = got
            text, text_problems = decode_text(raw_text, shown_txt)
            problems.extend(text_problems)

    loaded = load_yaml(yaml_text)
    problems.extend(
        Problem(shown, e.line, e.col, e.message, e.hint, code=e.code) for e in loaded.errors
    )
    doc = loaded.data
    if loaded.errors and doc is None:
        return None, _sorted(problems)
    if not isinstance(doc, dict):
        what = (
            "the annotation is empty"
            if doc is None
            else f"the annotation is a {_TYPE_NAMES.get(type(doc), 'value')}, not a mapping"
        )
        problems.append(
            Problem(
                shown,
                1,
                1,
                what,
                "it must be a mapping with format, article, sources, events, claims; "
                f"start from `factpack new {shown_txt}`",
                code="not-mapping",
            )
        )
        return None, _sorted(problems)
    problems.extend(_schema_problems(doc, loaded, shown))
    checker = _Checker(shown, loaded)
    ids = checker.ids(doc)
    checker.references(doc, ids)
    checker.adjudication(doc, ids)
    article = doc.get("article") if isinstance(doc.get("article"), dict) else {}
    assert isinstance(article, dict)
    published = checker.date(("article", "published_date"), article)
    checker.basis(
        ("article",), article, "published_date_basis", "published_date_note", ("published_date",)
    )
    checker.events(doc, published)
    spans: dict[tuple[str, str], tuple[int, int]] = {}
    if text is not None:
        recorded = article.get("text_sha256")
        actual = hashlib.sha256(raw_text).hexdigest()
        if isinstance(recorded, str) and SHA256.match(recorded) and recorded != actual:
            checker.add(
                ("article", "text_sha256"),
                f"text_sha256 does not match {shown_txt} (its sha256 is {actual})",
                "the text must stay verbatim: restore it, or re-check every quote and then "
                "record the new sha256",
                code="sha256",
            )
        spans = checker.quotes(doc, FoldedText(text))
    problems.extend(checker.problems)
    if problems:
        return None, _sorted(problems)
    return Article(article_id_of(stem), stem, text or "", doc, spans), []


def _sorted(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.path, p.line, p.col))


def annotation_files(paths: Iterable[Path]) -> tuple[list[Path], list[Problem]]:
    """Expand files and directories into annotation files.

    A directory contributes its ``*.yaml`` files, each annotator's files under its
    ``annotators/`` (:func:`annotator_files`), and a problem for each ``*.txt`` without a
    ``*.yaml``. A ``.txt`` file stands for the annotation beside it.

    Raises:
        UsageError: a path does not exist or is neither a directory, ``.yaml`` nor ``.txt``.
    """
    files: list[Path] = []
    problems: list[Problem] = []
    for path in paths:
        path = Path(path)
        inside = next((a for a in (path, *path.parents[:2]) if a.name == ANNOTATORS), None)
        if inside is not None and path.exists():
            # seeds/annotators, seeds/annotators/<name> or one file of it: that part only.
            found, layout = annotator_files(inside.parent, None if inside == path else path)
            files.extend(p for _, p in found)
            problems.extend(layout)
        elif path.is_dir():
            yamls = sorted(path.glob("*.yaml"), key=str)  # siblings: as Path's order, faster
            files.extend(yamls)
            found, layout = annotator_files(path)
            files.extend(p for _, p in found)
            problems.extend(layout)
            stems = {p.stem for p in yamls}
            for txt in sorted(path.glob("*.txt"), key=str):
                if txt.stem not in stems:
                    problems.append(
                        Problem(
                            display_path(txt),
                            0,
                            0,
                            "text has no annotation",
                            f"start one with `factpack new {display_path(txt)}`",
                            code="missing-annotation",
                        )
                    )
        elif path.suffix == ".txt" and path.is_file():
            files.append(path.with_suffix(".yaml"))
        elif path.suffix in (".yaml", ".yml") and path.is_file():
            files.append(path)
        elif not path.exists():
            raise UsageError(f"{path}: no such file or directory")
        else:
            raise UsageError(f"{path}: expected a directory, a .yaml annotation or a .txt text")
    return list(dict.fromkeys(files)), problems


def check_paths(
    paths: Iterable[Path],
    cache_dir: Path | None = None,
    counts: dict[str, int] | None = None,
) -> list[Problem]:
    """Check every annotation under ``paths`` (files or directories); return all problems.

    Besides each pair's own problems: two files whose stems give the same article id
    (``001_abc`` and ``002_abc``) are reported, as their rows would collide.

    With ``cache_dir`` (``build/cache/check``) an article whose key (its two files' bytes,
    the build fingerprint and the path it is shown under) has a stored result is not checked
    again (the one cache rule, :mod:`factpack.pipeline.cache`); new results are stored.
    ``counts``, when given, gets ``files`` and the ``sources``, ``events`` and ``claims`` of
    the clean files.
    """
    files, problems = annotation_files(paths)
    if counts is not None:
        counts.update(files=len(files), sources=0, events=0, claims=0)
    stored: dict[str, dict[str, Any]] = {}
    keys: dict[Path, str] = {}
    if cache_dir is not None:
        from factpack.pipeline import cache

        fp = cache.fingerprint(load_schema())
        shown = dict(zip(files, display_paths(files), strict=True))
        keys = {
            p: hashlib.sha256(f"{k}\0{shown[p]}".encode()).hexdigest()
            for p, k in cache.keys_by_path(fp, files).items()
        }
        stored = cache.read_results(cache_dir)
    new: dict[str, dict[str, Any]] = {}
    present = {p for p in files if p.exists()}
    todo = [p for p in files if p in present and stored.get(keys.get(p, "")) is None]
    checked = dict(zip(todo, check_results(todo), strict=True))
    for path in files:
        if path not in present:
            txt = display_path(path.with_suffix(".txt"))
            problems.append(
                Problem(
                    txt,
                    0,
                    0,
                    "text has no annotation",
                    f"start one with `factpack new {txt}`",
                    code="missing-annotation",
                )
            )
            continue
        key = keys.get(path)
        result = stored.get(key) if key is not None else None
        if result is None:
            result = checked[path]
            if key is not None:
                new[key] = result
        problems.extend(
            Problem(f[0], f[1], f[2], f[3], f[4], code=f[5]) for f in result["problems"]
        )
        if counts is not None:
            for section, n in result["counts"].items():
                counts[section] += n
    if cache_dir is not None:
        from factpack.pipeline import cache

        cache.store_results(cache_dir, new)
    published = [p for p in files if p in present and p.parent.parent.name != ANNOTATORS]
    problems.extend(id_collisions(published))
    return problems


CHECK_POOL_MIN = 200
"""From this many annotations to check, `factpack check` uses a process per CPU."""


def check_result(path: Path) -> dict[str, Any]:
    """Check one annotation: its problems (as lists) and its counts of sources, events and
    claims (0 when it cannot be loaded); plain data, stored as it is by the check cache."""
    article, found = load_article(path)
    sizes = {
        s: len(article.doc.get(s) or []) if article is not None else 0
        for s in ("sources", "events", "claims")
    }
    return {"problems": [list(astuple(p)) for p in found], "counts": sizes}


def _ignore_sigint() -> None:
    """Workers ignore Ctrl-C: the main process stops them (no traceback per worker)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def check_results(paths: list[Path]) -> list[dict[str, Any]]:
    """:func:`check_result` of each path, in order; on a process per CPU when there are at
    least :data:`CHECK_POOL_MIN` (each article is checked on its own, so the results are the
    same as in one process)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    if cpus < 2 or len(paths) < CHECK_POOL_MIN:
        return [check_result(p) for p in paths]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(cpus, mp_context=context, initializer=_ignore_sigint) as pool:
        return list(pool.map(check_result, paths, chunksize=max(1, len(paths) // (cpus * 16))))


def id_collisions(yaml_paths: Iterable[Path]) -> list[Problem]:
    """Return a problem for each file whose article id an earlier file already has."""
    first: dict[str, Path] = {}
    problems = []
    for path in sorted(yaml_paths, key=lambda p: (p.name, str(p))):
        article_id = article_id_of(path.stem)
        if article_id in first:
            other = display_path(first[article_id])
            problems.append(
                Problem(
                    display_path(path),
                    0,
                    0,
                    f"article id '{article_id}' is also the id of {other}",
                    "ids are the file name without its '<number>_' prefix: rename one of them",
                    code="id-collision",
                )
            )
        else:
            first[article_id] = path
    return problems
