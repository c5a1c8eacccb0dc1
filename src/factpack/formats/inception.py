"""INCEpTION / WebAnno: UIMA CAS XMI (through dkpro-cassis) and WebAnno TSV 3.3 in; XMI out.

**XMI.** cassis reads the CAS with the ``TypeSystem.xml`` found beside the ``.xmi`` (or in a
folder above it) and converts UIMA's UTF-16 offsets to code points. Every annotation type below
``uima.tcas.Annotation`` is a span layer, except relation layers (types with ``Governor`` and
``Dependent`` features) and DKPro segmentation (tokens, sentences, document metadata), which are
skipped with a note. A span's label is the layer's short name (``webanno.custom.Source`` ->
``Source``), or with ``label_feature: {Layer: feature}`` in the mapping the value of that
feature; its other primitive features are its fields.

**WebAnno TSV 3.3** (no well-kept library reads it, so this module does): header lines
``#T_SP=layer|feature...`` and ``#T_RL=layer|feature...|BT_baselayer`` name the columns after
``token-id  begin-end  token``; offsets are UTF-16 code units; ``_`` is no annotation, ``*`` an
annotation without a value, ``[n]`` tells apart multi-token and stacked annotations and ``|``
joins stacked values. TSV does not keep the text between sentences, so the original text is read
from ``<doc>.txt`` beside the ``.tsv`` or, in a project export, from ``source/<doc>``; every
token is checked against it.

**Annotators.** In a project export (``annotation/<doc>/<user>.xmi|.tsv``) the folder names the
document and the file the annotator; ``curation/<doc>/...`` is the adjudicated annotation.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cassis

from factpack.formats.common import (
    CARRY_KEY,
    Document,
    FormatError,
    Offsets,
    Relation,
    Span,
    annotator_name,
    export_files,
    fail,
)
from factpack.formats.exporter import (
    export_items,
    load_seeds,
    mapping_yaml,
    vocabulary_fields,
    write_file,
)
from factpack.formats.mapping import Mapping_
from factpack.shared.problems import display_path

SEGMENTATION = (
    "de.tudarmstadt.ukp.dkpro.core.api.segmentation.type.",
    "de.tudarmstadt.ukp.dkpro.core.api.metadata.type.",
    "uima.tcas.DocumentAnnotation",
)
SPAN_LAYER = "webanno.custom.Factpack"
LINK_LAYER = "webanno.custom.FactpackLink"


def _short(type_name: str) -> str:
    return type_name.rsplit(".", 1)[-1]


def _where_names(path: Path) -> tuple[str, str | None]:
    """(document name, annotator) from a path: ``annotation/<doc>/<user>.x`` names both."""
    parts = path.parts
    if len(parts) >= 3 and parts[-3] == "annotation":
        return parts[-2], annotator_name(path.stem)
    if len(parts) >= 3 and parts[-3] == "curation":
        return parts[-2], None
    return path.name, None


def read(paths: Iterable[Path], mapping: Mapping_) -> list[Document]:
    """Read INCEpTION/WebAnno exports: ``.xmi`` and WebAnno ``.tsv`` files or folders."""
    return [
        _read_xmi(f, mapping) if f.suffix == ".xmi" else _read_tsv(f, mapping)
        for f in export_files(paths, (".xmi", ".tsv"), "INCEpTION .xmi or WebAnno .tsv files")
    ]


# --------------------------------------------------------------------------- XMI


def _typesystem(xmi: Path) -> Path:
    for folder in [xmi.parent, *xmi.parents[1:4]]:
        for name in ("TypeSystem.xml", "typesystem.xml"):
            if (folder / name).is_file():
                return folder / name
    raise FormatError(
        f"{display_path(xmi)}: no TypeSystem.xml beside it or above it; "
        "unzip INCEpTION's XMI export whole (it holds TypeSystem.xml)"
    )


def _read_xmi(path: Path, mapping: Mapping_) -> Document:
    shown = display_path(path)
    try:
        with _typesystem(path).open("rb") as f, warnings.catch_warnings():
            # cassis warns when it renames a feature named `type` or `self` (to `type_`).
            warnings.simplefilter("ignore", UserWarning)
            typesystem = cassis.load_typesystem(f)
        with path.open("rb") as f:
            cas = cassis.load_cas_from_xmi(f, typesystem=typesystem)
    except FormatError:
        raise
    except Exception as e:  # cassis raises lxml, ValueError, TypeError... on a bad file
        reason = " ".join(str(e).split())[:200] or type(e).__name__
        raise FormatError(
            f"{shown}: not a UIMA CAS XMI file cassis can read ({reason}); "
            "export the document as UIMA CAS XMI (XML 1.0)"
        ) from None
    text = cas.sofa_string or ""
    name, annotator = _where_names(path)
    spans: list[Span] = []
    relations: list[Relation] = []
    skipped: dict[str, int] = {}
    links: list[Any] = []
    for fs in cas.select("uima.tcas.Annotation"):
        tname = fs.type.name
        if tname.startswith(SEGMENTATION):
            skipped[_short(tname)] = skipped.get(_short(tname), 0) + 1
            continue
        features = {f.name for f in fs.type.all_features}
        if {"Governor", "Dependent"} <= features:
            links.append(fs)
            continue
        where = f"{shown}: {_short(tname)} xmi:id {fs.xmiID}"
        fields = _features(fs)
        carried = None
        if isinstance(fields.get(mapping.carry), str):
            try:
                carried = json.loads(fields.pop(mapping.carry))
            except json.JSONDecodeError as e:
                raise fail(
                    where, f"the {mapping.carry} feature is not JSON ({e.msg})", "restore it"
                ) from None
        layer = _short(tname)
        label_feature = mapping.label_feature.get(layer)
        label = layer
        if label_feature:
            label = str(fields.pop(label_feature, None) or "")
            if not label:
                raise fail(where, f"{layer} has no {label_feature}", "give every span its label")
        if fs.begin is None or fs.end is None or fs.end <= fs.begin:
            raise fail(where, "the annotation is empty", "remove it in INCEpTION")
        spans.append(Span(str(fs.xmiID), label, fs.begin, fs.end, where, fields, carried))
    for fs in links:
        where = f"{shown}: {_short(fs.type.name)} xmi:id {fs.xmiID}"
        label_feature = mapping.label_feature.get(_short(fs.type.name))
        label = _short(fs.type.name)
        if label_feature:
            label = str(_features(fs).get(label_feature) or "")
        gov, dep = fs.get("Governor"), fs.get("Dependent")
        if gov is None or dep is None:
            raise fail(where, "the relation lacks an end", "link two spans")
        relations.append(Relation(str(fs.xmiID), label, str(gov.xmiID), str(dep.xmiID), where))
    notes = [f"{shown}: {n} {k} annotations (segmentation)" for k, n in sorted(skipped.items())]
    return Document(name, text, spans, relations, shown, annotator, skipped=notes)


def _features(fs: Any) -> dict[str, Any]:
    """The primitive features of an annotation by their names in the type system."""
    out: dict[str, Any] = {}
    for feat in fs.type.all_features:
        if feat.name in ("sofa", "begin", "end") or not _primitive(feat):
            continue
        name = feat.name[:-1] if getattr(feat, "_has_reserved_name", False) else feat.name
        out[name] = fs.get(feat.name)
    return out


def _primitive(feat: Any) -> bool:
    rng = feat.rangeType.name if hasattr(feat.rangeType, "name") else str(feat.rangeType)
    return rng.startswith("uima.cas.") and rng.split(".")[-1] in (
        "String",
        "Boolean",
        "Integer",
        "Float",
        "Double",
        "Long",
        "Short",
        "Byte",
    )


# --------------------------------------------------------------------------- WebAnno TSV 3.3

_UNESCAPE = re.compile(r"\\(.)")
_STACK = re.compile(r"(?<!\\)\|")
_IDX = re.compile(r"^(.*?)(?:\[(\d+)\])?$", re.S)
_BT = re.compile(r"^(\d+-\d+(?:\.\d+)?)(?:\[(\d+)_(\d+)\])?$")


@dataclass(frozen=True)
class _TsvLink:
    """A relation row of a TSV file: (token, annotation index) of its two ends."""

    layer: str
    base: str
    features: dict[str, str]
    source: tuple[str, str]
    target: tuple[str, str]
    where: str


def _strip_index(value: str) -> str:
    """A TSV value without its ``[n]`` suffix."""
    m = _IDX.match(value)
    return m[1] if m else value


def _unescape(s: str) -> str:
    return _UNESCAPE.sub(lambda m: {"n": "\n", "t": "\t", "r": "\r"}.get(m[1], m[1]), s)


def _tsv_text(path: Path, name: str) -> str:
    candidates = [path.with_suffix(".txt")]
    if len(path.parts) >= 3 and path.parts[-3] in ("annotation", "curation"):
        candidates.append(path.parents[2] / "source" / name)
    for c in candidates:
        if c.is_file():
            return c.read_bytes().decode("utf-8")
    raise FormatError(
        f"{display_path(path)}: WebAnno TSV does not keep the text between sentences; "
        f"put the original text beside it as {path.with_suffix('.txt').name} "
        "(or import the whole project export, which holds source/)"
    )


def _read_tsv(path: Path, mapping: Mapping_) -> Document:
    shown = display_path(path)
    name, annotator = _where_names(path)
    try:
        lines = path.read_bytes().decode("utf-8").split("\n")
        text = _tsv_text(path, name)
    except UnicodeDecodeError as e:
        raise FormatError(f"{shown}: not UTF-8 ({e.reason}); export again") from None
    if not lines or lines[0].strip() != "#FORMAT=WebAnno TSV 3.3":
        raise FormatError(
            f"{shown}:1:1: not WebAnno TSV 3.3 (first line {lines[0][:40]!r}); "
            "export as WebAnno TSV v3.3"
        )
    offsets = Offsets(text, "utf-16")
    columns: list[tuple[str, str, str]] = []  # (kind, layer, feature)
    skipped: list[str] = []
    for line in lines[1:]:
        if line.startswith(("#T_SP=", "#T_RL=", "#T_CH=")):
            kind = line[1:5]
            layer, *feats = line[6:].split("|")
            if kind == "T_CH":
                skipped.append(f"{shown}: chain layer {_short(layer)} (chains are not imported)")
            for f in feats:
                columns.append((kind, _short(layer), f))
    spans: dict[tuple[str, str], dict[str, Any]] = {}
    order: list[tuple[str, str]] = []
    token_span: dict[tuple[str, str], tuple[str, str]] = {}
    rels: list[_TsvLink] = []
    for n, raw in enumerate(lines, 1):
        if not raw or raw.startswith("#"):
            continue
        where = f"{shown}:{n}"
        cols = raw.split("\t")
        if len(cols) < 3 or not re.fullmatch(r"\d+-\d+", cols[1]):
            raise fail(where, "not a token line (id<TAB>begin-end<TAB>token...)", "fix the line")
        begin, stop = cols[1].split("-")
        start, end = offsets.span(int(begin), int(stop), where, _unescape(cols[2]))
        values = cols[3:]
        while values and values[-1] == "":
            values.pop()
        if len(values) != len(columns):
            raise fail(
                where,
                f"{len(values)} annotation columns, the header declares {len(columns)}",
                "the file is cut or edited; export it again",
            )
        by_layer: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for (kind, layer, feat), value in zip(columns, values, strict=True):
            by_layer.setdefault((kind, layer), []).append((feat, value))
        for (kind, layer), cells in by_layer.items():
            if kind == "T_CH":
                continue
            if all(v == "_" for _, v in cells):
                continue
            stacks = [_STACK.split(v) for _, v in cells]
            depth = max(len(s) for s in stacks)
            for k in range(depth):
                got = {
                    f: (s[k] if k < len(s) else "_")
                    for (f, _), s in zip(cells, stacks, strict=True)
                }
                if kind == "T_SP":
                    idx = None
                    fields: dict[str, Any] = {}
                    for f, v in got.items():
                        m = _IDX.match(v)
                        assert m is not None
                        val, i = m[1], m[2]
                        idx = idx or i
                        if val not in ("_", "*", ""):
                            fields[f] = _unescape(val)
                    key = (layer, idx) if idx else (layer, f"{cols[0]}#{k}")
                    if key not in spans:
                        spans[key] = {"start": start, "end": end, "fields": fields, "where": where}
                        order.append(key)
                    else:
                        spans[key]["end"] = max(spans[key]["end"], end)
                        spans[key]["fields"].update(fields)
                    token_span.setdefault((layer, cols[0]), key)
                else:
                    base = next(f for f in got if f.startswith("BT_"))
                    m = _BT.match(got[base])
                    if m is None:
                        raise fail(where, f"bad relation source {got[base]!r}", "export again")
                    feats_ = {
                        f: _unescape(_strip_index(v))
                        for f, v in got.items()
                        if f != base and v not in ("_", "*")
                    }
                    rels.append(
                        _TsvLink(
                            layer,
                            _short(base[3:]),
                            feats_,
                            (m[1], m[2] or "0"),
                            (cols[0], m[3] or "0"),
                            where,
                        )
                    )
    out_spans: list[Span] = []
    ids: dict[tuple[str, str], str] = {}
    for n, key in enumerate(order, 1):
        layer = key[0]
        sp = spans[key]
        fields = dict(sp["fields"])
        carried = None
        if mapping.carry in fields:
            try:
                carried = json.loads(fields.pop(mapping.carry))
            except json.JSONDecodeError as e:
                raise fail(
                    sp["where"], f"the {mapping.carry} feature is not JSON ({e.msg})", "restore it"
                ) from None
        label_feature = mapping.label_feature.get(layer)
        label = layer
        if label_feature:
            label = str(fields.pop(label_feature, "") or "")
            if not label:
                raise fail(
                    sp["where"], f"{layer} has no {label_feature}", "give every span its label"
                )
        ids[key] = f"{layer}-{n}"
        out_spans.append(
            Span(ids[key], label, sp["start"], sp["end"], sp["where"], fields, carried)
        )
    relations: list[Relation] = []
    for link in rels:
        ends = []
        for token, idx in (link.source, link.target):
            end_key: tuple[str, str] | None = (
                (link.base, idx) if idx != "0" else token_span.get((link.base, token))
            )
            if end_key is None or end_key not in ids:
                raise fail(
                    link.where,
                    f"relation {link.layer} points at no {link.base} span",
                    "export again",
                )
            ends.append(ids[end_key])
        label_feature = mapping.label_feature.get(link.layer)
        label = link.features.get(label_feature, "") if label_feature else link.layer
        relations.append(
            Relation(f"{link.layer}@{link.where}", label, ends[0], ends[1], link.where)
        )
    return Document(name, text, out_spans, relations, shown, annotator, skipped=skipped)


# --------------------------------------------------------------------------- export


def typesystem(fields: Sequence[str]) -> cassis.TypeSystem:
    """The export's type system: one span layer (label, our fields, the carried JSON), one link."""
    ts = cassis.TypeSystem()
    span = ts.create_type(SPAN_LAYER, supertypeName="uima.tcas.Annotation")
    for name in ("label", *fields, CARRY_KEY):
        ts.create_feature(span, name, "uima.cas.String")
    link = ts.create_type(LINK_LAYER, supertypeName="uima.tcas.Annotation")
    ts.create_feature(link, "label", "uima.cas.String")
    ts.create_feature(link, "Governor", SPAN_LAYER)
    ts.create_feature(link, "Dependent", SPAN_LAYER)
    return ts


def export(seed_paths: Sequence[Path], to: Path) -> list[Path]:
    """Write ``<stem>.xmi`` per annotation, TypeSystem.xml and mapping.yaml (via cassis)."""
    fields = list(vocabulary_fields(token_values_only=False))
    ts = typesystem(fields)
    Span_, Link = ts.get_type(SPAN_LAYER), ts.get_type(LINK_LAYER)
    written: list[Path] = []
    for article in load_seeds(seed_paths):
        spans, links, carried_article = export_items(article, fields)
        cas = cassis.Cas(typesystem=ts)
        cas.sofa_string = article.text
        made: dict[str, Any] = {}
        for sp in spans:
            carried = dict(sp.carried)
            if sp.label == "Article" and carried_article:
                carried.update(carried_article)
            fs = Span_(begin=sp.start, end=sp.end, label=sp.label)
            for k, v in sp.shown.items():
                fs.set(k, str(v))
            if carried:
                fs.set(CARRY_KEY, json.dumps(carried, ensure_ascii=False))
            cas.add(fs)
            made[sp.key] = fs
        for lk in links:
            dep = made[lk.target]
            cas.add(
                Link(
                    begin=dep.begin,
                    end=dep.end,
                    label=lk.label,
                    Governor=made[lk.source],
                    Dependent=dep,
                )
            )
        path = to / f"{article.stem}.xmi"
        path.parent.mkdir(parents=True, exist_ok=True)
        cas.to_xmi(path)
        written.append(path)
    written.append(write_file(to / "TypeSystem.xml", ts.to_xml()))
    extra = {"label_feature": {"Factpack": "label", "FactpackLink": "label"}}
    mapping = mapping_yaml("inception", fields, extra)
    written.append(write_file(to / "mapping.yaml", mapping))
    return written
