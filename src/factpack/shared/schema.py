"""Load ``schema/`` (the single source of truth) and derive every other schema from it.

Pure: nothing here reads anything but the files in ``schema/``, nothing writes. The table
schemas (``schema/tables/*.yaml``, Frictionless Table Schema in YAML) name a vocabulary with
``vocabulary: <name>``; :func:`load_schema` resolves it into ``constraints.enum`` and v2
``categories``. Derived here: the annotation JSON Schema, the Arrow schemas, the pandera
schemas, the DuckDB DDL, the Data Package resource schemas and the data dictionary.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema

from factpack.shared.problems import FactpackError, Problem, display_path
from factpack.shared.sql import ident as _sql_ident
from factpack.shared.sql import literal as _sql_str
from factpack.shared.yamlload import Loaded, load_yaml

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

TEXT_POLICIES: tuple[str, ...] = ("include", "withhold")
"""What a release does with the article texts: ``include`` them in ``articles.text``, or
``withhold`` them (``articles.text`` null; offsets, ``text_sha256`` and the evidence quotes
stay, and a user re-attaches their own copy with ``factpack hydrate``)."""

DEFAULT_TEXT_POLICY = "include"
"""The text policy when ``schema/package.yaml`` sets none."""

TEXT_POLICY_HELP = (
    "`include`: the release carries this article's text; `withhold`: `articles.text` is left "
    "empty (null) in the release, for a text whose rights forbid redistribution. Overrides "
    "`text_policy` of schema/package.yaml for this article; omit it to follow the package."
)


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

    @property
    def text_policy(self) -> str:
        """The package's text policy (``schema/package.yaml`` ``text_policy``; default
        :data:`DEFAULT_TEXT_POLICY`): one of :data:`TEXT_POLICIES`."""
        return str(self.package.get("text_policy") or DEFAULT_TEXT_POLICY)


META_DIR = "meta"
"""Folder of ``schema/`` holding the JSON Schemas of the schema files themselves."""

META_SCHEMAS = {
    "vocabularies.yaml": "vocabularies.schema.json",
    "package.yaml": "package.schema.json",
    "tables": "table.schema.json",
}
"""Which meta-schema (in :data:`META_DIR`) checks which schema file (``tables``: each table)."""


def meta_schema_path(target: str) -> Path:
    """Return the path of the meta-schema that checks ``target`` (a key of :data:`META_SCHEMAS`).

    The meta-schemas describe what this version of factpack can read, so they are always the
    repository's (``schema/meta/``), whichever schema directory is loaded.
    """
    return default_root() / META_DIR / META_SCHEMAS[target]


@lru_cache(maxsize=8)
def _meta_validator(target: str) -> jsonschema.protocols.Validator:
    path = meta_schema_path(target)
    meta = json.loads(path.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(meta)
    cls.check_schema(meta)
    return cls(meta, format_checker=cls.FORMAT_CHECKER)


class SchemaFileError(FactpackError):
    """A file of ``schema/`` is malformed; the message names the file, line and fix."""


def _fail(path: Path, line: int, col: int, message: str, hint: str) -> SchemaFileError:
    problem = Problem(display_path(path), line, col, message, hint, code="schema-file")
    return SchemaFileError(problem.format())


def _label(path: Sequence[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "the file"


_TYPE_NAMES = {
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    str: "text",
    list: "a list",
    dict: "a mapping",
    type(None): "empty (null)",
}
_JSON_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "text",
    "boolean": "a boolean (true or false)",
    "integer": "an integer",
    "number": "a number",
}


def _meta_problem(err: jsonschema.ValidationError, loaded: Loaded) -> tuple[int, int, str, str]:
    """Return line, column, message and hint of one meta-schema error."""
    path = tuple(err.absolute_path)
    label = _label(path)
    sub: Any = err.schema if isinstance(err.schema, dict) else {}
    hint = str(sub.get("description") or "see the meta-schema in schema/meta/")
    inst = err.instance
    if err.validator == "additionalProperties" and isinstance(inst, dict):
        allowed = list(sub.get("properties", {}))
        extra = [k for k in inst if k not in allowed]
        key = extra[0] if extra else ""
        line, col = loaded.where((*path, key), key=True)
        where = f" in {label}" if path else ""
        fix = "allowed: " + ", ".join(allowed) if allowed else hint
        if extra and inst[key] is None:
            fix += (
                " (a key without a value: in an unquoted {flow: mapping} a comma ends the "
                "value before it; use block style or quotes)"
            )
        return line, col, f"unknown key '{key}'{where}", fix
    if err.validator == "required" and isinstance(inst, dict):
        wanted: Any = err.validator_value
        missing = next((k for k in wanted if k not in inst), "")
        line, col = loaded.where(path)
        prop = sub.get("properties", {}).get(missing, {})
        how = prop.get("description") if isinstance(prop, dict) else None
        return (
            line,
            col,
            f"{label} is missing '{missing}'",
            f"add `{missing}:`" + (f" ({how})" if how else ""),
        )
    if "propertyNames" in err.relative_schema_path:
        # jsonschema checks a key as an instance of its own, at its mapping's path.
        line, col = loaded.where((*path, str(inst)), key=True)
        return line, col, f"'{inst}' is not a valid name", hint
    line, col = loaded.where(path)
    if err.validator == "type":
        got = _TYPE_NAMES.get(type(inst), type(inst).__name__)
        wanted = _JSON_TYPE_NAMES.get(str(err.validator_value), str(err.validator_value))
        return line, col, f"{label} is {got}, expected {wanted}", hint
    if err.validator == "pattern" and isinstance(inst, str):
        return line, col, f"{label}: {inst!r} has the wrong form", hint
    return line, col, f"{label}: {err.message}", hint


def _read_yaml(path: Path, target: str) -> tuple[Any, Loaded]:
    """Read one schema file, refuse duplicate keys and check it against its meta-schema.

    Raises:
        SchemaFileError: the file is missing, is not YAML, or does not fit its meta-schema;
            the first problem (by position) is named with its line and a fix.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise FactpackError(
            f"{display_path(path)}: schema file missing; run from a checkout of the repository "
            "or pass the schema directory"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(path, 0, 0, f"cannot read the schema file ({exc})", "save it as UTF-8") from exc
    loaded = load_yaml(text)
    if loaded.errors:
        e = min(loaded.errors, key=lambda x: (x.line, x.col))
        raise _fail(path, e.line, e.col, e.message, e.hint)
    problems = sorted(
        (_meta_problem(err, loaded) for err in _meta_validator(target).iter_errors(loaded.data)),
        key=lambda p: (p[0], p[1]),
    )
    if problems:
        line, col, message, hint = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise _fail(path, line, col, message + more, hint)
    return loaded.data, loaded


def _load_vocabularies(path: Path) -> dict[str, Vocabulary]:
    raw, loaded = _read_yaml(path, "vocabularies.yaml")
    out = {
        name: Vocabulary(name, body["description"], body["values"]) for name, body in raw.items()
    }
    for name, body in raw.items():
        for value, info in body["values"].items():
            parent = info.get("parent")
            if parent is not None and not any(
                parent in v.values for other, v in out.items() if other != name
            ):
                line, col = loaded.where((name, "values", value, "parent"))
                raise _fail(
                    path,
                    line,
                    col,
                    f"{name}.values.{value}.parent: '{parent}' is not a value of another "
                    "vocabulary",
                    "name the value this one belongs to (e.g. an event type)",
                )
    return out


def _load_table(path: Path, vocabularies: Mapping[str, Vocabulary]) -> Table:
    raw, loaded = _read_yaml(path, "tables")
    if raw["name"] != path.stem:
        line, col = loaded.where(("name",))
        raise _fail(
            path, line, col, f"name is '{raw['name']}'", f"name the table '{path.stem}' as its file"
        )
    names = [fd["name"] for fd in raw["fields"]]
    fields: list[Field] = []
    for i, fd in enumerate(raw["fields"]):
        constraints = dict(fd.get("constraints") or {})
        vocab_name = fd.get("vocabulary")
        categories: tuple[Mapping[str, str], ...] = ()
        if vocab_name is not None:
            vocab = vocabularies.get(vocab_name)
            if vocab is None:
                line, col = loaded.where(("fields", i, "vocabulary"))
                raise _fail(
                    path,
                    line,
                    col,
                    f"field '{fd['name']}' names unknown vocabulary '{vocab_name}'",
                    "define it in schema/vocabularies.yaml or use one of "
                    + ", ".join(vocabularies),
                )
            constraints["enum"] = list(vocab.values)
            categories = tuple(
                {"value": v, "label": d["definition"]} for v, d in vocab.values.items()
            )
        fields.append(
            Field(
                name=fd["name"],
                type=fd["type"],
                description=fd["description"],
                constraints=constraints,
                vocabulary=vocab_name,
                categories=categories,
                title=fd.get("title"),
            )
        )
    keys: list[tuple[tuple[str | int, ...], list[str]]] = [(("primaryKey",), raw["primaryKey"])]
    for i, fk in enumerate(raw.get("foreignKeys") or []):
        keys.append((("foreignKeys", i, "fields"), fk["fields"]))
    for at, columns in keys:
        for j, column in enumerate(columns):
            if column not in names:
                line, col = loaded.where((*at, j))
                raise _fail(
                    path,
                    line,
                    col,
                    f"{_label(at)} names '{column}', which is not a field",
                    "name a column of `fields:`",
                )
    fks = tuple(
        ForeignKey(
            fields=tuple(fk["fields"]),
            ref_table=fk["reference"]["resource"],
            ref_fields=tuple(fk["reference"]["fields"]),
        )
        for fk in raw.get("foreignKeys") or []
    )
    return Table(
        name=raw["name"],
        title=raw["title"],
        description=raw["description"],
        fields=tuple(fields),
        primary_key=tuple(raw["primaryKey"]),
        foreign_keys=fks,
    )


def load_schema(root: Path | None = None) -> Schema:
    """Load ``schema/``: the four tables, the vocabularies and the package metadata.

    Every file is checked against its meta-schema (``schema/meta/``) first.

    Args:
        root: The schema directory; default :func:`default_root`.

    Returns:
        The schema, tables in :data:`TABLE_ORDER`, vocabularies resolved into the fields.

    Raises:
        FactpackError: a file is missing or malformed (:class:`SchemaFileError`: with its
            line and a fix).
    """
    root = Path(root) if root is not None else default_root()
    vocab_path = root / "vocabularies.yaml"
    package_path = root / "package.yaml"
    vocabularies = _load_vocabularies(vocab_path)
    table_paths = [root / "tables" / f"{name}.yaml" for name in TABLE_ORDER]
    tables = {
        name: _load_table(path, vocabularies)
        for name, path in zip(TABLE_ORDER, table_paths, strict=True)
    }
    package, _ = _read_yaml(package_path, "package.yaml")
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
    article["properties"]["text_policy"] = {
        "title": "text_policy",
        "description": TEXT_POLICY_HELP,
        "type": ["string", "null"],
        "enum": [*TEXT_POLICIES, None],
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


def check_annotation_schema(root: Path | None = None) -> Path:
    """Return the path of the committed annotation JSON Schema when it is up to date.

    Raises:
        FactpackError: it is missing or differs from what :func:`annotation_json_text` derives.
    """
    path = annotation_schema_path(root)
    text = annotation_json_text(load_schema(root))
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        raise FactpackError(f"{display_path(path)}: out of date; run `factpack schema --write`")
    return path


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
