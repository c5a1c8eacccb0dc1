"""brat standoff: ``<doc>.ann`` beside ``<doc>.txt``; read and written by this small parser.

No well-kept library reads brat standoff, so this module does (format:
https://brat.nlplab.org/standoff.html). Lines are ``T`` text-bound spans (``T1<TAB>Label 0 5;7
9<TAB>text``, offsets in characters, discontinuous pieces separated by ``;``), ``R`` relations
(``R1<TAB>Type Arg1:T1 Arg2:T2``), ``*`` equivalences, ``A``/``M`` attributes (``A1<TAB>Name T1
[Value]``) and ``#`` notes (``#1<TAB>AnnotatorNotes T1<TAB>text``). Ids may be referred to before
the line that defines them, and lines may end with a stray tab. An ``AnnotatorNotes`` note that
starts with ``factpack: `` carries, as JSON, what ``factpack export`` could not show; any other
note becomes the item's ``note``.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from factpack.formats.common import (
    CARRY_KEY,
    Document,
    FormatError,
    Offsets,
    Relation,
    Span,
    export_files,
    fail,
)
from factpack.formats.exporter import (
    LABELS,
    export_items,
    load_seeds,
    mapping_yaml,
    vocabulary_fields,
    write_file,
)
from factpack.formats.mapping import Mapping_, item_properties
from factpack.shared.problems import display_path

_NOTE_PREFIX = f"{CARRY_KEY}: "


def read(paths: Iterable[Path], mapping: Mapping_) -> list[Document]:
    """Read brat documents (``.ann`` files, or folders searched for them)."""
    return [read_one(p, mapping) for p in export_files(paths, (".ann",), "brat .ann files")]


def read_one(ann: Path, mapping: Mapping_) -> Document:
    """Read one ``.ann`` and the ``.txt`` beside it."""
    shown = display_path(ann)
    txt = ann.with_suffix(".txt")
    try:
        text = txt.read_bytes().decode("utf-8")
        lines = ann.read_bytes().decode("utf-8").split("\n")
    except FileNotFoundError as e:
        raise FormatError(
            f"{display_path(e.filename or txt)}: no such file; "
            "brat keeps <doc>.txt beside <doc>.ann"
        ) from None
    except UnicodeDecodeError as e:
        raise FormatError(f"{shown}: not UTF-8 ({e.reason}); brat files are UTF-8") from None
    offsets = Offsets(text, mapping.offsets)
    spans: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    relations: list[Relation] = []
    attributes: list[tuple[str, str, str, Any]] = []
    notes: list[tuple[str, str, str]] = []
    skipped: list[str] = []
    for n, raw in enumerate(lines, 1):
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        where = f"{shown}:{n}"
        cols = line.split("\t")
        ident = cols[0]
        if len(cols) < 2 or not ident:
            raise fail(where, "not a brat annotation line (ID<TAB>...)", "fix or remove the line")
        kind = ident[0]
        if kind == "T":
            if len(cols) < 3:
                raise fail(where, f"{ident} has no covered text column", "ID<TAB>Type S E<TAB>text")
            head = cols[1].split(" ", 1)
            if len(head) != 2:
                raise fail(where, f"{ident} has no offsets", "write Type START END")
            label, rest = head
            pieces: list[tuple[int, int]] = []
            for part in rest.split(";"):
                bounds = part.split()
                if len(bounds) != 2 or not all(b.isdigit() for b in bounds):
                    raise fail(
                        where, f"{ident}: bad offsets {rest!r}", "write START END[;START END]"
                    )
                pieces.append(offsets.span(int(bounds[0]), int(bounds[1]), where))
            covered = "\t".join(cols[2:]).rstrip("\t")
            joined = " ".join(text[s:e] for s, e in pieces)
            if covered != joined:
                raise fail(
                    where,
                    f"{ident}: the covered text {covered!r} differs from the text at {rest}, "
                    f"{joined!r}",
                    "the .ann and .txt do not belong together, or the offsets are wrong",
                )
            spans[ident] = {"label": label, "pieces": pieces, "where": where}
            order.append(ident)
        elif kind == "R":
            parts = cols[1].split()
            args = dict(p.split(":", 1) for p in parts[1:] if ":" in p)
            if len(parts) != 3 or len(args) != 2:
                raise fail(where, f"{ident}: not a relation", "write Type Arg1:T1 Arg2:T2")
            a1, a2 = (args[k] for k in sorted(args))
            relations.append(Relation(ident, parts[0], a1, a2, where))
        elif kind == "*":
            parts = cols[1].split()
            for a, b in itertools.pairwise(parts):
                relations.append(Relation(ident, parts[0], a, b, where))
        elif kind in "AM":
            parts = cols[1].split()
            if len(parts) not in (2, 3):
                raise fail(where, f"{ident}: not an attribute", "write Name T1 [Value]")
            attributes.append((where, parts[1], parts[0], parts[2] if len(parts) == 3 else True))
        elif kind == "#":
            parts = cols[1].split()
            if len(parts) != 2:
                raise fail(where, f"{ident}: not a note", "write AnnotatorNotes T1<TAB>text")
            notes.append((where, parts[1], "\t".join(cols[2:]).rstrip("\t")))
        elif kind in "EN":
            what = "event" if kind == "E" else "normalization"
            skipped.append(f"{where}: brat {what} {ident} (factpack imports text-bound spans)")
            if kind == "E":
                raise fail(
                    where,
                    f"{ident} is a brat event annotation, which factpack does not import",
                    "annotate claims and events as text-bound spans linked by relations",
                )
        else:
            raise fail(where, f"unknown annotation id {ident!r}", "ids start with T, R, A, M, #, *")
    fields: dict[str, dict[str, Any]] = {t: {} for t in spans}
    carried: dict[str, dict[str, Any]] = {}
    note_of: dict[str, str] = {}
    for where, target, name, value in attributes:
        if target not in spans:
            raise fail(where, f"attribute of unknown annotation {target}", "fix the reference")
        fields[target][name] = value
    for where, target, note in notes:
        if target not in spans:
            skipped.append(f"{where}: note on {target} (not a text-bound span)")
            continue
        if note.startswith(_NOTE_PREFIX):
            try:
                value = json.loads(note[len(_NOTE_PREFIX) :])
            except json.JSONDecodeError as e:
                raise fail(
                    where, f"the factpack note is not JSON ({e.msg})", "restore it"
                ) from None
            if not isinstance(value, dict):
                raise fail(where, "the factpack note is not a JSON object", "restore it")
            carried[target] = value
        else:
            note_of[target] = note
    out: list[Span] = []
    for t in order:
        s = spans[t]
        pieces = s["pieces"]
        carry = dict(carried.get(t, {}))
        if t in note_of:
            carry["note"] = note_of[t]
        out.append(
            Span(
                id=t,
                label=s["label"],
                start=pieces[0][0],
                end=pieces[-1][1],
                where=s["where"],
                fields=fields[t],
                carried=carry or None,
                segments=tuple(pieces) if len(pieces) > 1 else (),
            )
        )
    return Document(
        name=ann.name, text=text, spans=out, relations=relations, where=shown, skipped=skipped
    )


# --------------------------------------------------------------------------- export


def annotation_conf() -> str:
    """brat's ``annotation.conf``: our labels, relations and token-valued vocabularies."""
    attrs = []
    for name, values in vocabulary_fields(token_values_only=True).items():
        owners = [LABELS[s] for s in LABELS if name in _section_fields(s)]
        attrs.append(f"{name}\tArg:{'|'.join(owners)}, Value:{'|'.join(values)}")
    relations = [
        "source\tArg1:Claim, Arg2:Source",
        "event\tArg1:Claim, Arg2:Event",
        *(
            f"{v}\tArg1:Claim, Arg2:Claim"
            for v in item_properties()["claims"]["relation"]["enum"]
            if v is not None
        ),
        "<OVERLAP>\tArg1:<ENTITY>, Arg2:<ENTITY>, <OVL-TYPE>:<ANY>",
    ]
    return (
        "# Generated by `factpack export brat` from schema/ (the single source).\n"
        "[entities]\nArticle\nFurniture\nSource\nEvent\nClaim\n\n"
        "[relations]\n" + "\n".join(relations) + "\n\n[events]\n\n"
        "[attributes]\n" + "\n".join(attrs) + "\n"
    )


def _section_fields(section: str) -> set[str]:
    return set(item_properties()[section])


VISUAL_CONF = (
    "# Generated by `factpack export brat`.\n"
    "[labels]\nArticle | Article | Art\nFurniture | Furniture | Fur\nSource | Source | S\n"
    "Event | Event | E\nClaim | Claim | C\n\n"
    "[drawing]\nArticle\tbgColor:#dddddd\nFurniture\tbgColor:#eeeeee\nSource\tbgColor:#8fb2ff\n"
    "Event\tbgColor:#ffaa66\nClaim\tbgColor:#aee38a\n"
)


def export(seed_paths: Sequence[Path], to: Path) -> list[Path]:
    """Write ``<stem>.txt`` + ``<stem>.ann`` per annotation, the configurations and mapping.yaml."""
    shown_fields = list(vocabulary_fields(token_values_only=True))
    written: list[Path] = []
    for article in load_seeds(seed_paths):
        spans, links, _ = export_items(article, shown_fields)
        offsets = Offsets(article.text, "code-points")
        lines: list[str] = []
        tid: dict[str, str] = {}
        for n, sp in enumerate(spans, 1):
            tid[sp.key] = f"T{n}"
            covered = article.text[sp.start : sp.end]
            if "\n" in covered:
                # brat shows a span over a line break as pieces; the covered text joins them
                # with a space, as brat writes it.
                pieces, at = [], sp.start
                for part in covered.split("\n"):
                    if part:
                        pieces.append((at, at + len(part)))
                    at += len(part) + 1
                where = ";".join(
                    f"{offsets.from_code_point(s)} {offsets.from_code_point(e)}" for s, e in pieces
                )
                covered = " ".join(article.text[s:e] for s, e in pieces)
            else:
                where = f"{sp.start} {sp.end}"
            lines.append(f"T{n}\t{sp.label} {where}\t{covered}")
        a = 0
        for sp in spans:
            for name, value in sp.shown.items():
                a += 1
                lines.append(f"A{a}\t{name} {tid[sp.key]} {value}")
        for r, link in enumerate(links, 1):
            lines.append(f"R{r}\t{link.label} Arg1:{tid[link.source]} Arg2:{tid[link.target]}")
        k = 0
        for sp in spans:
            if sp.carried:
                k += 1
                blob = json.dumps(sp.carried, ensure_ascii=False, sort_keys=False)
                lines.append(f"#{k}\tAnnotatorNotes {tid[sp.key]}\t{_NOTE_PREFIX}{blob}")
        written.append(write_file(to / f"{article.stem}.txt", article.text))
        written.append(write_file(to / f"{article.stem}.ann", "\n".join(lines) + "\n"))
    written.append(write_file(to / "annotation.conf", annotation_conf()))
    written.append(write_file(to / "visual.conf", VISUAL_CONF))
    written.append(write_file(to / "mapping.yaml", mapping_yaml("brat", shown_fields)))
    return written
