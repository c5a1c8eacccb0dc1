"""doccano: sequence-labelling JSONL in, JSONL with entities and relations out.

A record is ``{"text", "label": [[start, end, "LABEL"], ...]}`` or, from a project with
relations, ``{"text", "entities": [{"id", "label", "start_offset", "end_offset"}], "relations":
[{"id", "from_id", "to_id", "type"}]}``. Offsets count UTF-16 code units (doccano counts like
JavaScript unless the project counts grapheme clusters; set ``offsets:`` in the mapping). A file
may hold pretty-printed records over several lines, so records are read one JSON value after
another (``json.JSONDecoder.raw_decode``), not line by line. Identical duplicate spans occur and
are skipped with a note. The document name is the record's ``name`` or ``filename``, else
``<file stem>-<record id>``. Extra record keys are kept by doccano as metadata: the export
carries our ids and fields under the mapping's carry key.
"""

from __future__ import annotations

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
    fail,
)
from factpack.formats.exporter import export_items, load_seeds, mapping_yaml, write_file
from factpack.formats.mapping import Mapping_, item_properties
from factpack.shared.problems import display_path


def records(raw: str, shown: str) -> list[tuple[int, Any]]:
    """Every JSON value of a JSONL file with its line, one per line or pretty-printed.

    Raises:
        FormatError: text that is not JSON (file and line named).
    """
    decoder = json.JSONDecoder()
    out: list[tuple[int, Any]] = []
    pos = 0
    while True:
        while pos < len(raw) and raw[pos] in " \t\r\n\ufeff":
            pos += 1
        if pos >= len(raw):
            return out
        line = raw.count("\n", 0, pos) + 1
        try:
            value, pos = decoder.raw_decode(raw, pos)
        except json.JSONDecodeError as e:
            raise FormatError(
                f"{shown}:{e.lineno}:{e.colno}: not JSON ({e.msg}) in the record that starts "
                f"on line {line}; "
                "export the dataset from doccano as JSONL"
            ) from None
        out.append((line, value))


def read(paths: Iterable[Path], mapping: Mapping_) -> list[Document]:
    """Read doccano JSONL files (or folders of ``*.jsonl``)."""
    files: list[Path] = []
    for path in map(Path, paths):
        files.extend(sorted(path.glob("*.jsonl")) if path.is_dir() else [path])
    out: list[Document] = []
    for path in files:
        shown = display_path(path)
        try:
            raw = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise FormatError(f"{shown}: cannot read: {e}; check the path") from None
        for i, (line, rec) in enumerate(records(raw, shown), 1):
            out.append(_record(rec, f"{shown}:{line}", path.stem, i, mapping))
    return out


def _record(rec: Any, where: str, file_stem: str, index: int, mapping: Mapping_) -> Document:
    if not isinstance(rec, dict):
        raise fail(where, "a record is not a JSON object", 'one {"text": ...} object per record')
    text = rec.get("text", rec.get("data"))
    if not isinstance(text, str):
        raise fail(where, "the record has no text", "export with the text column")
    offsets = Offsets(text, mapping.offsets)
    carried: dict[str, Any] = rec[mapping.carry] if isinstance(rec.get(mapping.carry), dict) else {}
    carried_spans = carried.get("spans") or {}
    spans: list[Span] = []
    relations: list[Relation] = []
    if "entities" in rec:
        for ent in rec["entities"]:
            if not isinstance(ent, dict) or not {"label", "start_offset", "end_offset"} <= set(ent):
                raise fail(where, f"bad entity {ent!r}", "give id, label, start_offset, end_offset")
            start, end = offsets.span(ent["start_offset"], ent["end_offset"], where)
            sid = str(ent.get("id", len(spans)))
            spans.append(
                Span(sid, str(ent["label"]), start, end, where, carried=carried_spans.get(sid))
            )
        for rel in rec.get("relations") or []:
            if not isinstance(rel, dict) or not {"from_id", "to_id", "type"} <= set(rel):
                raise fail(where, f"bad relation {rel!r}", "give id, from_id, to_id, type")
            relations.append(
                Relation(
                    str(rel.get("id", "")),
                    str(rel["type"]),
                    str(rel["from_id"]),
                    str(rel["to_id"]),
                    where,
                )
            )
    else:
        labels = rec.get("label", rec.get("labels", []))
        if not isinstance(labels, list):
            raise fail(where, "label is not a list", '[[start, end, "LABEL"], ...]')
        for n, lab in enumerate(labels):
            if not (isinstance(lab, list) and len(lab) == 3):
                raise fail(where, f"bad label {lab!r}", 'each label is [start, end, "LABEL"]')
            start, end = offsets.span(lab[0], lab[1], where)
            spans.append(Span(f"label {n}", str(lab[2]), start, end, where))
    name = rec.get("name") or rec.get("filename")
    if not isinstance(name, str) or not name:
        name = f"{file_stem}-{rec.get('id', index)}"
    return Document(
        name=name,
        text=text,
        spans=spans,
        relations=relations,
        where=where,
        carried=carried or None,
    )


def label_config() -> list[dict[str, Any]]:
    """doccano's label list (Labels > Import), from our sections."""
    colours = {"Article": "#888888", "Furniture": "#aaaaaa", "Source": "#2f6fd6"}
    colours |= {"Event": "#d66f2f", "Claim": "#3a9a2a"}
    keys = {"Article": "a", "Furniture": "f", "Source": "s", "Event": "e", "Claim": "c"}
    return [
        {"text": t, "suffix_key": keys[t], "background_color": c, "text_color": "#ffffff"}
        for t, c in colours.items()
    ]


def relation_config() -> list[dict[str, Any]]:
    """doccano's relation type list, from schema/ (claim links)."""
    values = ["source", "event"] + [
        v for v in item_properties()["claims"]["relation"]["enum"] if v is not None
    ]
    return [{"text": v, "background_color": "#555555", "text_color": "#ffffff"} for v in values]


def export(seed_paths: Sequence[Path], to: Path) -> list[Path]:
    """Write dataset.jsonl, label_config.json, relation_config.json and mapping.yaml."""
    lines = []
    for article in load_seeds(seed_paths):
        spans, links, carried_article = export_items(article, [])
        offsets = Offsets(article.text, "utf-16")
        ids = {sp.key: n for n, sp in enumerate(spans, 1)}
        record: dict[str, Any] = {
            "name": article.stem,
            "text": article.text,
            "entities": [
                {
                    "id": ids[sp.key],
                    "label": sp.label,
                    "start_offset": offsets.from_code_point(sp.start),
                    "end_offset": offsets.from_code_point(sp.end),
                }
                for sp in spans
            ],
            "relations": [
                {"id": n, "from_id": ids[lk.source], "to_id": ids[lk.target], "type": lk.label}
                for n, lk in enumerate(links, 1)
            ],
            CARRY_KEY: {
                "article": carried_article,
                "spans": {str(ids[sp.key]): sp.carried for sp in spans if sp.carried},
            },
        }
        lines.append(json.dumps(record, ensure_ascii=False))
    dump = json.dumps
    return [
        write_file(to / "dataset.jsonl", "\n".join(lines) + "\n"),
        write_file(to / "label_config.json", dump(label_config(), indent=2) + "\n"),
        write_file(to / "relation_config.json", dump(relation_config(), indent=2) + "\n"),
        write_file(to / "mapping.yaml", mapping_yaml("doccano", [])),
    ]
