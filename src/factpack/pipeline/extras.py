"""The release's files for other clients: ``load.sql``, ``croissant.json``, ``.zenodo.json``,
``CITATION.cff``, and the Hugging Face card header (the schema.org JSON-LD of the site is
:func:`factpack.shared.schemaorg.dataset_jsonld`).

Everything here is a pure function of ``schema/`` and the staged data files but
:func:`write_release_extras`, the one writer, called by the build before ``SHA256SUMS``.
Metadata that ``schema/package.yaml`` does not give (``homepage``, ``repository``, ``doi``) is
left out, never invented; a missing ``homepage`` or ``repository`` is a build warning.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from factpack.pipeline import agreement as agree
from factpack.pipeline import datafacts, versions
from factpack.pipeline.card import text_summary
from factpack.pipeline.croissant import CROISSANT_FILE, croissant
from factpack.pipeline.loadsql import LOAD_SQL, load_sql, self_references
from factpack.pipeline.package import created_timestamp
from factpack.shared import sums
from factpack.shared.problems import display_path
from factpack.shared.schema import Schema
from factpack.shared.schemaorg import Coverage
from factpack.shared.yamlload import load_yaml

ZENODO_FILE = ".zenodo.json"
AGREEMENT_FILE = "agreement.json"
CITATION_FILE = "CITATION.cff"
CARD_FILE = "README.md"

SIZE_CATEGORIES: Sequence[tuple[int, str]] = (
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
    (1_000_000_000, "100M<n<1B"),
)
"""Hugging Face ``size_categories`` by number of rows (upper bound, exclusive)."""


def duckdb_file_name(schema: Schema) -> str:
    """Return the name of the release's DuckDB file (``<name>.duckdb``)."""
    return f"{schema.package['name']}.duckdb"


def _authors(schema: Schema) -> list[str]:
    cit = schema.package.get("citation") or {}
    return [str(a["name"]) for a in cit.get("authors") or [] if a.get("name")]


def _licence(schema: Schema) -> Mapping[str, Any]:
    return (schema.package.get("licenses") or [{}])[0]


def _text(value: Any) -> str | None:
    """A metadata value of package.yaml as text; None when absent or empty."""
    return str(value).strip() or None if value is not None else None


def size_category(rows: int) -> str:
    """Return the Hugging Face ``size_categories`` value for ``rows`` rows."""
    for bound, label in SIZE_CATEGORIES:
        if rows < bound:
            return label
    return "n>1T"


def hf_card_metadata(
    schema: Schema, cover: Coverage, keywords: Sequence[str] | None = None
) -> dict[str, Any]:
    """Return the Hugging Face dataset card metadata (the README's YAML header) as a dict.

    Licence (lower-case SPDX id), languages of the articles, size category of the largest
    table, ``task_categories`` and ``tags`` from ``schema/package.yaml``, and ``configs``: one
    per table reading ``data/<table>.parquet``, so ``datasets.load_dataset(<release folder>,
    "claims")`` returns the claims table.
    """
    pkg = schema.package
    meta: dict[str, Any] = {}
    licence = _text(_licence(schema).get("name"))
    if licence:
        meta["license"] = licence.lower()
    if cover.languages:
        meta["language"] = list(cover.languages)
    meta["pretty_name"] = str(pkg.get("title") or pkg["name"])
    meta["size_categories"] = [size_category(max(cover.rows.values(), default=0))]
    tasks = [str(t) for t in pkg.get("task_categories") or []]
    if tasks:
        meta["task_categories"] = tasks
    tags = list(keywords) if keywords is not None else [str(k) for k in pkg.get("keywords") or []]
    if tags:
        meta["tags"] = tags
    meta["configs"] = [
        {
            "config_name": name,
            "data_files": [{"split": "train", "path": f"data/{name}.parquet"}],
        }
        for name in schema.tables
    ]
    return meta


def hf_card_header(schema: Schema, cover: Coverage, keywords: Sequence[str] | None = None) -> str:
    """Return the data card's YAML header (``---`` lines included) of :func:`hf_card_metadata`
    (``keywords``: the tags; default the maintainers' keywords of package.yaml)."""
    body = yaml.safe_dump(
        hf_card_metadata(schema, cover, keywords), sort_keys=False, allow_unicode=True, width=1000
    )
    return f"---\n{body}---\n"


def _abstract(pkg: Mapping[str, Any], facts: datafacts.DataFacts | None) -> str | None:
    text = _text(pkg.get("description"))
    if facts is None:
        return text
    return " ".join(t for t in (text, datafacts.coverage_sentence(facts)) if t)


def citation_cff(schema: Schema, created: str, facts: datafacts.DataFacts | None = None) -> str:
    """Return the release's CITATION.cff (Citation File Format 1.2.0, type dataset).

    Version, ``date-released``, ``url`` (``homepage``), ``repository-code`` (``repository``)
    and ``doi`` (reserved for this version) when ``schema/package.yaml`` gives them. With
    ``facts`` (the data's), the abstract ends with the coverage and the keywords add the event
    types present.
    """
    pkg = schema.package
    cit = pkg.get("citation") or {}
    cff: dict[str, Any] = {
        "cff-version": "1.2.0",
        "message": "If you use this dataset, please cite it as below.",
        "type": "dataset",
        "title": str(cit.get("title") or pkg.get("title") or pkg["name"]),
        "version": str(pkg["version"]),
        "date-released": created[:10],
        "authors": [{"name": a} for a in _authors(schema)],
    }
    optional = {
        "doi": _text(pkg.get("doi")),
        "license": _text(_licence(schema).get("name")),
        "abstract": _abstract(pkg, facts),
        "url": _text(pkg.get("homepage")),
        "repository-code": _text(pkg.get("repository")),
    }
    cff.update({k: v for k, v in optional.items() if v})
    keywords = (
        datafacts.keywords(pkg, facts) if facts else [str(k) for k in pkg.get("keywords") or []]
    )
    if keywords:
        cff["keywords"] = keywords
    return yaml.safe_dump(cff, sort_keys=False, allow_unicode=True, width=1000)


def zenodo_metadata(schema: Schema, created: str) -> dict[str, Any]:
    """Return a Zenodo deposit's metadata (``.zenodo.json``) for the release.

    Upload type dataset, title, creators, description, version, publication date, licence,
    keywords, the reserved ``doi`` when ``schema/package.yaml`` has one, and related
    identifiers: the homepage (``isDocumentedBy``) and the code repository that compiled the
    release (``isCompiledBy``), each only when given.
    """
    pkg = schema.package
    meta: dict[str, Any] = {
        "upload_type": "dataset",
        "title": str(pkg.get("title") or pkg["name"]),
        "creators": [{"name": a} for a in _authors(schema)],
        "description": str(pkg.get("description") or "").strip(),
        "version": str(pkg["version"]),
        "publication_date": created[:10],
        "access_right": "open",
    }
    licence = _text(_licence(schema).get("name"))
    if licence:
        meta["license"] = licence.lower()
    keywords = [str(k) for k in pkg.get("keywords") or []]
    if keywords:
        meta["keywords"] = keywords
    doi = _text(pkg.get("doi"))
    if doi:
        meta["doi"] = doi
    related = []
    homepage, repository = _text(pkg.get("homepage")), _text(pkg.get("repository"))
    if homepage:
        related.append({"identifier": homepage, "relation": "isDocumentedBy"})
    if repository:
        related.append(
            {"identifier": repository, "relation": "isCompiledBy", "resource_type": "software"}
        )
    if related:
        meta["related_identifiers"] = related
    return meta


def card_paragraphs(schema: Schema) -> list[str]:
    """Return the data card's Markdown lines on load.sql, the .duckdb, frictionless,
    SHA256SUMS, Hugging Face ``datasets`` and croissant.json (for the card's maintainer)."""
    db = duckdb_file_name(schema)
    undeclared = ", ".join(f"`{s}`" for s in self_references(schema))
    lines = [
        "## Other clients",
        "",
        f"**DuckDB database.** `load.sql` builds it from the Parquet files, with the column "
        "comments, keys and constraints: from this folder, `duckdb my.duckdb < load.sql` "
        f"(DuckDB 1.x or 2.x). The release folder (not the zip) also holds `{db}`, already "
        "built, in DuckDB storage format v1.2.0 so DuckDB 1.x and 2.x both open it; it is "
        "not in the zip nor in `SHA256SUMS`, as DuckDB never writes the same bytes twice.",
    ]
    if undeclared:
        lines[-1] += (
            f" Not declared as a foreign key in the database: {undeclared} (DuckDB cannot "
            "load or export a table that references itself); the build checked it."
        )
    lines += [
        "",
        '**frictionless.** `pip install "frictionless[parquet]" pandas` (without them every '
        "Parquet resource is reported invalid), then `frictionless validate datapackage.json` "
        "in the unzipped folder: validate the folder, not the zip (frictionless checks only a "
        "zip's first entry). frictionless checks the CSV files' hashes, never a Parquet "
        "file's: `sha256sum -c SHA256SUMS` covers every file, the Parquet files included.",
        "",
        "**Hugging Face `datasets`.** One configuration per table (the YAML header of this "
        'file): `datasets.load_dataset("<this folder>", "claims")` gives the claims table '
        '(split `train`). Read the tables one file at a time: `pyarrow.dataset("data/")` '
        "or a glob over `data/*.parquet` mixes the four tables.",
        "",
        f"**Croissant.** `{CROISSANT_FILE}` describes the release in MLCommons Croissant 1.1 "
        "(every file with its sha256, every table a RecordSet with its key and references): "
        '`mlcroissant.Dataset("croissant.json").records("claims")`.',
    ]
    if undeclared:
        lines[-1] += (
            f" {undeclared} is described but not declared as a reference (mlcroissant cannot "
            "load a RecordSet that references itself)."
        )
    return [*lines, ""]


def annotation_summary(
    report: Mapping[str, Any] | None, notes: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """Return the card's annotation values: annotators, agreement tables, adjudication counts.

    Args:
        report: :func:`factpack.pipeline.agreement.agreement_report` of the annotators' files,
            or None when no article has two or more annotations.
        notes: The adjudication notes of the doubly annotated articles' published annotations
            (carried in ``report``'s ``annotations``, :func:`agreement_of`).

    Returns:
        ``measured`` (bool), ``annotators`` (sorted names), ``articles`` (compared, count),
        ``figures`` (Markdown tables of the figures before adjudication, or ""), ``notes``,
        ``settled`` (items the notes settle), ``evidence`` (outside reports cited) and
        ``cited`` (their publishers, sorted).
    """
    measured = bool(report and report.get("articles"))
    names: set[str] = set()
    for entry in (report or {}).get("articles") or []:
        names.update(entry["annotators"])
    evidence = [e for n in notes for e in n.get("evidence") or [] if isinstance(e, dict)]
    return {
        "measured": measured,
        "annotators": sorted(names),
        "articles": len((report or {}).get("articles") or []),
        "figures": agree.render_text(report, markdown=True).strip() if measured and report else "",
        "notes": len(notes),
        "settled": len({str(i) for n in notes for i in n.get("items") or []}),
        "evidence": len(evidence),
        "cited": sorted({str(e["publisher"]) for e in evidence if e.get("publisher")}),
    }


def agreement_of(seeds_dir: Path | None, schema: Schema) -> dict[str, Any] | None:
    """Return ``agreement.json`` of the annotators' files under ``seeds_dir`` (None when no
    article has two or more annotations, or without ``seeds_dir``)."""
    if seeds_dir is None or not (seeds_dir / "annotators").is_dir():
        return None
    articles, _ = agree.load_annotations(seeds_dir)  # their problems fail `factpack check`
    report = agree.agreement_report(articles, schema)
    if not report.get("articles"):
        return None
    for entry in report.get("annotations") or []:
        # The published annotation's adjudication notes, so the release alone shows how each
        # disagreement was settled (the review site's adjudication page).
        published = seeds_dir / f"{entry['stem']}.yaml"
        doc = load_yaml(published.read_text(encoding="utf-8")).data if published.is_file() else None
        entry["adjudication"] = (
            (doc or {}).get("adjudication") or [] if isinstance(doc, dict) else []
        )
    return report


def data_bytes(release_dir: Path, schema: Schema) -> int:
    """Return the size in bytes of the release's ``data/<table>.parquet`` and ``.csv`` files."""
    return sum(
        (release_dir / "data" / f"{name}.{fmt}").stat().st_size
        for name in schema.tables
        for fmt in ("parquet", "csv")
    )


def card_extra(
    schema: Schema,
    tables: Mapping[str, Any],
    seeds_dir: Path | None = None,
    release_dir: Path | None = None,
) -> dict[str, Any]:
    """Return the data card's ``extra``: HF header, other clients, facts, annotation, changelog.

    Args:
        schema: The schema.
        tables: The release's Arrow tables (table name -> ``pyarrow.Table``).
        seeds_dir: The published annotations (adjudication notes) with ``annotators/``.
        release_dir: The staged release whose ``data/`` files are written (their size).
    """
    facts = datafacts.data_facts(tables)
    report = agreement_of(seeds_dir, schema)
    # Notes live only in the published annotation of a doubly annotated article (the
    # annotation schema says so): agreement_of read them; no other file is parsed again.
    notes = [
        n
        for entry in (report or {}).get("annotations") or []
        for n in entry.get("adjudication") or []
        if isinstance(n, dict)
    ]
    return {
        "hf_header": hf_card_header(schema, facts.cover, datafacts.keywords(schema.package, facts)),
        "other_clients": "\n".join(card_paragraphs(schema)),
        "facts": facts,
        "data_bytes": data_bytes(release_dir, schema) if release_dir is not None else None,
        "coverage": datafacts.coverage_sentence(facts),
        "keywords": datafacts.keywords(schema.package, facts),
        "annotation": annotation_summary(report, notes),
        "changelog": versions.card_section(
            versions.release_changelog(schema), str(schema.package["version"])
        ),
        "text": text_summary(schema, tables["articles"]) if "articles" in tables else None,
    }


def _package_path(schema: Schema) -> str:
    for path in schema.files:
        if path.name == "package.yaml":
            return display_path(path)
    return "schema/package.yaml"


def missing_metadata(schema: Schema) -> list[str]:
    """Return a warning line per optional key of package.yaml the release metadata lacks."""
    where = _package_path(schema)
    out = []
    if not _text(schema.package.get("homepage")):
        out.append(
            f"{where}: no `homepage:`; croissant.json, CITATION.cff, .zenodo.json and the "
            "schema.org Dataset have no url; add the dataset's address"
        )
    if not _text(schema.package.get("repository")):
        out.append(
            f"{where}: no `repository:`; CITATION.cff has no repository-code and "
            ".zenodo.json no isCompiledBy; add the code repository's address"
        )
    return out


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def write_release_extras(out: Path, schema: Schema, seeds_dir: Path | None = None) -> list[str]:
    """Write ``load.sql``, ``croissant.json``, ``.zenodo.json``, ``CITATION.cff`` and, when an
    article has two or more annotations under ``seeds_dir/annotators/``, ``agreement.json``
    into the staged release. The data card (``README.md``) renders its Hugging Face header
    itself (:func:`card_extra`); it is not touched here.

    Args:
        out: The staged release folder (data files, datapackage.json and README.md written).
        schema: The schema.
        seeds_dir: The published annotations, with ``annotators/`` (None: no agreement.json).

    Returns:
        Build warnings (one line each): metadata left out because ``schema/package.yaml``
        does not give it.
    """
    created = created_timestamp(schema)
    # croissant.json's sha256 are read from the staged files, not handed over by their writer.
    rels = [f"data/{name}.{fmt}" for name in schema.tables for fmt in ("parquet", "csv")]
    digests = sums.hash_files(out, rels)
    (out / LOAD_SQL).write_text(load_sql(schema, duckdb_file_name(schema)), encoding="utf-8")
    url = _text(schema.package.get("homepage"))
    (out / CROISSANT_FILE).write_text(_json(croissant(schema, digests, created, url)), "utf-8")
    (out / ZENODO_FILE).write_text(_json(zenodo_metadata(schema, created)), encoding="utf-8")
    facts = datafacts.read_facts(out, schema.tables)
    (out / CITATION_FILE).write_text(citation_cff(schema, created, facts), encoding="utf-8")
    report = agreement_of(seeds_dir, schema)
    if report is not None:
        (out / AGREEMENT_FILE).write_text(_json(report), encoding="utf-8")
    return missing_metadata(schema) + datafacts.facts_warnings(facts, _package_path(schema))
