"""The data card: ``README.md`` of a release, rendered from ``pipeline/templates/card.md.j2``.

:func:`data_card` gathers the values (from ``schema/`` and the build) and the template lays
them out; the card's sections that other parts of the build add live in
``pipeline/templates/card/`` (each sees the whole context, ``extra`` for its own data).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import jinja2

from factpack import __version__
from factpack.pipeline.package import EXAMPLE_QUERIES, _authors, release_name
from factpack.shared.schema import Schema, data_dictionary

HIVE_DEFAULT = "__HIVE_DEFAULT_PARTITION__"


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """Return the Jinja environment of ``pipeline/templates``.

    Autoescape is off: the card is Markdown, where HTML entities would show as such in a text
    viewer (the site's HTML templates escape everything).
    """
    return jinja2.Environment(
        loader=jinja2.PackageLoader("factpack.pipeline", "templates"),
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )


def layer4_text(sampled: bool) -> str:
    """How the build checked the finished package, for the data card."""
    if sampled:
        return (
            "a routine build: `frictionless validate` on a sample of every table's rows, the "
            "Parquet files equal to the CSV files row for row, sha256 of every file; not yet "
            "the full check, which `factpack validate` and `make release` run"
        )
    return (
        "in full: `frictionless validate` of every CSV row, primary and foreign keys "
        "included, the Parquet files equal to the CSV files row for row and read by "
        "frictionless on a sample, sha256 of every file"
    )


def partition_rows(
    partitions: Mapping[str, Sequence[str]] | None,
) -> list[tuple[str, str, int]]:
    """Return (table, its years, its file count) of the partitioned copy ([] without one).

    Args:
        partitions: Table -> its partition files
            (:func:`factpack.pipeline.partition.partition_files`).
    """
    rows = []
    for table, files in (partitions or {}).items():
        years = sorted({f.split("/year=", 1)[1].split("/", 1)[0] for f in files})
        shown = ", ".join("none" if y == HIVE_DEFAULT else y for y in years)
        rows.append((table, shown or "-", len(files)))
    return rows


def formula_summary(formulas: Sequence[tuple[str, str, str, str]]) -> dict[str, Any] | None:
    """Return the count and places (```table.column` (n), ...``) of CSV cells a spreadsheet
    would run as formulas (:func:`factpack.pipeline.formulas.formula_cells`); None when none."""
    if not formulas:
        return None
    where: dict[str, int] = {}
    for table, _, column, _ in formulas:
        where[f"`{table}.{column}`"] = where.get(f"`{table}.{column}`", 0) + 1
    return {"count": len(formulas), "where": ", ".join(f"{k} ({v})" for k, v in where.items())}


EXTRA_DEFAULTS: Mapping[str, Any] = {
    "hf_header": "",
    "other_clients": "",
    "facts": None,
    "data_bytes": None,
    "coverage": "",
    "keywords": [],
    "annotation": None,
    "changelog": "",
    "text": None,
}
"""``extra`` of a card rendered without the build's values (each section then says so)."""


def text_summary(schema: Schema, articles: Any) -> dict[str, Any]:
    """Return what the card's distribution section says of the texts: the package's policy,
    the articles, how many of their texts the release withholds (``text`` null) and the id
    of the first of those (the example of the hydrate instructions).

    Args:
        schema: The schema (its ``text_policy``).
        articles: The articles table as published (``pyarrow.Table``).
    """
    import pyarrow.compute as pc

    withheld = articles.filter(pc.is_null(articles.column("text"))).column("article_id")
    return {
        "policy": schema.text_policy,
        "articles": int(articles.num_rows),
        "withheld": len(withheld),
        "example": str(withheld[0]) if len(withheld) else "",
    }


DATASHEET_KEYS: Sequence[str] = (
    "motivation",
    "funding",
    "collection",
    "preprocessing",
    "uses",
    "out_of_scope_uses",
    "limitations",
    "contact",
    "errata",
    "versioning",
)
"""The datasheet texts of ``schema/package.yaml`` (``datasheet:``) the card shows."""

NOTHING = "Nothing to say here: `schema/package.yaml` gives no text for it."


def datasheet(package: Mapping[str, Any]) -> dict[str, str]:
    """Return every datasheet text of ``package`` (stripped); :data:`NOTHING` for an empty one
    (the meta-schema requires most of them, so a card never lacks a section silently)."""
    given = package.get("datasheet") or {}
    return {k: " ".join(str(given.get(k) or "").split()) or NOTHING for k in DATASHEET_KEYS}


def annotating(package: Mapping[str, Any]) -> str:
    """Return the contributors with the role ``annotator`` ("the contributors" when none)."""
    people = [
        str(c["title"])
        for c in package.get("contributors") or []
        if c.get("title") and "annotator" in (c.get("roles") or [])
    ]
    return ", ".join(people) or "the contributors"


def _braced(text: str) -> str:
    """BibTeX value text: braces that would unbalance the field are dropped."""
    return text.replace("{", "").replace("}", "")


def bibtex(schema: Schema, authors: Sequence[str], year: str) -> str:
    """Return the release's BibTeX entry (``@misc``).

    Each author is double-braced (``{{factpack contributors}}``): an organisation, not a
    person whose last name BibTeX would take apart. ``doi`` and ``url`` (``homepage``) only
    when ``schema/package.yaml`` gives them.
    """
    pkg = schema.package
    key = re.sub(r"[^A-Za-z0-9]+", "_", release_name(schema)).strip("_")
    cit = pkg.get("citation") or {}
    fields = [
        ("author", " and ".join(f"{{{_braced(a)}}}" for a in authors) or "{the contributors}"),
        ("title", _braced(str(cit.get("title") or pkg.get("title") or pkg["name"]))),
        ("year", year),
        ("version", str(pkg["version"])),
        ("howpublished", "Dataset"),
    ]
    for name in ("doi", "homepage"):
        value = str(pkg.get(name) or "").strip()
        if value:
            fields.append(("url" if name == "homepage" else name, _braced(value)))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@misc{{{key},\n{body}\n}}"


def data_card(
    schema: Schema,
    counts: Mapping[str, int],
    created: str,
    versions: Mapping[str, str],
    formulas: Sequence[tuple[str, str, str, str]] = (),
    sampled: bool = False,
    partitions: Mapping[str, Sequence[str]] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """Return the release's README.md: what, how built, counts, dictionary, query, site, cite.

    Args:
        schema: The loaded ``schema/``.
        counts: Table -> its row count.
        created: The release's ``created`` time.
        versions: Library -> version, named in the card.
        formulas: CSV cells a spreadsheet would run (adds a warning).
        sampled: The build checked the package (layer 4) on a sample, not in full.
        partitions: Table -> its partition files, when the build wrote ``data/partitioned/``.
        extra: Values for the card's added sections (``pipeline/templates/card/``).
    """
    pkg = schema.package
    lic = (pkg.get("licenses") or [{}])[0]
    title = pkg.get("title", pkg["name"])
    authors = _authors(schema)
    return (
        environment()
        .get_template("card.md.j2")
        .render(
            package=pkg,
            description=str(pkg.get("description", "")).strip(),
            release=release_name(schema),
            title=title,
            counts=[(table, counts.get(table, 0)) for table in schema.tables],
            rows_are=[(t.name, t.title, t.description) for t in schema.tables.values()],
            datasheet=datasheet(pkg),
            contributors_annotating=annotating(pkg),
            created=created,
            factpack_version=__version__,
            versions=", ".join(f"{k} {v}" for k, v in sorted(versions.items())),
            layer4=layer4_text(sampled),
            partitions=partition_rows(partitions),
            formulas=formula_summary(formulas),
            queries=list(EXAMPLE_QUERIES),
            dictionary=data_dictionary(schema),
            authors=", ".join(authors) or "the contributors",
            bibtex=bibtex(schema, authors, created[:4]),
            year=created[:4],
            license_name=lic.get("name", "see datapackage.json"),
            license_title=lic.get("title"),
            extra={**EXTRA_DEFAULTS, **(extra or {})},
        )
    )
