"""Load ``schema/`` (the single source of truth) and derive every other schema from it.

Pure: nothing here reads anything but the files in ``schema/``, nothing writes. The table
schemas (``schema/tables/*.yaml``, Frictionless Table Schema in YAML) name a vocabulary with
``vocabulary: <name>``; :func:`load_schema` resolves it into ``constraints.enum`` and v2
``categories``. Derived here: the annotation JSON Schema, the Arrow schemas, the pandera
schemas, the DuckDB DDL, the Data Package resource schemas and the data dictionary.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from factpack.shared.problems import FactpackError
from factpack.shared.sql import ident as _sql_ident
from factpack.shared.sql import literal as _sql_str

TABLE_ORDER: tuple[str, ...] = ("articles", "sources", "events", "claims")
"""The tables in build, release and dictionary order (referenced tables first)."""

ANNOTATION_FORMAT = "factpack-annotation/1"
ANNOTATION_SCHEMA_FILE = "annotation.schema.json"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

DERIVED_COLUMNS: Mapping[str, frozenset[str]] = {
    "articles": frozenset({"article_id", "char_count", "text"}),
    "sources": frozenset({"article_id", "evidence_text", "char_start", "char_end"}),
    "events": frozenset({"article_id", "evidence_text", "char_start", "char_end", "start_utc"}),
    "claims": frozenset({"article_id", "evidence_text", "char_start", "char_end"}),
}
"""Columns the build computes; an annotation never holds them."""

LOCAL_ID_PATTERNS: Mapping[str, str] = {
    "source_id": "^S[0-9]+$",
    "event_id": "^E[0-9]+$",
    "claim_id": "^C[0-9]+$",
    "responds_to": "^C[0-9]+$",
}
"""Patterns of local ids (and of the local references to them) in an annotation file."""

DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"

_SCHEMA_KEYS = {"name", "title", "description", "fields", "primaryKey", "foreignKeys"}
_FIELD_KEYS = {"name", "type", "title", "description", "constraints", "vocabulary"}
_TYPES = {"string", "integer", "number", "boolean", "date", "datetime"}


def default_root() -> Path:
    """Return the ``schema/`` directory of the repository this package is installed from.

    The package is installed editable from the repository (``src/factpack``), so the
    repository root is two levels above this file's folder. Every function that reads
    ``schema/`` also takes the directory as an argument to override this.
    """
    return Path(__file__).resolve().parents[3] / "schema"


@dataclass(frozen=True)
class Field:
    """One column of a table.

    Attributes:
        name: Column name.
        type: Frictionless type (string, integer, number, boolean, date, datetime).
        description: What the column holds (shown in the data dictionary and editors).
        constraints: Frictionless constraints; a vocabulary is resolved into ``enum``.
        vocabulary: Name of the controlled vocabulary, if any.
        categories: ``[{value, label}]`` from the vocabulary (label = the definition).
        title: Optional human title.
    """

    name: str
    type: str
    description: str
    constraints: Mapping[str, Any] = field(default_factory=dict)
    vocabulary: str | None = None
    categories: tuple[Mapping[str, str], ...] = ()
    title: str | None = None

    @property
    def required(self) -> bool:
        """True when the column may not be empty."""
        return bool(self.constraints.get("required", False))

    def descriptor(self) -> dict[str, Any]:
        """Return the Frictionless (v2) field descriptor."""
        out: dict[str, Any] = {"name": self.name, "type": self.type}
        if self.title:
            out["title"] = self.title
        out["description"] = self.description
        if self.categories:
            out["categories"] = [dict(c) for c in self.categories]
        if self.constraints:
            out["constraints"] = dict(self.constraints)
        return out


@dataclass(frozen=True)
class ForeignKey:
    """A foreign key: ``fields`` of this table reference ``ref_fields`` of ``ref_table``."""

    fields: tuple[str, ...]
    ref_table: str
    ref_fields: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """One table schema (``schema/tables/<name>.yaml``)."""

    name: str
    title: str
    description: str
    fields: tuple[Field, ...]
    primary_key: tuple[str, ...]
    foreign_keys: tuple[ForeignKey, ...] = ()

    @property
    def field_names(self) -> list[str]:
        """The column names in schema order."""
        return [f.name for f in self.fields]

    def field(self, name: str) -> Field:
        """Return the field called ``name``."""
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


@dataclass(frozen=True)
class Vocabulary:
    """A controlled vocabulary: ``values`` maps each value to {definition, example[, parent]}."""

    name: str
    description: str
    values: Mapping[str, Mapping[str, str]]


@dataclass(frozen=True)
class Schema:
    """Everything in ``schema/``: tables (in :data:`TABLE_ORDER`), vocabularies, package."""

    tables: Mapping[str, Table]
    vocabularies: Mapping[str, Vocabulary]
    package: Mapping[str, Any]
    files: tuple[Path, ...] = ()

    def table(self, name: str) -> Table:
        """Return the table called ``name``."""
        return self.tables[name]


def _read_yaml(path: Path) -> Any:
    try:
        with path.open("rb") as fh:
            return yaml.load(fh, Loader=yaml.CSafeLoader)
    except FileNotFoundError as exc:
        raise FactpackError(
            f"{path}: schema file missing; run from a checkout of the repository "
            "or pass the schema directory"
        ) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else f"{path}:0:0"
        raise FactpackError(f"{where}: invalid YAML ({exc}); fix the syntax") from exc


def _load_vocabularies(path: Path) -> dict[str, Vocabulary]:
    raw = _read_yaml(path) or {}
    if not isinstance(raw, dict):
        raise FactpackError(f"{path}:1:1: expected a mapping of vocabulary names")
    out: dict[str, Vocabulary] = {}
    for name, body in raw.items():
        if not isinstance(body, dict) or not isinstance(body.get("values"), dict):
            raise FactpackError(f"{path}:0:0: vocabulary {name!r} needs `values:` (a mapping)")
        values = {
            str(v): {str(k): str(x) for k, x in (d or {}).items()}
            for v, d in body["values"].items()
        }
        out[str(name)] = Vocabulary(str(name), str(body.get("description", "")), values)
    return out


def _load_table(path: Path, vocabularies: Mapping[str, Vocabulary]) -> Table:
    raw = _read_yaml(path)
    if not isinstance(raw, dict):
        raise FactpackError(f"{path}:1:1: expected a Table Schema mapping")
    unknown = set(raw) - _SCHEMA_KEYS
    if unknown:
        raise FactpackError(
            f"{path}:0:0: unknown keys {sorted(unknown)}; allowed {sorted(_SCHEMA_KEYS)}"
        )
    fields: list[Field] = []
    for fd in raw.get("fields") or []:
        fname = fd.get("name")
        bad = set(fd) - _FIELD_KEYS
        if bad:
            raise FactpackError(f"{path}:0:0: field {fname!r} has unknown keys {sorted(bad)}")
        if fd.get("type") not in _TYPES:
            raise FactpackError(
                f"{path}:0:0: field {fname!r} has type {fd.get('type')!r}; "
                f"use one of {sorted(_TYPES)}"
            )
        if not fd.get("description"):
            raise FactpackError(f"{path}:0:0: field {fname!r} needs a description")
        constraints = dict(fd.get("constraints") or {})
        vocab_name = fd.get("vocabulary")
        categories: tuple[Mapping[str, str], ...] = ()
        if vocab_name is not None:
            vocab = vocabularies.get(vocab_name)
            if vocab is None:
                raise FactpackError(
                    f"{path}:0:0: field {fname!r} names unknown vocabulary {vocab_name!r}; "
                    f"define it in schema/vocabularies.yaml"
                )
            constraints["enum"] = list(vocab.values)
            categories = tuple(
                {"value": v, "label": d.get("definition", v)} for v, d in vocab.values.items()
            )
        fields.append(
            Field(
                name=str(fname),
                type=str(fd["type"]),
                description=str(fd["description"]),
                constraints=constraints,
                vocabulary=vocab_name,
                categories=categories,
                title=fd.get("title"),
            )
        )
    fks = tuple(
        ForeignKey(
            fields=tuple(fk["fields"]),
            ref_table=str(fk["reference"].get("resource") or raw["name"]),
            ref_fields=tuple(fk["reference"]["fields"]),
        )
        for fk in raw.get("foreignKeys") or []
    )
    return Table(
        name=str(raw["name"]),
        title=str(raw.get("title", raw["name"])),
        description=str(raw.get("description", "")),
        fields=tuple(fields),
        primary_key=tuple(raw.get("primaryKey") or ()),
        foreign_keys=fks,
    )


def load_schema(root: Path | None = None) -> Schema:
    """Load ``schema/``: the four tables, the vocabularies and the package metadata.

    Args:
        root: The schema directory; default :func:`default_root`.

    Returns:
        The schema, tables in :data:`TABLE_ORDER`, vocabularies resolved into the fields.

    Raises:
        FactpackError: a file is missing or malformed.
    """
    root = Path(root) if root is not None else default_root()
    vocab_path = root / "vocabularies.yaml"
    package_path = root / "package.yaml"
    vocabularies = _load_vocabularies(vocab_path)
    tables: dict[str, Table] = {}
    table_paths = []
    for name in TABLE_ORDER:
        path = root / "tables" / f"{name}.yaml"
        table = _load_table(path, vocabularies)
        if table.name != name:
            raise FactpackError(f"{path}:1:1: name is {table.name!r}; expected {name!r}")
        tables[name] = table
        table_paths.append(path)
    package = _read_yaml(package_path) or {}
    if not isinstance(package, dict):
        raise FactpackError(f"{package_path}:1:1: expected a mapping")
    return Schema(
        tables=tables,
        vocabularies=vocabularies,
        package=package,
        files=(vocab_path, package_path, *table_paths),
    )


# --------------------------------------------------------------------------- annotation JSON Schema

_JSON_TYPES = {
    "string": "string",
    "integer": "integer",
    "number": "number",
    "boolean": "boolean",
    "date": "string",
    "datetime": "string",
}


def _vocab_help(vocab: Vocabulary) -> str:
    lines = [f"- `{v}`: {d.get('definition', '')}" for v, d in vocab.values.items()]
    return "\n".join(lines)


def _annotation_property(table: Table, f: Field, schema: Schema) -> dict[str, Any]:
    jtype = _JSON_TYPES[f.type]
    prop: dict[str, Any] = {"title": f.title or f.name, "description": f.description}
    if f.vocabulary:
        vocab = schema.vocabularies[f.vocabulary]
        prop["description"] = f"{f.description}\n\n{vocab.description}\n{_vocab_help(vocab)}"
    prop["type"] = jtype if f.required else [jtype, "null"]
    c = f.constraints
    if f.name in LOCAL_ID_PATTERNS:
        prop["pattern"] = LOCAL_ID_PATTERNS[f.name]
    elif f.type == "date":
        prop["pattern"] = DATE_PATTERN
    elif "pattern" in c:
        prop["pattern"] = c["pattern"]
    if f.type == "datetime":
        prop["format"] = "date-time"
    if "enum" in c:
        prop["enum"] = list(c["enum"]) if f.required else [*c["enum"], None]
    for key in ("minimum", "maximum", "maxLength"):
        if key in c:
            prop[key] = c[key]
    if f.type == "string" and "enum" not in prop:
        prop["minLength"] = min_length(f)
    return prop


def _annotation_item(table: Table, schema: Schema, *, evidence: bool) -> dict[str, Any]:
    derived = DERIVED_COLUMNS[table.name]
    props: dict[str, Any] = {}
    required: list[str] = []
    for f in table.fields:
        if f.name in derived:
            continue
        props[f.name] = _annotation_property(table, f, schema)
        if f.required:
            required.append(f.name)
    if evidence:
        props["quote"] = {
            "$ref": "#/$defs/TextQuoteSelector",
            "description": "The evidence: where in the text this item is stated.",
        }
        required.append("quote")
    props["note"] = {
        "title": "note",
        "description": "Free-text annotator note (not published).",
        "type": ["string", "null"],
    }
    return {
        "title": table.title,
        "description": table.description,
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": False,
    }


def _text(title: str, description: str, *, required: bool = True) -> dict[str, Any]:
    return {
        "title": title,
        "description": description,
        "type": "string" if required else ["string", "null"],
        "minLength": 1,
    }


def _adjudication_note() -> dict[str, Any]:
    """Return the JSON Schema of one adjudication note (see docs/annotation-format.md)."""
    return {
        "title": "Adjudication note",
        "description": "One settled disagreement: the item(s), what was decided and why, with "
        "the outside reports relied on.",
        "type": "object",
        "properties": {
            "items": {
                "title": "items",
                "description": "Local ids of the item(s) of this file the decision is about "
                "(S1, E2, C3).",
                "type": "array",
                "items": {"type": "string", "pattern": "^[SEC][0-9]+$"},
            },
            "decision": _text("decision", "What was decided (the value or span kept)."),
            "reason": _text("reason", "Why: the text, the guide or the evidence that settles it."),
            "evidence": {
                "title": "evidence",
                "description": "Dated outside reports the decision rests on (for what the text "
                "leaves open, such as the publication date).",
                "type": ["array", "null"],
                "items": {"$ref": "#/$defs/citation"},
            },
            "note": {
                "title": "note",
                "description": "Free-text adjudicator note.",
                "type": ["string", "null"],
            },
        },
        "required": ["items", "decision", "reason"],
        "additionalProperties": False,
    }


def _citation() -> dict[str, Any]:
    """Return the JSON Schema of one evidence citation of an adjudication note."""
    return {
        "title": "Citation",
        "description": "An outside report: outlet, headline, date and address.",
        "type": "object",
        "properties": {
            "title": _text("title", "Headline of the report."),
            "publisher": _text("publisher", "The outlet that published it."),
            "date": {
                "title": "date",
                "description": "Publication date of the report (YYYY-MM-DD).",
                "type": ["string", "null"],
                "pattern": DATE_PATTERN,
            },
            "url": {
                "title": "url",
                "description": "Address of the report (http or https).",
                "type": ["string", "null"],
                "pattern": "^https?://[^\\s]+$",
            },
        },
        "required": ["title", "publisher"],
        "additionalProperties": False,
    }


def annotation_json_schema(schema: Schema) -> dict[str, Any]:
    """Derive the JSON Schema (draft 2020-12) of the annotation file format.

    An annotation item holds its table's columns minus the derived ones, local ids,
    a ``quote`` (TextQuoteSelector) and an optional ``note``; an adjudicated annotation may
    carry ``adjudication`` notes; see docs/annotation-format.md.
    """
    article = _annotation_item(schema.table("articles"), schema, evidence=False)
    article["title"] = "Article"
    article["description"] = "Metadata of the annotated article (one row of the articles table)."
    article["properties"]["furniture"] = {
        "title": "furniture",
        "description": "Page furniture (navigation, adverts, 'Most read' lists) in the text: "
        "no evidence span may lie inside it.",
        "type": ["array", "null"],
        "items": {"$ref": "#/$defs/TextQuoteSelector"},
    }
    sections: dict[str, Any] = {}
    for name in ("sources", "events", "claims"):
        table = schema.table(name)
        sections[name] = {
            "title": table.title,
            "description": table.description,
            "type": ["array", "null"],
            "items": {"$ref": f"#/$defs/{name}_item"},
        }
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "title": "factpack annotation",
        "description": (
            "One annotation file seeds/<stem>.yaml describing the verbatim text seeds/<stem>.txt. "
            "Generated from schema/tables/*.yaml and schema/vocabularies.yaml by "
            "`factpack schema --write`; do not edit by hand."
        ),
        "type": "object",
        "properties": {
            "format": {
                "title": "format",
                "description": "Version of the annotation format.",
                "const": ANNOTATION_FORMAT,
            },
            "article": {"$ref": "#/$defs/article"},
            **sections,
            "adjudication": {
                "title": "adjudication",
                "description": "Only in the published, adjudicated annotation seeds/<stem>.yaml "
                "of a doubly annotated article: how each disagreement between the annotators' "
                "files (seeds/annotators/<name>/<stem>.yaml) was settled (not published as a "
                "table).",
                "type": ["array", "null"],
                "items": {"$ref": "#/$defs/adjudication_note"},
            },
        },
        "required": ["format", "article"],
        "additionalProperties": False,
        "$defs": {
            "TextQuoteSelector": {
                "title": "TextQuoteSelector",
                "description": (
                    "W3C Web Annotation TextQuoteSelector: `exact` text, with optional `prefix` "
                    "and `suffix` (the text right before/after) to pick one occurrence. Straight "
                    "and curly quotes match alike, as does any run of white space."
                ),
                "type": "object",
                "properties": {
                    "exact": {"type": "string", "minLength": 1, "description": "The quoted text."},
                    "prefix": {
                        "type": ["string", "null"],
                        "description": "Text right before `exact`.",
                    },
                    "suffix": {
                        "type": ["string", "null"],
                        "description": "Text right after `exact`.",
                    },
                },
                "required": ["exact"],
                "additionalProperties": False,
            },
            "article": article,
            "adjudication_note": _adjudication_note(),
            "citation": _citation(),
            **{
                f"{name}_item": _annotation_item(schema.table(name), schema, evidence=True)
                for name in ("sources", "events", "claims")
            },
        },
    }


def annotation_json_text(schema: Schema) -> str:
    """Return the annotation JSON Schema as the exact text of the committed file."""
    return json.dumps(annotation_json_schema(schema), indent=2, ensure_ascii=False) + "\n"


def annotation_schema_path(root: Path | None = None) -> Path:
    """Return the path of the committed annotation JSON Schema."""
    return (Path(root) if root is not None else default_root()) / ANNOTATION_SCHEMA_FILE


def write_annotation_schema(root: Path | None = None) -> tuple[Path, bool]:
    """Write ``schema/annotation.schema.json`` from the table schemas.

    Returns:
        The path and whether its content changed.
    """
    path = annotation_schema_path(root)
    text = annotation_json_text(load_schema(root))
    old = path.read_text(encoding="utf-8") if path.exists() else None
    if old != text:
        path.write_text(text, encoding="utf-8", newline="\n")
    return path, old != text


def min_length(f: Field) -> int:
    """Return a string field's minimum length: at least 1 everywhere.

    An empty string is not a value: CSV cannot tell ``""`` from null, so every target rejects
    it and an annotation writes ``null`` (or omits the key) instead.
    """
    return max(1, int(f.constraints.get("minLength", 1)))


# --------------------------------------------------------------------------- Arrow


def arrow_type(f: Field) -> Any:
    """Return the pyarrow type of a field."""
    import pyarrow as pa

    types = {
        "string": pa.string(),
        "integer": pa.int64(),
        "number": pa.float64(),
        "boolean": pa.bool_(),
        "date": pa.date32(),
        "datetime": pa.timestamp("us", tz="UTC"),
    }
    return types[f.type]


def arrow_schema(table: Table) -> Any:
    """Return the ``pyarrow.Schema`` of a table (nullable unless required; descriptions kept)."""
    import pyarrow as pa

    return pa.schema(
        [
            pa.field(
                f.name,
                arrow_type(f),
                nullable=not f.required,
                metadata={"description": f.description},
            )
            for f in table.fields
        ]
    )


# --------------------------------------------------------------------------- pandera


def pandera_schema(table: Table) -> Any:
    """Return the pandera (pandas backend, Arrow dtypes) schema of a table.

    Types, required (not nullable), unique, pattern, enum, minimum/maximum, min/maxLength;
    a composite primary key is checked unique as a whole. Validate a DataFrame made with
    ``table.to_pandas(types_mapper=pandas.ArrowDtype)``.
    """
    import pandas as pd
    import pandera.pandas as pdr

    columns = {}
    for f in table.fields:
        c = f.constraints
        checks = []
        if "pattern" in c:
            checks.append(pdr.Check.str_matches(c["pattern"]))
        if "enum" in c:
            checks.append(pdr.Check.isin(list(c["enum"])))
        if "minimum" in c:
            checks.append(pdr.Check.ge(c["minimum"]))
        if "maximum" in c:
            checks.append(pdr.Check.le(c["maximum"]))
        if f.type == "string":
            checks.append(pdr.Check.str_length(min_length(f), c.get("maxLength")))
        unique = bool(c.get("unique")) or list(table.primary_key) == [f.name]
        columns[f.name] = pdr.Column(
            pd.ArrowDtype(arrow_type(f)),
            checks=checks,
            nullable=not f.required,
            unique=unique,
            description=f.description,
        )
    return pdr.DataFrameSchema(
        columns,
        name=table.name,
        strict=True,
        ordered=True,
        unique=list(table.primary_key) if len(table.primary_key) > 1 else None,
    )


# --------------------------------------------------------------------------- DuckDB

_DUCKDB_TYPES = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "datetime": "TIMESTAMPTZ",
}


def duckdb_type(f: Field) -> str:
    """Return the DuckDB type of a field."""
    return _DUCKDB_TYPES[f.type]


def duckdb_ddl(table: Table) -> list[str]:
    """Return the DuckDB statements that create a table with its comments.

    Columns with types, NOT NULL, CHECK constraints (enum, pattern, minimum, maximum), the
    primary key and the foreign keys to other tables (a self-reference such as
    ``claims.responds_to`` is checked by :mod:`factpack.pipeline.checks` instead: DuckDB cannot
    insert rows that reference later rows of the same statement).
    """
    cols = []
    for f in table.fields:
        col = f"{_sql_ident(f.name)} {duckdb_type(f)}"
        if f.required:
            col += " NOT NULL"
        checks = []
        c = f.constraints
        ident = _sql_ident(f.name)
        if "enum" in c:
            checks.append(f"{ident} IN ({', '.join(_sql_str(str(v)) for v in c['enum'])})")
        if "pattern" in c:
            checks.append(f"regexp_full_match({ident}, {_sql_str(c['pattern'])})")
        if f.type == "string":
            checks.append(f"length({ident}) >= {min_length(f)}")
        if "minimum" in c:
            checks.append(f"{ident} >= {c['minimum']}")
        if "maximum" in c:
            checks.append(f"{ident} <= {c['maximum']}")
        if checks:
            col += " CHECK (" + " AND ".join(checks) + ")"
        cols.append(col)
    cols.append(f"PRIMARY KEY ({', '.join(_sql_ident(k) for k in table.primary_key)})")
    for fk in table.foreign_keys:
        if fk.ref_table == table.name:
            continue
        cols.append(
            f"FOREIGN KEY ({', '.join(_sql_ident(k) for k in fk.fields)}) REFERENCES "
            f"{_sql_ident(fk.ref_table)} ({', '.join(_sql_ident(k) for k in fk.ref_fields)})"
        )
    name = _sql_ident(table.name)
    stmts = [f"CREATE TABLE {name} (\n  " + ",\n  ".join(cols) + "\n)"]
    stmts.append(f"COMMENT ON TABLE {name} IS {_sql_str(table.description)}")
    for f in table.fields:
        stmts.append(f"COMMENT ON COLUMN {name}.{_sql_ident(f.name)} IS {_sql_str(f.description)}")
    return stmts


# --------------------------------------------------------------------------- Frictionless


def table_schema_descriptor(table: Table, resource_suffix: str = "") -> dict[str, Any]:
    """Return the Frictionless Table Schema of a table for a Data Package resource.

    Args:
        table: The table.
        resource_suffix: Appended to referenced resource names (``"_csv"`` for the CSV
            resources, so their foreign keys point at the CSV resources).
    """
    out: dict[str, Any] = {
        "fields": [f.descriptor() for f in table.fields],
        "primaryKey": list(table.primary_key),
    }
    fks = []
    for fk in table.foreign_keys:
        ref = {"resource": fk.ref_table + resource_suffix, "fields": list(fk.ref_fields)}
        fks.append({"fields": list(fk.fields), "reference": ref})
    if fks:
        out["foreignKeys"] = fks
    return out


# --------------------------------------------------------------------------- data dictionary


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def data_dictionary(schema: Schema) -> str:
    """Return the data dictionary (Markdown): every table, column and vocabulary."""
    lines: list[str] = []
    for table in schema.tables.values():
        lines += [f"### `{table.name}`: {table.title}", "", table.description, ""]
        lines.append(f"Primary key: `{', '.join(table.primary_key)}`.")
        for fk in table.foreign_keys:
            lines.append(
                f"Foreign key: `{', '.join(fk.fields)}` → "
                f"`{fk.ref_table}.{', '.join(fk.ref_fields)}`."
            )
        lines += ["", "| column | type | required | description |", "| --- | --- | --- | --- |"]
        for f in table.fields:
            desc = f.description
            extra = []
            if f.vocabulary:
                extra.append(f"vocabulary `{f.vocabulary}`")
            c = f.constraints
            if "pattern" in c:
                extra.append(f"pattern `{c['pattern']}`")
            if "minimum" in c:
                extra.append(f"≥ {c['minimum']}")
            if "maximum" in c:
                extra.append(f"≤ {c['maximum']}")
            if extra:
                desc += " (" + "; ".join(extra) + ")"
            req = "yes" if f.required else ""
            lines.append(f"| `{f.name}` | {f.type} | {req} | {_md_cell(desc)} |")
        lines.append("")
    lines += ["### Vocabularies", ""]
    for vocab in schema.vocabularies.values():
        lines += [f"#### `{vocab.name}`", "", vocab.description, ""]
        for value, d in vocab.values.items():
            parent = f" (under `{d['parent']}`)" if "parent" in d else ""
            lines.append(f"- `{value}`{parent}: {d.get('definition', '')}")
        lines.append("")
    return "\n".join(lines)
