"""Generate the reference sections of docs/annotation-guide.md from ``schema/``.

The field tables, the controlled vocabularies (definitions and examples from
``schema/vocabularies.yaml``) and the section on double annotation and adjudication are
rendered between marker comments in the guide, so the guide
cannot drift from the schema: ``factpack guide --write`` rewrites them, ``--check`` (and a
test) fails when the committed guide differs.
"""

from __future__ import annotations

import re
from pathlib import Path

from factpack.shared.problems import FactpackError, display_path
from factpack.shared.schema import (
    DERIVED_COLUMNS,
    TEXT_POLICY_HELP,
    Schema,
    annotation_json_schema,
)

GUIDE_PATH = Path(__file__).resolve().parents[3] / "docs" / "annotation-guide.md"
SECTIONS = ("fields", "vocabularies", "adjudication")


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
            policy = _cell(TEXT_POLICY_HELP)
            out.append(f"| `text_policy` |  | `include` or `withhold` | {policy} |")
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


ADJUDICATION_INTRO = """\
## Double annotation and adjudication

An article can be annotated independently by several people; how far they agree says how
reliable the codes are, and settling their disagreements is how the errors one coder alone
does not see are caught.

1. **Each annotator annotates alone**, from the text, this guide and
   [annotation-format.md](annotation-format.md), without seeing another annotation. Their file
   is `seeds/annotators/<name>/<stem>.yaml` (the text stays `seeds/<stem>.txt`; `<name>` is
   lower-case letters, digits, `_` and `-`). `factpack check` checks these files too.
2. **Measure agreement** with `factpack agree` (or `factpack agree --json`) before anything is
   settled. Per table it gives span precision, recall and F1 (exact, and overlapping: items are
   matched one-to-one by greatest overlap of their quotes), Krippendorff's alpha (nominal) and
   raw agreement for every coded field of the matched items, and the agreement of their
   references (claim -> source, claim -> event, `responds_to`). Alpha over fewer than 10
   matched items, or over one category only, is shown as `n/a (k items)`.
3. **Adjudicate**: the published annotation `seeds/<stem>.yaml` (the only one the build
   reads) settles every disagreement. Each decision is a note in its top-level `adjudication:`
   list: the item(s), what was decided and why. What the text leaves open (the publication
   date, and every date given relative to it) is settled from dated outside reports of the
   same events, cited under `evidence` (outlet, headline, date, address); such a value keeps
   its basis `inferred`. Check events against ACLED's rule of one event per incident, date and
   place.

```yaml
adjudication:
  - items: [E2]
    decision: date_start 2023-05-03
    reason: >-
      The annotators disagreed on the day; "on Wednesday" counts from the publication date,
      which outside reports of the same incident fix.
    evidence:
      - title: "Headline of the report"
        publisher: The outlet
        date: "2023-05-03"
        url: https://example.org/report
```
"""


def _schema_rows(definition: dict[str, object]) -> list[str]:
    props = definition.get("properties")
    required = definition.get("required")
    assert isinstance(props, dict) and isinstance(required, list)
    rows = []
    for name, prop in props.items():
        kind = prop.get("type", "")
        kinds = [kind] if isinstance(kind, str) else [k for k in kind if k != "null"]
        shown = "/".join("list" if k == "array" else k for k in kinds) or "selector"
        rows.append(
            f"| `{name}` | {'yes' if name in required else ''} | {shown} | "
            f"{_cell(prop.get('description', ''))} |"
        )
    return rows


def render_adjudication(schema: Schema) -> str:
    """Return the guide's section on double annotation and adjudication.

    The prose is fixed; the tables of an adjudication note and of a citation are generated from
    the annotation JSON Schema (:func:`factpack.shared.schema.annotation_json_schema`).
    """
    defs = annotation_json_schema(schema)["$defs"]
    out = [ADJUDICATION_INTRO.rstrip("\n"), "", "#### `adjudication[]`", ""]
    out += ["| field | required | type | meaning |", "|---|---|---|---|"]
    out += _schema_rows(defs["adjudication_note"])
    out += ["", "#### `adjudication[].evidence[]`", ""]
    out += ["| field | required | type | meaning |", "|---|---|---|---|"]
    out += _schema_rows(defs["citation"])
    return "\n".join(out)


def render(schema: Schema, guide: str) -> str:
    """Return ``guide`` with every generated section replaced by its rendering from ``schema``.

    Raises:
        FactpackError: a section's markers are missing.
    """
    renderers = {
        "fields": render_fields,
        "vocabularies": render_vocabularies,
        "adjudication": render_adjudication,
    }
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


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FactpackError(
            f"{display_path(path)}: cannot read the guide ({exc.strerror}); restore it from git"
        ) from exc


def rendered(schema: Schema, path: Path = GUIDE_PATH) -> str:
    """Return the guide at ``path`` with its generated sections rendered from ``schema``."""
    return render(schema, _read(path))


def check(schema: Schema, path: Path = GUIDE_PATH) -> Path:
    """Return ``path`` when its generated sections match ``schema``.

    Raises:
        FactpackError: they differ (or the guide cannot be read).
    """
    if rendered(schema, path) != _read(path):
        raise FactpackError(f"{display_path(path)}: out of date; run `factpack guide --write`")
    return path


def write(schema: Schema, path: Path = GUIDE_PATH) -> tuple[Path, bool]:
    """Rewrite the generated sections of the guide at ``path`` from ``schema``.

    Returns:
        The path and whether its content changed.
    """
    old = _read(path)
    new = render(schema, old)
    if new != old:
        try:
            path.write_text(new, encoding="utf-8", newline="\n")
        except OSError as exc:
            raise FactpackError(
                f"{display_path(path)}: cannot write the guide ({exc.strerror}); "
                "check the permissions"
            ) from exc
    return path, new != old
