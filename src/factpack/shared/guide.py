"""Generate the reference sections of docs/annotation-guide.md from ``schema/``.

The field tables and the controlled vocabularies (definitions and examples from
``schema/vocabularies.yaml``) are rendered between marker comments in the guide, so the guide
cannot drift from the schema: ``factpack guide --write`` rewrites them, ``--check`` (and a
test) fails when the committed guide differs.
"""

from __future__ import annotations

import re
from pathlib import Path

from factpack.shared.problems import FactpackError
from factpack.shared.schema import DERIVED_COLUMNS, Schema

GUIDE_PATH = Path(__file__).resolve().parents[3] / "docs" / "annotation-guide.md"
SECTIONS = ("fields", "vocabularies")


def _begin(name: str) -> str:
    return f"<!-- BEGIN GENERATED {name}: `factpack guide --write` from schema/; do not edit -->"


def _end(name: str) -> str:
    return f"<!-- END GENERATED {name} -->"


def _cell(value: object) -> str:
    text = " ".join(str(value if value is not None else "").split())
    return text.replace("|", "\\|")


def render_fields(schema: Schema) -> str:
    """Return the Markdown tables of the annotation's fields, one per section."""
    out: list[str] = []
    extra = {
        "quote": ("yes", "selector", "The evidence: `{exact, prefix, suffix}` (see Quotes)."),
        "note": ("", "string", "Free-text annotator note (not published)."),
    }
    for section, table_name in (
        ("article", "articles"),
        ("sources[]", "sources"),
        ("events[]", "events"),
        ("claims[]", "claims"),
    ):
        table = schema.table(table_name)
        out += [
            f"#### `{section}`",
            "",
            "| field | required | type | meaning |",
            "|---|---|---|---|",
        ]
        for f in table.fields:
            if f.name in DERIVED_COLUMNS[table_name]:
                continue
            kind = f"`{f.vocabulary}`" if f.vocabulary else f.type
            out.append(
                f"| `{f.name}` | {'yes' if f.required else ''} | {kind} | {_cell(f.description)} |"
            )
        if table_name == "articles":
            out.append(
                "| `furniture` |  | list of selectors | Page furniture in the text (navigation, "
                "adverts, 'Most read' lists); no event or claim evidence may lie inside it. |"
            )
        else:
            req, kind, meaning = extra["quote"]
            out.append(f"| `quote` | {req} | {kind} | {meaning} |")
        req, kind, meaning = extra["note"]
        out += [f"| `note` | {req} | {kind} | {meaning} |", ""]
    return "\n".join(out).rstrip("\n")


def render_vocabularies(schema: Schema) -> str:
    """Return the Markdown reference of every controlled vocabulary."""
    used_by: dict[str, list[str]] = {}
    for table in schema.tables.values():
        for f in table.fields:
            if f.vocabulary:
                used_by.setdefault(f.vocabulary, []).append(f"`{table.name}.{f.name}`")
    out: list[str] = []
    for name, vocab in schema.vocabularies.items():
        out += [f"### `{name}`", "", _cell(vocab.description)]
        if name in used_by:
            out[-1] += " Used by " + ", ".join(used_by[name]) + "."
        out.append("")
        has_parent = any("parent" in v for v in vocab.values.values())
        if has_parent:
            out += ["| value | event type | definition | example |", "|---|---|---|---|"]
        else:
            out += ["| value | definition | example |", "|---|---|---|"]
        for value, info in vocab.values.items():
            example = _cell(info.get("example", ""))
            example = f"“{example}”" if example else "—"
            parent = f" {_cell(info.get('parent', ''))} |" if has_parent else ""
            out.append(f"| `{value}` |{parent} {_cell(info.get('definition', ''))} | {example} |")
        out.append("")
    return "\n".join(out).rstrip("\n")


def render(schema: Schema, guide: str) -> str:
    """Return ``guide`` with every generated section replaced by its rendering from ``schema``.

    Raises:
        FactpackError: a section's markers are missing.
    """
    renderers = {"fields": render_fields, "vocabularies": render_vocabularies}
    for name in SECTIONS:
        pattern = re.compile(re.escape(_begin(name)) + r"\n.*?" + re.escape(_end(name)), re.S)
        if not pattern.search(guide):
            raise FactpackError(
                f"docs/annotation-guide.md: the markers of the generated {name} section are "
                f"missing; restore the lines {_begin(name)!r} and {_end(name)!r}"
            )
        body = f"{_begin(name)}\n{renderers[name](schema)}\n{_end(name)}"
        match = pattern.search(guide)
        assert match is not None
        guide = guide[: match.start()] + body + guide[match.end() :]
    return guide
