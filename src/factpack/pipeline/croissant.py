"""``croissant.json``: the release described in MLCommons Croissant 1.1 (JSON-LD).

Every data file is a ``cr:FileObject`` with its sha256 (Parquet as ``application/x-parquet``,
the media type mlcroissant 1.1 reads; CSV as ``text/csv``); every table is a ``cr:RecordSet``
read from its Parquet file, with its primary key (``key``) and foreign keys (``references``).
A foreign key from a table to itself (``claims.responds_to -> claims.claim_id``) is not
declared: mlcroissant 1.1 cannot load a RecordSet that references itself; the field's
description names the key instead (the build checks it, layer 3).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from factpack.shared.schema import Schema, Table

CROISSANT_FILE = "croissant.json"
CONFORMS_TO = "http://mlcommons.org/croissant/1.1"
PARQUET_MEDIA_TYPE = "application/x-parquet"
"""Parquet as mlcroissant 1.1 knows it (it does not read ``application/vnd.apache.parquet``)."""
CSV_MEDIA_TYPE = "text/csv"

CONTEXT: Mapping[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "arrayShape": "cr:arrayShape",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "containedIn": "cr:containedIn",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isArray": "cr:isArray",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}
"""The JSON-LD context of Croissant 1.1 documents (the terms the spec defines)."""

DATA_TYPES: Mapping[str, str] = {
    "string": "sc:Text",
    "integer": "sc:Integer",
    "number": "sc:Float",
    "boolean": "sc:Boolean",
    "date": "sc:Date",
    "datetime": "sc:DateTime",
}
"""Croissant ``dataType`` of each Frictionless field type."""


def file_object(rel: str, sha256: str) -> dict[str, Any]:
    """Return the ``cr:FileObject`` of the release file ``rel`` (e.g. ``data/claims.parquet``)."""
    name = rel.rsplit("/", 1)[-1]
    parquet = name.endswith(".parquet")
    return {
        "@type": "cr:FileObject",
        "@id": name,
        "name": name,
        "description": f"{'Parquet' if parquet else 'CSV'} file of the release: {rel}.",
        "contentUrl": rel,
        "encodingFormat": PARQUET_MEDIA_TYPE if parquet else CSV_MEDIA_TYPE,
        "sha256": sha256,
    }


def record_set(table: Table) -> dict[str, Any]:
    """Return the ``cr:RecordSet`` of a table, read from ``data/<table>.parquet``."""
    references = {
        fk.fields[0]: fk for fk in table.foreign_keys if len(fk.fields) == 1 and fk.ref_table
    }
    fields = []
    for f in table.fields:
        description = f.description
        out: dict[str, Any] = {
            "@type": "cr:Field",
            "@id": f"{table.name}/{f.name}",
            "name": f.name,
            "dataType": DATA_TYPES[f.type],
            "source": {
                "fileObject": {"@id": f"{table.name}.parquet"},
                "extract": {"column": f.name},
            },
        }
        fk = references.get(f.name)
        if fk is not None and fk.ref_table == table.name:
            description += (
                f" References {fk.ref_table}.{fk.ref_fields[0]} (not declared as `references`: "
                "mlcroissant cannot load a RecordSet that references itself; the build checks it)."
            )
        elif fk is not None:
            out["references"] = {"field": {"@id": f"{fk.ref_table}/{fk.ref_fields[0]}"}}
        out["description"] = description
        fields.append(out)
    key = [{"@id": f"{table.name}/{k}"} for k in table.primary_key]
    return {
        "@type": "cr:RecordSet",
        "@id": table.name,
        "name": table.name,
        "description": table.description,
        "key": key[0] if len(key) == 1 else key,
        "field": fields,
    }


def croissant(
    schema: Schema, digests: Mapping[str, str], created: str, url: str | None = None
) -> dict[str, Any]:
    """Return the Croissant 1.1 description of a release.

    Args:
        schema: The schema (tables, package metadata).
        digests: sha256 of ``data/<table>.parquet`` and ``data/<table>.csv`` (relative path ->
            hex); every one must be there.
        created: The release's creation time (ISO 8601), its ``datePublished``.
        url: The dataset's address (``homepage`` of ``schema/package.yaml``); left out when
            None.
    """
    pkg = schema.package
    distribution = [
        file_object(f"data/{name}.{fmt}", digests[f"data/{name}.{fmt}"])
        for fmt in ("parquet", "csv")
        for name in schema.tables
    ]
    licenses = pkg.get("licenses") or []
    authors = [a["name"] for a in (pkg.get("citation") or {}).get("authors") or [] if a.get("name")]
    doc: dict[str, Any] = {
        "@context": dict(CONTEXT),
        "@type": "sc:Dataset",
        "conformsTo": CONFORMS_TO,
        "name": pkg["name"],
        "alternateName": pkg.get("title") or pkg["name"],
        "description": str(pkg.get("description") or "").strip(),
        "version": str(pkg["version"]),
        "datePublished": created,
        "keywords": list(pkg.get("keywords") or []),
        "creator": [{"@type": "sc:Organization", "name": a} for a in authors],
        "license": [lic.get("path") or lic["name"] for lic in licenses],
        "distribution": distribution,
        "recordSet": [record_set(t) for t in schema.tables.values()],
    }
    if url:
        doc["url"] = url
    doc["citeAs"] = cite_as(schema, created)
    return doc


def cite_as(schema: Schema, created: str) -> str:
    """Return the release's citation as one line of text (authors, year, title, version)."""
    pkg = schema.package
    cit = pkg.get("citation") or {}
    authors = [a["name"] for a in cit.get("authors") or [] if a.get("name")]
    title = cit.get("title") or pkg.get("title") or pkg["name"]
    doi = f" https://doi.org/{pkg['doi']}" if pkg.get("doi") else ""
    return (
        f"{', '.join(authors) or 'the contributors'} ({created[:4]}). {title}, "
        f"version {pkg['version']} [dataset].{doi}"
    )
