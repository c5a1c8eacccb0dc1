"""The mapping file: which tool labels, features and relations become which of our fields.

A mapping (YAML, validated by ``schema/mapping.schema.json`` with jsonschema) names, per tool
label, the section it becomes (``sources``, ``events``, ``claims``, ``article`` for the title,
``furniture``), fixed values that follow from the label, and which tool features fill which
fields; per relation type the claim field it fills. Field names and fixed values are checked
against the annotation schema derived from ``schema/``: an unknown name or a value outside a
vocabulary is an error naming the closest one.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema

from factpack.formats.common import CARRY_KEY, FormatError
from factpack.shared.problems import display_path
from factpack.shared.schema import annotation_json_schema, default_root, load_schema
from factpack.shared.yamlload import load_yaml

MAPPING_FORMAT = "factpack-mapping/1"
SECTIONS = ("sources", "events", "claims")
ID_KEYS = {"sources": "source_id", "events": "event_id", "claims": "claim_id"}
ID_LETTERS = {"sources": "S", "events": "E", "claims": "C"}
RELATION_FIELDS = ("source_id", "event_id", "responds_to", "relation")
"""Claim fields filled by relations, never by features or fixed values."""

DEFAULT_OFFSETS = {
    "brat": "code-points",
    "label-studio": "code-points",
    "doccano": "utf-16",
    "inception": "code-points",
}
"""Each tool's offset unit (docs/importing.md, "Offsets"); a mapping may override it."""


@dataclass(frozen=True)
class LabelRule:
    """What one tool label becomes."""

    table: str
    fixed: Mapping[str, Any] = field(default_factory=dict)
    fields: Mapping[str, str] = field(default_factory=dict)
    text_field: str | None = None


@dataclass(frozen=True)
class RelationRule:
    """What one tool relation type fills: ``field`` (and ``relation`` with responds_to)."""

    field: str
    relation: str | None = None


@dataclass(frozen=True)
class Mapping_:
    """A loaded, checked mapping file."""

    shown: str
    tool: str
    offsets: str
    labels: Mapping[str, LabelRule]
    relations: Mapping[str, RelationRule] = field(default_factory=dict)
    article: Mapping[str, Any] = field(default_factory=dict)
    carry: str = CARRY_KEY
    ignore_labels: frozenset[str] = frozenset()
    ignore_relations: frozenset[str] = frozenset()
    ignore_features: frozenset[str] = frozenset()
    label_feature: Mapping[str, str] = field(default_factory=dict)


@lru_cache(maxsize=1)
def item_properties() -> dict[str, dict[str, Any]]:
    """Section (``article``, ``sources``, ``events``, ``claims``) -> its JSON Schema properties."""
    defs = annotation_json_schema(load_schema())["$defs"]
    return {
        "article": defs["article"]["properties"],
        "sources": defs["sources_item"]["properties"],
        "events": defs["events_item"]["properties"],
        "claims": defs["claims_item"]["properties"],
    }


def closest(value: str, choices: Iterable[str]) -> str | None:
    """The choice most like ``value`` (difflib), or None."""
    options = [str(c) for c in choices]
    for c in options:
        if c.lower() == str(value).lower():
            return c
    got = difflib.get_close_matches(str(value), options, n=1, cutoff=0.4)
    return got[0] if got else None


def coerce(section: str, name: str, value: Any) -> Any:
    """Convert a tool's string value to the field's JSON type (booleans, numbers)."""
    prop = item_properties()[section].get(name, {})
    types = prop.get("type", [])
    types = [types] if isinstance(types, str) else types
    if isinstance(value, str):
        if "boolean" in types and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        if "number" in types:
            try:
                return float(value)
            except ValueError:
                return value
        if "null" in types and value == "":
            return None
    return value


def value_problem(section: str, name: str, value: Any) -> str | None:
    """Why ``value`` cannot be the field ``name`` of ``section`` (None when it can).

    Unknown field names and values outside a vocabulary name the closest valid one.
    """
    props = item_properties()[section]
    if name not in props:
        guess = closest(name, props)
        return f"{section} has no field '{name}'" + (f" (did you mean '{guess}'?)" if guess else "")
    prop = props[name]
    if jsonschema.Draft202012Validator(prop).is_valid(value):
        return None
    enum = prop.get("enum")
    if enum is not None:
        guess = closest(str(value), [e for e in enum if e is not None])
        return (
            f"{name} {value!r} is not in the vocabulary"
            + (f"; the closest value is '{guess}'" if guess else "")
            + f" (values: {', '.join(str(e) for e in enum if e is not None)})"
        )
    err = jsonschema.Draft202012Validator(prop).iter_errors(value)
    first = next(iter(err), None)
    return f"{name} {value!r}: {first.message if first else 'invalid'}"


@lru_cache(maxsize=1)
def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads((default_root() / "mapping.schema.json").read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def load_mapping(path: Path) -> Mapping_:
    """Read and check a mapping file.

    Raises:
        FormatError: the file is missing, not YAML, breaks ``schema/mapping.schema.json`` or
            names a field or value our schema does not have (one line: file, line, fix).
    """
    shown = display_path(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise FormatError(f"{shown}: cannot read the mapping: {e}; check the path") from None
    return parse_mapping(text, shown)


def parse_mapping(text: str, shown: str) -> Mapping_:
    """Check a mapping file's text (``shown`` names it in errors); see :func:`load_mapping`."""
    loaded = load_yaml(text)
    if loaded.errors:
        e = loaded.errors[0]
        raise FormatError(f"{shown}:{e.line}:{e.col}: {e.message}; {e.hint}")
    data = loaded.data

    def err(path: tuple[str | int, ...], message: str, hint: str) -> FormatError:
        line, col = loaded.where(path)
        return FormatError(f"{shown}:{line}:{col}: {message}; {hint}")

    if not isinstance(data, dict):
        raise err((), "the mapping is not a YAML mapping", "start from docs/mappings/<tool>.yaml")
    error = jsonschema.exceptions.best_match(_validator().iter_errors(data))
    if error is not None:
        where = tuple(error.absolute_path)
        label = ".".join(str(p) for p in where) or "the mapping"
        raise err(
            where,
            f"{label}: {error.message}",
            "see schema/mapping.schema.json and docs/mappings/",
        )
    labels: dict[str, LabelRule] = {}
    for label, rule in data["labels"].items():
        table = rule["table"]
        section = "article" if table in ("article", "furniture") else table
        fixed = dict(rule.get("fixed") or {})
        for name, value in fixed.items():
            if name in RELATION_FIELDS or name == ID_KEYS.get(section) or name == "quote":
                raise err(
                    ("labels", label, "fixed", name),
                    f"labels.{label}.fixed.{name}: {name} cannot be fixed",
                    "ids and quotes come from the spans, claim links from relations",
                )
            problem = value_problem(section, name, value)
            if problem:
                raise err(("labels", label, "fixed", name), f"labels.{label}: {problem}", "fix it")
        fields = dict(rule.get("fields") or {})
        for feature, name in fields.items():
            problem = (
                value_problem(section, name, None)
                if name not in item_properties()[section]
                else None
            )
            if problem or name in RELATION_FIELDS or name == "quote":
                raise err(
                    ("labels", label, "fields", feature),
                    f"labels.{label}.fields.{feature}: "
                    + (problem or f"{name} is filled by relations or spans, not features"),
                    "name a field of " + section,
                )
        text_field = rule.get("text_field")
        if text_field is not None:
            props = item_properties()[section]
            if text_field not in props or "string" not in str(props[text_field].get("type")):
                guess = closest(text_field, props)
                raise err(
                    ("labels", label, "text_field"),
                    f"labels.{label}.text_field: {section} has no text field '{text_field}'"
                    + (f" (did you mean '{guess}'?)" if guess else ""),
                    "name a text field such as name or claim_text",
                )
        labels[str(label)] = LabelRule(table, fixed, fields, text_field)
    relations: dict[str, RelationRule] = {}
    for name, rule in (data.get("relations") or {}).items():
        if (rule["field"] == "responds_to") != ("relation" in rule):
            raise err(
                ("relations", name),
                f"relations.{name}: responds_to needs relation (denies | disputes | supports), "
                "and only responds_to takes one",
                "add or remove `relation:`",
            )
        relations[str(name)] = RelationRule(rule["field"], rule.get("relation"))
    article = dict(data.get("article") or {})
    for name, value in article.items():
        problem = value_problem("article", name, value)
        if problem:
            raise err(("article", name), f"article: {problem}", "fix it")
    ignore = data.get("ignore") or {}
    return Mapping_(
        shown=shown,
        tool=data["tool"],
        offsets=data.get("offsets") or DEFAULT_OFFSETS[data["tool"]],
        labels=labels,
        relations=relations,
        article=article,
        carry=data.get("carry", CARRY_KEY),
        ignore_labels=frozenset(ignore.get("labels", [])),
        ignore_relations=frozenset(ignore.get("relations", [])),
        ignore_features=frozenset(ignore.get("features", [])),
        label_feature=dict(data.get("label_feature") or {}),
    )


def export_mapping(tool: str, vocab_fields: Iterable[str] = ()) -> dict[str, Any]:
    """The mapping that imports a ``factpack export`` of ``tool`` back (written as mapping.yaml).

    Labels Source/Event/Claim/Article/Furniture; relations source, event and one per relation
    value; ``vocab_fields`` are the fields the export shows as tool attributes.
    """
    fields = {f: f for f in vocab_fields}
    labels: dict[str, Any] = {}
    for label, table in (
        ("Article", "article"),
        ("Furniture", "furniture"),
        ("Source", "sources"),
        ("Event", "events"),
        ("Claim", "claims"),
    ):
        own = {f: f for f in fields if f in item_properties()[table]} if table in SECTIONS else {}
        labels[label] = {"table": table, **({"fields": own} if own else {})}
    relations: dict[str, Any] = {
        "source": {"field": "source_id"},
        "event": {"field": "event_id"},
    }
    for value in item_properties()["claims"]["relation"]["enum"]:
        if value is not None:
            relations[value] = {"field": "responds_to", "relation": value}
    return {
        "format": MAPPING_FORMAT,
        "tool": tool,
        "offsets": DEFAULT_OFFSETS[tool],
        "carry": CARRY_KEY,
        "labels": labels,
        "relations": relations,
    }
