"""Label Studio: the JSON export (a list of tasks) in, tasks with predictions out.

A task is ``{"id", "data": {"text", ...}, "annotations": [{"completed_by", "result": [...]}],
"predictions": [...]}``. A ``labels`` result is a span (``value.start``/``end`` in code points,
``value.text`` must equal the slice, ``value.labels`` its label); a ``choices`` or
``textarea`` result with the same ``id`` is a feature of that span named by its ``from_name``;
a ``relation`` result links two spans (``from_id`` -> ``to_id``; its first label, or
``unlabelled``). HTML tasks (``hypertextlabels``, XPath offsets) are not plain text and are
refused. A task with several annotations puts each annotator's work in its own folder; a task
without annotations is read from its predictions (what ``factpack export`` writes). A region's
``meta`` under the mapping's carry key holds what the export could not show; ``meta.text`` (the
region's note in Label Studio) becomes the item's ``note``.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
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
    annotator_name,
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

_UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{8}-")
UNLABELLED = "unlabelled"


def _load(path: Path) -> list[Any]:
    shown = display_path(path)
    try:
        raw = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise FormatError(f"{shown}: cannot read the export: {e}; check the path") from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as e:
        raise FormatError(
            f"{shown}:{e.lineno}:{e.colno}: not JSON ({e.msg}); "
            "export the project as JSON from Label Studio (Export > JSON)"
        ) from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(t, dict) for t in data):
        raise FormatError(f"{shown}:1:1: not a list of tasks; export as JSON (not JSON-MIN/CSV)")
    return data


def _name(task: dict[str, Any], data: dict[str, Any]) -> str:
    """The document name: ``data.name``; else ``file_upload`` of a .txt; else ``task-<id>``."""
    if isinstance(data.get("name"), str) and data["name"]:
        return str(data["name"])
    upload = task.get("file_upload")
    if isinstance(upload, str) and upload.lower().endswith(".txt"):
        return _UPLOAD_PREFIX.sub("", upload)
    return f"task-{task.get('id', 'unknown')}"


def _user(annotation: dict[str, Any]) -> str:
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        who = who.get("email") or who.get("username") or who.get("id")
    if isinstance(who, int):
        return f"user-{who}"
    return annotator_name(str(who)) if who not in (None, "") else "anonymous"


def read(paths: Iterable[Path], mapping: Mapping_) -> list[Document]:
    """Read Label Studio JSON exports."""
    out: list[Document] = []
    files: list[Path] = []
    for path in map(Path, paths):
        files.extend(sorted(path.glob("*.json")) if path.is_dir() else [path])
    for path in files:
        shown = display_path(path)
        tasks = _load(Path(path))
        several = any(
            len([a for a in t.get("annotations") or [] if not a.get("was_cancelled")]) > 1
            for t in tasks
        )
        for n, task in enumerate(tasks):
            out.extend(_task(task, n, shown, several, mapping))
    return out


def _task(
    task: dict[str, Any], n: int, shown: str, several: bool, mapping: Mapping_
) -> list[Document]:
    where = f"{shown}: task {task.get('id', n)}"
    data = task.get("data")
    if not isinstance(data, dict):
        raise fail(where, "has no data", "export the tasks with their data")
    if "text" not in data:
        keys = ", ".join(sorted(data)) or "none"
        if any(isinstance(v, str) and v.lstrip().startswith("<") for v in data.values()):
            raise fail(
                where,
                "is an HTML task (HyperText), not plain text",
                "factpack imports <Text> tasks; label the plain text instead",
            )
        raise fail(where, f"has no data.text (keys: {keys})", 'use a <Text value="$text"> task')
    text = data["text"]
    if not isinstance(text, str):
        raise fail(where, "data.text is not a string", "use a <Text> task")
    name = _name(task, data)
    carried = data.get(mapping.carry) if isinstance(data.get(mapping.carry), dict) else None
    annotations = [a for a in task.get("annotations") or [] if isinstance(a, dict)]
    skipped = [
        f"{where}: annotation {a.get('id')} (cancelled)"
        for a in annotations
        if a.get("was_cancelled")
    ]
    annotations = [a for a in annotations if not a.get("was_cancelled")]
    source = "annotation"
    if not annotations:
        annotations = [p for p in task.get("predictions") or [] if isinstance(p, dict)]
        source = "prediction"
    docs = []
    for a in annotations:
        label = f"{where} {source} {a.get('id', '')}".rstrip()
        spans, relations = _results(a.get("result") or [], text, label, mapping)
        docs.append(
            Document(
                name=name,
                text=text,
                spans=spans,
                relations=relations,
                where=label,
                annotator=_user(a) if several and source == "annotation" else None,
                carried=carried,
                skipped=skipped,
            )
        )
    if not docs:
        docs.append(Document(name, text, [], [], where, carried=carried, skipped=skipped))
    return docs


def _results(
    results: Sequence[Any], text: str, where: str, mapping: Mapping_
) -> tuple[list[Span], list[Relation]]:
    offsets = Offsets(text, mapping.offsets)
    regions: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    extras: list[tuple[str, str, str, Any]] = []
    relations: list[Relation] = []
    for i, r in enumerate(results):
        at = f"{where} result {i}"
        if not isinstance(r, dict):
            raise fail(at, "is not an object", "fix the export")
        kind = r.get("type")
        value: dict[str, Any] = r["value"] if isinstance(r.get("value"), dict) else {}
        if kind in ("hypertextlabels", "paragraphlabels") or "startOffset" in value:
            raise fail(
                at,
                f"is a {kind} region (HTML/XPath offsets), not plain text",
                "factpack imports <Text> with <Labels>; label the plain text instead",
            )
        if kind == "relation":
            labels = r.get("labels") or [UNLABELLED]
            for lab in labels:
                relations.append(
                    Relation(str(r.get("id", i)), str(lab), str(r["from_id"]), str(r["to_id"]), at)
                )
            continue
        rid = str(r.get("id", i))
        if kind == "labels":
            labels = value.get("labels") or []
            if len(labels) != 1:
                raise fail(
                    at, f"region {rid} has {len(labels)} labels", "give each region one label"
                )
            covered = value.get("text")
            start, end = offsets.span(value.get("start"), value.get("end"), at, covered)
            meta: dict[str, Any] = r["meta"] if isinstance(r.get("meta"), dict) else {}
            carried = dict(meta.get(mapping.carry) or {})
            note = meta.get("text")
            if note:
                carried["note"] = "\n".join(note) if isinstance(note, list) else str(note)
            regions[rid] = {
                "label": str(labels[0]),
                "start": start,
                "end": end,
                "where": at,
                "carried": carried or None,
                "fields": {},
            }
            order.append(rid)
        elif kind in ("choices", "textarea", "number", "rating"):
            if "start" not in value:
                raise fail(
                    at,
                    f"{kind} {r.get('from_name')!r} is about the whole task, not a region",
                    'factpack reads per-region choices (perRegion="true")',
                )
            got: Any = value.get(kind if kind != "textarea" else "text")
            if isinstance(got, list):
                got = got[0] if len(got) == 1 else ("|".join(map(str, got)) if got else None)
            extras.append((at, rid, str(r.get("from_name")), got))
        else:
            raise fail(
                at,
                f"result type {kind!r} is not read by factpack",
                "use <Labels>, per-region <Choices>/<TextArea> and <Relations>",
            )
    for at, rid, feature, got in extras:
        if rid not in regions:
            raise fail(at, f"{feature} belongs to no labelled region ({rid})", "fix the export")
        regions[rid]["fields"][feature] = got
    spans = [
        Span(
            id=rid,
            label=reg["label"],
            start=reg["start"],
            end=reg["end"],
            where=reg["where"],
            fields=reg["fields"],
            carried=reg["carried"],
        )
        for rid, reg in ((k, regions[k]) for k in order)
    ]
    return spans, relations


# --------------------------------------------------------------------------- export


def labeling_config() -> str:
    """The project's labeling configuration, from schema/: labels, relations, choices."""
    view = ET.Element("View")
    rels = ET.SubElement(view, "Relations")
    relation_values = ["source", "event"] + [
        v for v in item_properties()["claims"]["relation"]["enum"] if v is not None
    ]
    for v in relation_values:
        ET.SubElement(rels, "Relation", value=v)
    labels = ET.SubElement(view, "Labels", name="label", toName="text")
    colours = {"Article": "#dddddd", "Furniture": "#eeeeee", "Source": "#8fb2ff"}
    colours |= {"Event": "#ffaa66", "Claim": "#aee38a"}
    for lab, colour in colours.items():
        ET.SubElement(labels, "Label", value=lab, background=colour)
    ET.SubElement(view, "Text", name="text", value="$text")
    vocab = vocabulary_fields(token_values_only=False)
    for section, lab in LABELS.items():
        box = ET.SubElement(
            view, "View", visibleWhen="region-selected", whenTagName="label", whenLabelValue=lab
        )
        for name, values in vocab.items():
            if name not in item_properties()[section]:
                continue
            ET.SubElement(box, "Header", value=name)
            choices = ET.SubElement(
                box, "Choices", name=name, toName="text", perRegion="true", choice="single"
            )
            for v in values:
                ET.SubElement(choices, "Choice", value=v)
    ET.indent(view)
    return ET.tostring(view, encoding="unicode") + "\n"


def export(seed_paths: Sequence[Path], to: Path) -> list[Path]:
    """Write tasks.json (annotations as predictions), labeling_config.xml and mapping.yaml."""
    shown_fields = list(vocabulary_fields(token_values_only=False))
    tasks = []
    for article in load_seeds(seed_paths):
        spans, links, carried_article = export_items(article, shown_fields)
        result: list[dict[str, Any]] = []
        for sp in spans:
            value = {"start": sp.start, "end": sp.end, "text": article.text[sp.start : sp.end]}
            region: dict[str, Any] = {
                "id": sp.key,
                "from_name": "label",
                "to_name": "text",
                "type": "labels",
                "value": {**value, "labels": [sp.label]},
            }
            if sp.carried:
                region["meta"] = {CARRY_KEY: sp.carried}
            result.append(region)
            for name, v in sp.shown.items():
                result.append(
                    {
                        "id": sp.key,
                        "from_name": name,
                        "to_name": "text",
                        "type": "choices",
                        "value": {**value, "choices": [v]},
                    }
                )
        for link in links:
            result.append(
                {
                    "type": "relation",
                    "from_id": link.source,
                    "to_id": link.target,
                    "direction": "right",
                    "labels": [link.label],
                }
            )
        data: dict[str, Any] = {"text": article.text, "name": article.stem}
        if carried_article:
            data[CARRY_KEY] = {"article": carried_article}
        tasks.append(
            {"data": data, "predictions": [{"model_version": "factpack", "result": result}]}
        )
    return [
        write_file(to / "tasks.json", json.dumps(tasks, ensure_ascii=False, indent=2) + "\n"),
        write_file(to / "labeling_config.xml", labeling_config()),
        write_file(to / "mapping.yaml", mapping_yaml("label-studio", shown_fields)),
    ]
