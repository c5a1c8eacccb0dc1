"""One article's rows, and all articles assembled into Arrow tables.

Column names, types and order come from ``schema/`` (:mod:`factpack.shared.schema`); this module
only maps an annotation (:class:`factpack.pipeline.article.Article`) onto them: global ids
``<article_id>:<local id>``, evidence columns from the resolved spans, ``start_utc`` from the
local date, time and IANA zone, and the article's text, length and sha256.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pyarrow as pa
import pyarrow.compute as pc

from factpack.pipeline.article import Article
from factpack.shared.problems import FactpackError
from factpack.shared.schema import DERIVED_COLUMNS, TABLE_ORDER, Schema, Table, arrow_schema

Row = dict[str, Any]

ID_COLUMNS = frozenset({"source_id", "event_id", "claim_id", "responds_to"})
"""Columns that hold a local id in the annotation and a global id in the tables."""

SECTION_ID = {"sources": "source_id", "events": "event_id", "claims": "claim_id"}
"""The local-id key of each annotation section."""


def global_id(article_id: str, local_id: str | None) -> str | None:
    """Return ``<article_id>:<local_id>`` (None stays None)."""
    return None if local_id is None else f"{article_id}:{local_id}"


def start_utc(date: str | None, time_local: str | None, timezone: str | None) -> dt.datetime | None:
    """Return the UTC instant of a local date + ``HH:MM`` in an IANA zone; None if any is missing.

    Raises:
        FactpackError: the zone is unknown or the date or time malformed.
    """
    if not (date and time_local and timezone):
        return None
    try:
        zone = ZoneInfo(timezone)
        hh, mm = (int(x) for x in time_local.split(":"))
        local = dt.datetime.combine(dt.date.fromisoformat(date), dt.time(hh, mm), tzinfo=zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise FactpackError(
            f"cannot derive start_utc from {date} {time_local} {timezone}: {exc}"
        ) from exc
    return local.astimezone(dt.UTC)


def _cell(table: Table, name: str, value: Any, article_id: str) -> Any:
    if value is None:
        return None
    if name in ID_COLUMNS:
        return global_id(article_id, str(value))
    if table.field(name).type == "date" and isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError as exc:
            raise FactpackError(f"{table.name}.{name}: {value!r} is not a YYYY-MM-DD date") from exc
    return value


_PLAIN, _ID, _DATE, _DERIVED = range(4)
_PLANS: dict[int, tuple[Table, tuple[tuple[str, int], ...]]] = {}


def _plan(table: Table) -> tuple[tuple[str, int], ...]:
    """Each column of ``table`` in schema order, with how its cell is made (computed once)."""
    cached = _PLANS.get(id(table))
    if cached is not None and cached[0] is table:
        return cached[1]
    derived = DERIVED_COLUMNS[table.name]
    plan = tuple(
        (
            f.name,
            _DERIVED
            if f.name in derived
            else _ID
            if f.name in ID_COLUMNS
            else _DATE
            if f.type == "date"
            else _PLAIN,
        )
        for f in table.fields
    )
    _PLANS[id(table)] = (table, plan)
    return plan


def _section_rows(article: Article, table: Table) -> list[Row]:
    section = table.name
    id_key = SECTION_ID[section]
    plan = _plan(table)
    article_id = article.article_id
    text = article.text
    rows = []
    for item in article.doc.get(section) or []:
        start, end = article.spans[(section, str(item[id_key]))]
        derived: Row = {
            "article_id": article_id,
            "evidence_text": text[start:end],
            "char_start": start,
            "char_end": end,
        }
        row: Row = {}
        for name, kind in plan:
            if kind == _DERIVED:
                if name == "start_utc":
                    row[name] = start_utc(
                        item.get("date_start"), item.get("time_local"), item.get("timezone")
                    )
                else:
                    row[name] = derived.get(name)
                continue
            value = item.get(name)
            if value is None or kind == _PLAIN:
                row[name] = value
            elif kind == _ID:
                row[name] = f"{article_id}:{value}"
            else:
                row[name] = _cell(table, name, value, article_id)
        rows.append(row)
    return rows


def _article_row(article: Article, table: Table) -> Row:
    meta = article.doc.get("article") or {}
    derived = DERIVED_COLUMNS["articles"]
    row: Row = {
        f.name: _cell(table, f.name, meta.get(f.name), article.article_id)
        for f in table.fields
        if f.name not in derived
    }
    row["article_id"] = article.article_id
    row["text"] = article.text
    row["char_count"] = len(article.text)
    row["text_sha256"] = hashlib.sha256(article.text.encode("utf-8")).hexdigest()
    return {name: row.get(name) for name in table.field_names}


POLICY_COLUMN = "__text_policy"
"""Build-only column of the articles table: the article's own ``text_policy`` (null: the
package's). It travels with the rows (and the cache: it depends only on the annotation) until
:func:`apply_text_policy` drops it; no published table has it."""


def build_arrow_schema(table: Table) -> Any:
    """The Arrow schema of a table inside the build: :func:`arrow_schema`, plus
    :data:`POLICY_COLUMN` for the articles."""
    schema = arrow_schema(table)
    if table.name == "articles":
        schema = schema.append(pa.field(POLICY_COLUMN, pa.string()))
    return schema


def apply_text_policy(articles: pa.Table, default: str) -> tuple[pa.Table, pa.Table, int]:
    """Split the build's articles table into the checked and the published one.

    Args:
        articles: The articles table as the build holds it (with :data:`POLICY_COLUMN`).
        default: The package's text policy (:attr:`factpack.shared.schema.Schema.text_policy`).

    Returns:
        The articles with every text (what layers 2 and 3 check evidence against), the articles
        as published (``text`` null where the article's policy, or else ``default``, is
        ``withhold``) and how many texts are withheld.
    """
    full = articles.drop_columns([POLICY_COLUMN])
    policy = pc.fill_null(articles.column(POLICY_COLUMN), pa.scalar(default, pa.string()))
    withheld = pc.equal(policy, "withhold")
    count = int(pc.sum(withheld).as_py() or 0)
    if not count:
        return full, full, 0
    at = full.schema.get_field_index("text")
    text = pc.if_else(withheld, pa.nulls(full.num_rows, pa.string()), full.column("text"))
    published = full.set_column(at, full.schema.field(at), text).combine_chunks()
    return full, published, count


def article_rows(article: Article, schema: Schema) -> dict[str, list[Row]]:
    """Return one article's rows per table, with the schema's column names in schema order.

    Args:
        article: The loaded article (spans resolved).
        schema: The loaded ``schema/``.

    Returns:
        ``{"articles": [row], "sources": [...], "events": [...], "claims": [...]}``.
    """
    row = _article_row(article, schema.table("articles"))
    row[POLICY_COLUMN] = (article.doc.get("article") or {}).get("text_policy")
    out: dict[str, list[Row]] = {"articles": [row]}
    for name in TABLE_ORDER[1:]:
        out[name] = _section_rows(article, schema.table(name))
    return out


def article_tables(
    rows_per_article: Iterable[Mapping[str, list[Row]]], schema: Schema
) -> dict[str, pa.Table]:
    """Return the given articles' rows as one Arrow table per table (unsorted).

    Raises:
        FactpackError: a value does not fit its column's Arrow type.
    """
    collected: dict[str, list[Row]] = {name: [] for name in schema.tables}
    for rows in rows_per_article:
        for name in schema.tables:
            collected[name].extend(rows.get(name, []))
    out: dict[str, pa.Table] = {}
    for name, table in schema.tables.items():
        try:
            out[name] = pa.Table.from_pylist(collected[name], schema=build_arrow_schema(table))
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise FactpackError(f"{name}: a value does not fit its column type: {exc}") from exc
    return out


def combine_table(parts: Iterable[pa.Table], table: Table) -> pa.Table:
    """Concatenate one table's pieces, sort by primary key (reading order), one chunk.

    The result depends only on the set of rows, not on the pieces' order or size. At most
    two copies of the table are in memory at once: the pieces (memory-mapped cache files)
    are copied into one chunk and let go before the rows are put in order, a column at a
    time (Arrow's ``take`` of a chunked column would first concatenate it: a third copy).
    Pass the pieces as an iterator nothing else holds (a generator), so they can be let go.
    """
    pieces = [p for p in parts if p.num_rows] or [build_arrow_schema(table).empty_table()]
    arrow = pa.concat_tables(pieces).combine_chunks()
    del pieces
    order = sort_order(arrow, table.primary_key)
    schema = arrow.schema
    columns = arrow.columns
    del arrow
    for i, column in enumerate(columns):
        columns[i] = pa.chunked_array([c.take(order) for c in column.chunks], column.type)
        del column
    return pa.Table.from_arrays(columns, schema=schema)


def combine(pieces: Iterable[Mapping[str, pa.Table]], schema: Schema) -> dict[str, pa.Table]:
    """Concatenate per-article (or per-batch) Arrow tables, sort by primary key, one chunk each.

    Every piece must hold each table with the schema's Arrow schema (:func:`article_tables`).
    The result depends only on the set of rows, not on the pieces' order or size.
    """
    collected: dict[str, list[pa.Table]] = {name: [] for name in schema.tables}
    for piece in pieces:
        for name in schema.tables:
            if name in piece:
                collected[name].append(piece[name])
    return {
        name: combine_table(collected.pop(name), table) for name, table in schema.tables.items()
    }


def assemble(
    rows_per_article: Iterable[Mapping[str, list[Row]]], schema: Schema
) -> dict[str, pa.Table]:
    """Assemble all articles' rows into one Arrow table per table, sorted by primary key.

    The articles keep every text (no text policy applied: see :func:`apply_text_policy`).

    Raises:
        FactpackError: a value does not fit its column's Arrow type.
    """
    tables = combine([article_tables(rows_per_article, schema)], schema)
    tables["articles"] = tables["articles"].drop_columns([POLICY_COLUMN])
    return tables


def sort_order(arrow: pa.Table, primary_key: Sequence[str]) -> pa.Array:
    """Return the row order of ``arrow`` by primary key, in reading order: ``a:C2`` before
    ``a:C10`` (article, then number).

    Global ids are ``<article_id>:<letter><number>``; they are ordered by article id and then by
    the number, so rows keep the order of the annotation file. Other keys sort as strings.
    """
    if list(primary_key) == ["article_id"] or len(primary_key) != 1:
        keys = arrow.select(list(primary_key))
        return pc.sort_indices(keys, [(k, "ascending") for k in primary_key])
    key = arrow.column(primary_key[0])
    number = pc.cast(pc.replace_substring_regex(key, r"^.*:[A-Z]", ""), pa.int64())
    keyed = pa.table({"article": pc.replace_substring_regex(key, r":[^:]*$", ""), "number": number})
    return pc.sort_indices(keyed, [("article", "ascending"), ("number", "ascending")])


def sort_rows(arrow: pa.Table, primary_key: Sequence[str]) -> pa.Table:
    """Return ``arrow`` sorted by primary key in reading order (:func:`sort_order`)."""
    return arrow.take(sort_order(arrow, primary_key))
