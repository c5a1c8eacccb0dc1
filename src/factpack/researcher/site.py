"""The review site of a release: static HTML pages generated from the release's own tables.

``build_site(release_dir)`` reads only ``release_dir/datapackage.json``,
``release_dir/data/<table>.parquet`` (and ``agreement.json`` when there) and writes
``release_dir/site/``: ``index.html`` (the dataset at a glance: counts, charts, articles,
data dictionary, how to download, query and cite), ``articles/<article_id>.html`` (the
verbatim text with every evidence span highlighted by kind, beside the list of the article's
sources, events and claims) and ``style.css``.
When the release has ``agreement.json`` (several annotators of an article), each article it
lists also gets ``adjudication/<article_id>.html`` (the annotators' spans side by side, their
disagreements, figures and adjudication notes), linked from its article page; without it the
site is unchanged. ``index.html`` embeds the release's schema.org ``Dataset`` as JSON-LD.
Viewing needs no server and no network; reading works without JavaScript, a small inline
script adds the details popup. The output is deterministic: no timestamps, stable ordering.

The markup lives in Jinja templates (``researcher/templates/*.html.j2``, autoescape on); this
module reads the release, cuts the highlighted text and computes the charts' geometry, and
hands the templates plain values.

This module is on the researcher's side: it never imports the build side.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import hashlib
import html
import itertools
import json
import os
import re
import shutil
import signal
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import jinja2
import jinja2.compiler
from markupsafe import Markup

from factpack.researcher.releases import read_descriptor
from factpack.shared.problems import FactpackError, display_path
from factpack.shared.write import null_count

if TYPE_CHECKING:
    import pyarrow as pa

TABLES = ("articles", "sources", "events", "claims")
# Span kinds in nesting order: at equal extent a claim holds an event, an event a source.
KINDS = ("claim", "event", "source")
KIND_TABLE = {"source": "sources", "event": "events", "claim": "claims"}
ID_COLUMN = {"sources": "source_id", "events": "event_id", "claims": "claim_id"}
# Columns the side list does not repeat: shown elsewhere (heading, highlight, offsets).
HIDDEN_COLUMNS = {"article_id", "evidence_text", "char_start", "char_end"}
REFERENCES = {"source_id": "sources", "event_id": "events", "responds_to": "claims"}
MAX_DAY_BARS = 62
# The query examples on the index page (run from the release directory; tested).
EXAMPLE_SQL = (
    "SELECT s.name, c.claim_kind, c.claim_text\n"
    "  FROM 'data/claims.parquet' c JOIN 'data/sources.parquet' s USING (source_id)\n"
    "  ORDER BY c.claim_id"
)
EXAMPLE_PY_SQL = "SELECT factuality, count(*) FROM 'data/events.parquet' GROUP BY 1"
SAFE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")

Row = dict[str, Any]


@dataclass(frozen=True)
class ReleaseData:
    """What the site shows of one release, kept as Arrow tables (rows become dicts one
    article at a time).

    Attributes:
        descriptor: The parsed ``datapackage.json``.
        tables: Table name -> the Arrow table; sources, events and claims with each article's
            rows next to each other.
        fields: Table name -> the resource's field descriptors (name, type, description, ...).
        order: Row numbers of ``tables["articles"]`` in primary-key order.
        groups: Table name -> article id -> (first row, row count) of that article's rows.
        keys: Table name -> its primary-key columns.
        schemas: Table name -> the Arrow schema of its Parquet file (all columns, also when
            only some were read).
        regrouped: The tables whose file did not keep each article's rows together (their
            rows were reordered by article id).
        adjudicated: The ids of the articles with an adjudication page (from
            ``agreement.json``): their pages link to it.
        withheld: How many articles' texts the release withholds (``articles.text`` null).
    """

    descriptor: dict[str, Any]
    tables: dict[str, pa.Table]
    fields: dict[str, list[dict[str, Any]]]
    order: list[int]
    groups: dict[str, dict[str, tuple[int, int]]]
    keys: dict[str, list[str]]
    schemas: dict[str, pa.Schema] = dataclasses.field(default_factory=dict)
    regrouped: frozenset[str] = frozenset()
    adjudicated: frozenset[str] = frozenset()
    withheld: int = 0


@dataclass(frozen=True)
class Span:
    """One evidence span of an article: a source, event or claim row.

    Attributes:
        start: First code point (inclusive).
        end: Code point just past the span (exclusive).
        kind: ``source``, ``event`` or ``claim``.
        row_id: The row's global id (``<article_id>:<local id>``).
        local: The local id (``C3``), used for HTML ids.
        title: A one-line description (the tooltip without JavaScript).
    """

    start: int
    end: int
    kind: str
    row_id: str
    local: str
    title: str


_DIGITS = re.compile(r"(\d+)")


def _natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    return tuple((1, int(p)) if p.isdigit() else (0, p) for p in _DIGITS.split(text) if p)


@lru_cache(maxsize=65536)
def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Return a sort key that orders ``C2`` before ``C10``."""
    return _natural_key(text)


def local_id(row_id: str, article_id: str) -> str:
    """Return the local part of ``<article_id>:<local id>`` (the whole id if it has no prefix)."""
    prefix = f"{article_id}:"
    return row_id[len(prefix) :] if row_id.startswith(prefix) else row_id


def format_value(value: Any) -> str:
    """Return a cell value as text: ISO dates, UTC times with ``Z``, ``true``/``false``."""
    if value.__class__ is str:  # most cells
        return value
    if value is None:
        return ""
    if value.__class__ is int:
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat(timespec="seconds") + "Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


_TEXT_SPECIAL = re.compile("[&<>]")


def escape(text: str) -> str:
    """Return ``html.escape(text)``; text without ``&<>"'`` (most cells) is returned as is."""
    if "&" in text or "<" in text or ">" in text or '"' in text or "'" in text:
        return html.escape(text)
    return text


def esc(value: Any) -> str:
    """Return ``value`` formatted and escaped for HTML text and attributes."""
    return escape(value if value.__class__ is str else format_value(value))


# --- reading the release ---------------------------------------------------------------------


def _resource_schema(resource: dict[str, Any], release_dir: Path) -> dict[str, Any]:
    schema = resource.get("schema", {})
    if isinstance(schema, str):
        schema = json.loads((release_dir / schema).read_text(encoding="utf-8"))
    return schema if isinstance(schema, dict) else {}


def table_resource(descriptor: dict[str, Any], table: str) -> dict[str, Any]:
    """Return the resource of ``data/<table>.parquet`` (else the one named ``table``, else {})."""
    candidates = [r for r in descriptor.get("resources", []) if isinstance(r, dict)]
    for resource in candidates:
        if resource.get("path") == f"data/{table}.parquet":
            return resource
    return next((r for r in candidates if r.get("name") == table), {})


def _key_order(table: pa.Table, key: list[str]) -> list[int]:
    """Return the row numbers of ``table`` sorted by the natural order of its key columns."""
    columns = [table.column(k).to_pylist() if k in table.column_names else None for k in key]
    keys = [
        tuple(_natural_key(format_value(c[i] if c is not None else None)) for c in columns)
        for i in range(table.num_rows)
    ]
    return sorted(range(table.num_rows), key=keys.__getitem__)


def _group_by_article(table: pa.Table) -> tuple[pa.Table, dict[str, tuple[int, int]]]:
    """Return ``table`` with each article's rows adjacent, and article id -> (first, count).

    A table written article by article (as releases are) is used as it is; otherwise it is
    reordered once by article id (a stable sort keeps each article's rows in file order).
    """
    import pyarrow.compute as pc

    if "article_id" not in table.column_names or table.num_rows == 0:
        return table, {}
    ids = table.column("article_id").combine_chunks()
    runs = pc.run_end_encode(ids)
    if len(pc.unique(runs.values)) != len(runs.values):
        table = table.take(pc.sort_indices(ids))
        runs = pc.run_end_encode(table.column("article_id").combine_chunks())
    groups: dict[str, tuple[int, int]] = {}
    start = 0
    for value, end in zip(runs.values.to_pylist(), runs.run_ends.to_pylist(), strict=True):
        if value is not None:
            groups[str(value)] = (start, end - start)
        start = end
    return table, groups


def read_release_data(
    release_dir: Path,
    columns: Mapping[str, Collection[str]] | None = None,
) -> ReleaseData:
    """Read the descriptor and the four tables of the release in ``release_dir``.

    Args:
        release_dir: The release directory.
        columns: Table name -> the columns to read besides ``article_id`` and the primary
            key (those the file has); all when None.

    Raises:
        FactpackError: The descriptor or a table is missing or unreadable.
    """
    import pyarrow.parquet as pq

    descriptor = read_descriptor(release_dir)
    tables: dict[str, pa.Table] = {}
    schemas: dict[str, pa.Schema] = {}
    fields: dict[str, list[dict[str, Any]]] = {}
    groups: dict[str, dict[str, tuple[int, int]]] = {}
    keys: dict[str, list[str]] = {}
    regrouped: set[str] = set()
    for table in TABLES:
        schema = _resource_schema(table_resource(descriptor, table), release_dir)
        fields[table] = [f for f in schema.get("fields", []) if isinstance(f, dict)]
        path = release_dir / "data" / f"{table}.parquet"
        key = schema.get("primaryKey") or [ID_COLUMN.get(table, "article_id")]
        keys[table] = [key] if isinstance(key, str) else list(key)
        try:
            schemas[table] = pq.read_schema(path)
            wanted = None
            if columns is not None:
                needed = {"article_id", *columns.get(table, ())}
                if table == "articles":
                    needed.update(keys[table])  # the key order
                wanted = [c for c in schemas[table].names if c in needed]
            tables[table] = pq.read_table(path, columns=wanted)
        except (OSError, ValueError) as error:
            raise FactpackError(
                f"{display_path(path)}: cannot read table {table!r} ({error}); "
                "is the release complete?"
            ) from None
        if table != "articles":
            read = tables[table]
            tables[table], groups[table] = _group_by_article(read)
            if tables[table] is not read:
                regrouped.add(table)
    order = _key_order(tables["articles"], keys["articles"])
    path = release_dir / "data" / "articles.parquet"
    if "text" in tables["articles"].column_names:
        withheld = tables["articles"].column("text").null_count
    else:
        withheld = null_count(path, "text")
    return ReleaseData(
        descriptor,
        tables,
        fields,
        order,
        groups,
        keys,
        schemas,
        frozenset(regrouped),
        withheld=withheld,
    )


def _take(table: pa.Table, rows: list[int]) -> pa.Table:
    """Return the rows of ``table`` at ``rows`` (a slice when they are consecutive)."""
    import pyarrow as pa

    if not rows:
        return table.slice(0, 0)
    first = rows[0]
    if rows[-1] - first + 1 == len(rows) and rows == list(range(first, first + len(rows))):
        return table.slice(first, len(rows))
    return table.take(pa.array(rows, type=pa.int64()))


def _to_rows(table: pa.Table) -> list[Row]:
    """Return ``table`` as row dicts, converting each column to Python once."""
    names = table.column_names
    if not names:
        return [{} for _ in range(table.num_rows)]
    columns = [column.to_pylist() for column in table.columns]
    return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]


def _row_sort_key(key: list[str]) -> Callable[[Row], Any]:
    """Return the sort key of rows in the natural order of their primary-key columns."""
    if len(key) == 1:
        (name,) = key
        return lambda r: _natural_key(format_value(r.get(name)))
    return lambda r: tuple(_natural_key(format_value(r.get(k))) for k in key)


def chunk_rows(
    data: ReleaseData, positions: Sequence[int]
) -> list[tuple[Row, dict[str, list[Row]]]]:
    """Return (article row, table -> its rows in key order) for the articles at ``positions``
    of the key order, converting each table's columns to Python once for the whole chunk.
    """
    articles = _to_rows(_take(data.tables["articles"], [data.order[p] for p in positions]))
    ids = [str(a.get("article_id")) for a in articles]
    out: list[tuple[Row, dict[str, list[Row]]]] = [(a, {}) for a in articles]
    for table in TABLES[1:]:
        spans = [data.groups[table].get(i, (0, 0)) for i in ids]
        rows = _to_rows(
            _take(data.tables[table], [r for first, n in spans for r in range(first, first + n)])
        )
        at = 0
        for article_id, (_, mine), (_, count) in zip(ids, out, spans, strict=True):
            part = rows[at : at + count]
            at += count
            _sort_rows(part, data.keys[table], article_id)
            mine[table] = part
    return out


def _sort_rows(rows: list[Row], key: list[str], article_id: str) -> None:
    """Sort one article's rows in the natural order of their primary key, in place.

    Ids ``<article_id>:<local id>`` share the prefix: when no local id starts with a digit,
    comparing the natural keys of the local ids (cached, they repeat) orders exactly as
    comparing those of the whole ids, since the prefix ends with ``:``.
    """
    if len(key) == 1:
        (name,) = key
        prefix = f"{article_id}:"
        cut = len(prefix)
        if all(
            (i := r.get(name)).__class__ is str
            and i.startswith(prefix)
            and not _DIGITS.match(i, cut)
            for r in rows
        ):
            rows.sort(key=lambda r: natural_key(r[name][cut:]))
            return
    rows.sort(key=_row_sort_key(key))


def article_rows(data: ReleaseData, article_id: str) -> dict[str, list[Row]]:
    """Return table -> the rows of one article's sources, events and claims, in key order."""
    out: dict[str, list[Row]] = {}
    for table in TABLES[1:]:
        first, count = data.groups[table].get(article_id, (0, 0))
        rows = _to_rows(data.tables[table].slice(first, count)) if count else []
        rows.sort(key=_row_sort_key(data.keys[table]))
        out[table] = rows
    return out


# --- spans and the highlighted text ----------------------------------------------------------


def span_title(kind: str, row: Row, local: str, names: dict[str, str]) -> str:
    """Return the one-line description of a span (shown as a tooltip without JavaScript)."""
    if kind == "source":
        return f"Source {local}: {row.get('name')} ({row.get('source_kind')})"
    if kind == "event":
        return f"Event {local}: {row.get('summary')} ({row.get('factuality')})"
    who = names.get(str(row.get("source_id")), str(row.get("source_id")))
    return f"Claim {local} ({row.get('claim_kind')}) by {who}: {row.get('claim_text')}"


def _span_fits(start: Any, end: Any, evidence: Any, text: str | None, char_count: Any) -> bool:
    """Whether ``start..end`` cuts ``evidence`` out of ``text``; for a withheld text (None),
    whether the span lies within ``char_count`` characters and is as long as ``evidence``."""
    if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end):
        return False
    if text is not None:
        return end <= len(text) and text[start:end] == evidence
    return (
        isinstance(char_count, int)
        and end <= char_count
        and isinstance(evidence, str)
        and len(evidence) == end - start
    )


def article_spans(
    article_id: str, text: str | None, mine: dict[str, list[Row]], char_count: Any = None
) -> list[Span]:
    """Return the evidence spans of one article, checked against its text.

    Args:
        article_id: The article's id.
        text: The article's text; None when the release withholds it: then each span is
            checked against ``char_count`` and the length of its ``evidence_text``.
        mine: Table name -> the article's sources, events and claims.
        char_count: The article's ``char_count`` (used when ``text`` is None).

    Raises:
        FactpackError: A span's offsets lie outside the text or do not cut out its
            ``evidence_text``: the release is inconsistent and the page would mislead.
    """
    names = {str(r["source_id"]): str(r.get("name")) for r in mine["sources"]}
    spans = []
    for kind in ("source", "event", "claim"):
        table = KIND_TABLE[kind]
        id_col = ID_COLUMN[table]
        for row in mine[table]:
            start, end = row.get("char_start"), row.get("char_end")
            if not _span_fits(start, end, row.get("evidence_text"), text, char_count):
                where = (
                    "out of the article text"
                    if text is not None
                    else f"within the article's char_count ({char_count}) (its text is withheld)"
                )
                raise FactpackError(
                    f"data/{table}.parquet: {row.get(id_col)}: char_start..char_end "
                    f"({start}..{end}) does not cut its evidence_text {where}; "
                    "rebuild the release"
                )
            assert isinstance(start, int) and isinstance(end, int)  # _span_fits checked
            local = local_id(str(row[id_col]), article_id)
            title = span_title(kind, row, local, names)
            spans.append(Span(start, end, kind, str(row[id_col]), local, title))
    return spans


def _nest_key(span: Span) -> tuple[Any, ...]:
    return (span.start, -span.end, KINDS.index(span.kind), natural_key(span.local))


def _open_tag(span: Span, first: bool) -> str:
    local = esc(span.local)
    tag = (
        f'<mark class="hl hl-{span.kind}" data-id="{esc(span.row_id)}" data-row="row-{local}" '
        f'title="{esc(span.title)}"'
    )
    if first:
        return (
            f'{tag} id="span-{local}" tabindex="0" data-label="{local}" '
            f'aria-describedby="row-{local}">'
        )
    return f"{tag}>"


def highlight(
    text: str, spans: Sequence[Span], tag: Callable[[Span, bool], str] = _open_tag
) -> str:
    """Return ``text`` as HTML with every span wrapped in properly nested ``<mark>`` elements.

    The text is cut at every span boundary (offsets are code points, so characters outside
    the Basic Multilingual Plane count as one). Each piece is wrapped in the marks of all
    spans covering it, the longer and earlier span outside. A span that overlaps another
    without nesting is closed and reopened around the other's boundary; only its first piece
    carries the anchor id, the keyboard focus and the label. ``tag(span, first)`` gives a
    piece's opening tag (the article page's by default).
    """
    order = sorted(spans, key=_nest_key)
    bounds = sorted({0, len(text)} | {s.start for s in spans} | {s.end for s in spans})
    # Every start and end is a bound, so a span covers the piece a..b exactly when
    # start <= a < end: sweep the bounds, keeping the covering spans' places in ``order``.
    starting: dict[int, list[int]] = {}
    ending: dict[int, list[int]] = {}
    for i, s in enumerate(order):
        if s.start < s.end:
            starting.setdefault(s.start, []).append(i)
            ending.setdefault(s.end, []).append(i)
    active: list[int] = []
    out: list[str] = []
    stack: list[Span] = []
    opened: set[str] = set()
    for a, b in itertools.pairwise(bounds):
        if a in ending:
            gone = set(ending[a])
            active = [i for i in active if i not in gone]
        if a in starting:
            active = sorted(active + starting[a])
        cover = [order[i] for i in active]
        keep = 0
        while keep < min(len(stack), len(cover)) and stack[keep] is cover[keep]:
            keep += 1
        out.extend("</mark>" for _ in stack[keep:])
        for span in cover[keep:]:
            out.append(tag(span, span.row_id not in opened))
            opened.add(span.row_id)
        stack = cover
        piece = text[a:b]
        out.append(html.escape(piece, quote=False) if _TEXT_SPECIAL.search(piece) else piece)
    out.extend("</mark>" for _ in stack)
    return "".join(out)


# --- templates -------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """Return the Jinja environment of the site's templates (``researcher/templates``).

    Autoescape is on for every template: a value is escaped unless it is :class:`Markup`
    (only the highlighted text, the inline script and what the templates themselves build).
    """
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("factpack.researcher", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        auto_reload=False,
    )
    env.filters["fmt"] = format_value
    return env


def template(name: str) -> jinja2.Template:
    """Return the compiled template ``name`` of ``researcher/templates``."""
    return environment().get_template(name)


# --- charts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    """One bar of a chart: its label (and the label shortened to fit), count and geometry."""

    label: str
    shown: str
    count: int
    y: int
    width: int


@dataclass(frozen=True)
class Chart:
    """A horizontal bar chart, drawn by the ``bar_chart`` macro (inline SVG and a table).

    Attributes:
        chart_id: A unique HTML id stem.
        caption: The chart's caption (also its accessible name).
        bars: The bars in display order.
        width: The SVG's width in pixels.
        height: The SVG's height in pixels.
        label_x: Where the bars start (labels end 6 pixels before).
        bar_height: The height of a bar.
        empty_y: The baseline of the ``no rows`` text of a chart without bars.
    """

    chart_id: str
    caption: str
    bars: tuple[Bar, ...]
    width: int
    height: int
    label_x: int
    bar_height: int
    empty_y: int


CHART_LABEL_WIDTH, CHART_BAR_WIDTH, CHART_ROW_HEIGHT, CHART_PAD = 200, 220, 22, 6


def chart(chart_id: str, caption: str, items: Sequence[tuple[str, int]]) -> Chart:
    """Return the geometry of a horizontal bar chart of (label, count) in display order."""
    top = max((n for _, n in items), default=0) or 1
    bars = tuple(
        Bar(
            label,
            label if len(label) <= 30 else label[:29] + "…",
            count,
            CHART_PAD + i * CHART_ROW_HEIGHT,
            round(CHART_BAR_WIDTH * count / top),
        )
        for i, (label, count) in enumerate(items)
    )
    return Chart(
        chart_id,
        caption,
        bars,
        width=CHART_LABEL_WIDTH + CHART_BAR_WIDTH + 50,
        height=CHART_PAD * 2 + CHART_ROW_HEIGHT * max(len(items), 1),
        label_x=CHART_LABEL_WIDTH,
        bar_height=CHART_ROW_HEIGHT - 6,
        empty_y=CHART_PAD + 15,
    )


def bar_chart(chart_id: str, caption: str, items: Sequence[tuple[str, int]]) -> str:
    """Return a horizontal bar chart as a ``<figure>`` with inline SVG and a data table."""
    macros = template("macros.html.j2").module
    return str(macros.bar_chart(chart(chart_id, caption, items)))  # type: ignore[attr-defined]


def field_enum(fields: list[dict[str, Any]], name: str) -> list[str]:
    """Return the allowed values the descriptor declares for a field (empty when none)."""
    for field in fields:
        if field.get("name") == name:
            constraints = field.get("constraints") or {}
            values = constraints.get("enum") or field.get("categories") or []
            return [str(v["value"] if isinstance(v, dict) else v) for v in values]
    return []


def value_counts(values: pa.Array | pa.ChunkedArray) -> Counter[Any]:
    """Return value -> count of an Arrow column (null counted as None), counted by Arrow."""
    import pyarrow.compute as pc

    counts: Counter[Any] = Counter()
    for item in pc.value_counts(values).to_pylist():
        counts[item["values"]] += item["counts"]
    return counts


def formatted_counts(values: pa.Array | pa.ChunkedArray) -> Counter[str]:
    """Return the counts of a column by formatted value, ``(empty)`` for null."""
    out: Counter[str] = Counter()
    for value, n in value_counts(values).items():
        out["(empty)" if value is None else format_value(value)] += n
    return out


def counted_items(counts: Counter[str], order: Sequence[str]) -> list[tuple[str, int]]:
    """Order counts: declared categories first (zeros included), then others, nulls last."""
    counts = Counter(counts)
    items = [(v, counts.pop(v, 0)) for v in order]
    empty = counts.pop("(empty)", 0)
    items += sorted(counts.items(), key=lambda kv: natural_key(kv[0]))
    if empty:
        items.append(("(empty)", empty))
    return items


def events_per_day(events: list[Row]) -> tuple[str, list[tuple[str, int]]]:
    """Count events by ``date_start``: per day, or per month when the range is long."""
    days = Counter(e["date_start"] for e in events if isinstance(e.get("date_start"), dt.date))
    return day_chart(days, len(events) - sum(days.values()))


def day_chart(days: Counter[dt.date], undated: int) -> tuple[str, list[tuple[str, int]]]:
    """Return the caption and bars of the events chart from event counts per ``date_start``."""
    dates = sorted(days)
    items: list[tuple[str, int]] = []
    if dates and (dates[-1] - dates[0]).days < MAX_DAY_BARS:
        caption = "Events per day (date_start, the first possible day)"
        day = dates[0]
        while day <= dates[-1]:
            items.append((day.isoformat(), days[day]))
            day += dt.timedelta(days=1)
    elif dates:
        caption = "Events per month (date_start, the first possible day)"
        months: Counter[str] = Counter()
        for d in dates:
            months[d.strftime("%Y-%m")] += days[d]
        items = sorted(months.items())
    else:
        caption = "Events per day (date_start)"
    if undated:
        items.append(("no date", undated))
    return caption, items


# --- the article page ------------------------------------------------------------------------


class RowItem(NamedTuple):
    """One source, event or claim of the side list of an article page.

    Attributes:
        kind: ``source``, ``event`` or ``claim``.
        local: The local id (``C3``): the anchors ``row-C3`` and ``span-C3``.
        row_id: The global id.
        head: What the heading shows: (name, source kind), (summary, factuality) or
            (who, cue, claim text, claim kind), as text.
        cells: (column, value as text or None for null, (local id, label) of the row of the
            same article it references or None) of every shown column, in field order.
        start: ``char_start`` as text.
        end: ``char_end`` as text.
    """

    kind: str
    local: str
    row_id: str
    head: tuple[str, ...]
    cells: tuple[tuple[str, str | None, tuple[str, str] | None], ...]
    start: str
    end: str


class Relation(NamedTuple):
    """A claim that answers another (``C5 denies C2``): local ids and their labels."""

    source: str
    source_label: str
    relation: str
    target: str
    target_label: str


Plan = tuple[tuple[str, bool], ...]
"""The columns a row's list shows: (column name, whether it references a row), in field
order."""


@lru_cache(maxsize=64)
def column_plan(table: str, names: tuple[str, ...]) -> Plan:
    """Return the shown columns of ``table``'s rows, given its field names."""
    return tuple(
        (name, name in REFERENCES)
        for name in names
        if name not in HIDDEN_COLUMNS and name != ID_COLUMN[table]
    )


def _field_names(fields: list[dict[str, Any]]) -> tuple[str, ...]:
    return tuple(f["name"] for f in fields if "name" in f)


def row_item(kind: str, row: Row, plan: Plan, article_id: str, labels: dict[str, str]) -> RowItem:
    """Return what the side list shows of one row (``plan``: :func:`column_plan`)."""
    table = KIND_TABLE[kind]
    row_id = str(row[ID_COLUMN[table]])
    get = row.get
    head: tuple[str, ...]
    if kind == "source":
        head = (format_value(get("name")), format_value(get("source_kind")))
    elif kind == "event":
        head = (format_value(get("summary")), format_value(get("factuality")))
    else:
        who = labels.get(str(get("source_id")), format_value(get("source_id")))
        head = (
            who,
            format_value(get("cue")),
            format_value(get("claim_text")),
            format_value(get("claim_kind")),
        )
    cells: list[tuple[str, str | None, tuple[str, str] | None]] = []
    for name, is_ref in plan:
        value = get(name)
        if value is None:
            cells.append((name, None, None))
            continue
        text = value if value.__class__ is str else format_value(value)
        if is_ref and text in labels:
            cells.append((name, text, (local_id(text, article_id), labels[text])))
        else:
            cells.append((name, text, None))
    return RowItem(
        kind,
        local_id(row_id, article_id),
        row_id,
        head,
        tuple(cells),
        format_value(get("char_start")),
        format_value(get("char_end")),
    )


def relations(claims: list[Row], article_id: str, labels: dict[str, str]) -> list[Relation]:
    """Return the claim-to-claim relations of an article's claims (in their order)."""
    out = []
    for claim in claims:
        target = claim.get("responds_to")
        if target is None:
            continue
        out.append(
            Relation(
                local_id(str(claim["claim_id"]), article_id),
                labels.get(str(claim.get("source_id")), ""),
                format_value(claim.get("relation") or "responds to"),
                local_id(str(target), article_id),
                labels.get(str(target), ""),
            )
        )
    return out


def _by_id(data: ReleaseData, table: str, rows: list[Row]) -> list[Row]:
    """Return rows in the natural order of their id (as they are when that is their key)."""
    id_column = ID_COLUMN[table]
    if data.keys[table] == [id_column] and all(r[id_column].__class__ is str for r in rows):
        return rows  # chunk_rows sorted them by this very key
    return sorted(rows, key=lambda r: _natural_key(str(r[id_column])))


SECTIONS = (("source", "Sources"), ("event", "Events"), ("claim", "Claims"))


class Quote(NamedTuple):
    """One evidence quote of an article whose text is withheld, as the page lists it.

    Attributes:
        kind: ``source``, ``event`` or ``claim``.
        local: The local id (``C3``).
        start: ``char_start``.
        end: ``char_end``.
        quote: The ``evidence_text`` in the span's ``<mark>`` (Markup: the anchor
            ``span-<local>`` and the details popup work as over the full text).
    """

    kind: str
    local: str
    start: int
    end: int
    quote: Markup


def quotes(spans: Sequence[Span], mine: dict[str, list[Row]]) -> list[Quote]:
    """Return the evidence quotes of an article whose text is withheld, in text order (at
    equal start the longer span first, as the highlight nests them)."""
    evidence = {
        str(row[ID_COLUMN[table]]): str(row.get("evidence_text"))
        for table in TABLES[1:]
        for row in mine[table]
    }
    return [
        Quote(
            span.kind,
            span.local,
            span.start,
            span.end,
            Markup(_open_tag(span, True) + escape(evidence[span.row_id]) + "</mark>"),
        )
        for span in sorted(spans, key=_nest_key)
    ]


HYDRATE_DIR = "texts"
"""The folder of texts the hydrate command on the pages names (an example: any folder)."""


def hydrated_count(descriptor: Mapping[str, Any]) -> int:
    """Return how many texts ``factpack hydrate`` re-attached to the copy ``descriptor``
    describes (its ``text_policy.hydrated``; 0 for a release)."""
    policy = descriptor.get("text_policy")
    count = policy.get("hydrated") if isinstance(policy, dict) else None
    return count if isinstance(count, int) and not isinstance(count, bool) else 0


def hydrate_command(descriptor: Mapping[str, Any]) -> str:
    """Return the command that re-attaches withheld texts to the release ``descriptor``
    describes (run beside the release folder)."""
    name = format_value(descriptor.get("name"))
    version = format_value(descriptor.get("version"))
    return f"factpack hydrate {name}-{version} --texts {HYDRATE_DIR}/"


def article_page(article: Row, mine: dict[str, list[Row]], data: ReleaseData, script: str) -> str:
    """Return the HTML page of one article (template ``article.html.j2``).

    Args:
        article: The article's row.
        mine: Table name -> the article's sources, events and claims.
        data: The release (its descriptor, fields and keys; the tables are not read).
        script: The inline script of the page.

    Raises:
        FactpackError: A span's offsets do not cut its evidence out of the text.
    """
    article_id = str(article["article_id"])
    raw = article.get("text")
    text = None if raw is None else str(raw)
    spans = article_spans(article_id, text, mine, article.get("char_count"))
    labels: dict[str, str] = {}
    for r in mine["sources"]:
        labels[str(r["source_id"])] = str(r.get("name"))
    for r in mine["events"]:
        labels[str(r["event_id"])] = str(r.get("summary"))
    for r in mine["claims"]:
        labels[str(r["claim_id"])] = (
            labels.get(str(r.get("source_id")), "") + ": " + str(r.get("claim_text"))
        )
    sections = []
    for kind, heading in SECTIONS:
        table = KIND_TABLE[kind]
        names = _field_names(data.fields[table])
        rows = _by_id(data, table, mine[table])
        plan = column_plan(table, names or (tuple(rows[0]) if rows else ()))
        items = [row_item(kind, r, plan, article_id, labels) for r in rows]
        sections.append((table, heading, items))
    descriptor = data.descriptor
    return template("article.html.j2").render(
        title=f"{format_value(article.get('title'))} — {format_value(descriptor.get('title', ''))}",
        css="../style.css",
        script=Markup(script),
        article=article,
        text=Markup(highlight(text, spans)) if text is not None else None,
        quotes=quotes(spans, mine) if text is None else [],
        hydrate=hydrate_command(descriptor),
        lang=format_value(article.get("language") or "en"),
        sections=sections,
        relations=relations(_by_id(data, "claims", mine["claims"]), article_id, labels),
        package={
            "name": format_value(descriptor.get("name")),
            "version": format_value(descriptor.get("version")),
        },
        adjudication=(
            f"../{ADJUDICATION_DIR}/{article_id}.html" if article_id in data.adjudicated else None
        ),
    )


def page_of_tables(
    descriptor: dict[str, Any], tables: Mapping[str, pa.Table], adjudicated: bool = False
) -> str:
    """Return the page of the one article in ``tables``, as :func:`build_site` renders it.

    For a preview before any release exists: ``descriptor`` needs the release's name,
    version, title and each table's resource (``data/<table>.parquet``) with its schema;
    ``tables`` hold the rows of one article (the columns of the release's Parquet files);
    ``adjudicated``: the release will have its adjudication page (the page links to it).

    Raises:
        FactpackError: ``tables["articles"]`` does not hold exactly one article, its id is
            not a safe file name, or its offsets do not cut the evidence out of the text.
    """
    fields, keys = {}, {}
    for table in TABLES:
        schema = table_resource(descriptor, table).get("schema", {})
        fields[table] = [f for f in schema.get("fields", []) if isinstance(f, dict)]
        key = schema.get("primaryKey") or [ID_COLUMN.get(table, "article_id")]
        keys[table] = [key] if isinstance(key, str) else list(key)
    articles = _to_rows(tables["articles"])
    if len(articles) != 1:
        raise FactpackError(f"articles: {len(articles)} rows, not one article to preview")
    article = articles[0]
    article_id = str(article.get("article_id"))
    if not SAFE_ID.match(article_id):
        raise FactpackError(
            f"article_id {article_id!r} is not a safe file name (^[a-z0-9][a-z0-9_-]{{0,63}}$)"
        )
    mine = {}
    for table in TABLES[1:]:
        rows = _to_rows(tables[table])
        _sort_rows(rows, keys[table], article_id)
        mine[table] = rows
    data = ReleaseData(descriptor, {}, fields, [], {}, keys)
    if adjudicated:
        data = dataclasses.replace(data, adjudicated=frozenset({article_id}))
    return article_page(article, mine, data, _asset("article.js"))


# --- the adjudication pages ------------------------------------------------------------------

AGREEMENT_FILE = "agreement.json"
"""The release file with each annotator's items and the agreement figures (optional)."""
AGREEMENT_FORMAT = "factpack-agreement/1"
ADJUDICATION_DIR = "adjudication"
"""``site/<ADJUDICATION_DIR>/<article_id>.html``: one page per doubly annotated article."""
ADJUDICATION_CSS = "adjudication.css"
"""The adjudication pages' own stylesheet (written only beside them: ``style.css`` and the
other pages stay as they are without ``agreement.json``)."""
ADJ_TABLES = (
    ("sources", "source", "Sources"),
    ("events", "event", "Events"),
    ("claims", "claim", "Claims"),
)
"""(table, span kind, heading) of the compared tables, in page order."""
_UNSAFE_ANCHOR = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class AgreementArticle:
    """What ``agreement.json`` says of one article annotated more than once.

    Attributes:
        article_id: The article's id in the release.
        stem: The annotation's file stem.
        annotators: The annotators' names, in the file's order.
        items: Annotator -> table -> that annotator's items (``id``, ``char_start``,
            ``char_end``, ``codes``, ``references``).
        comparisons: Per annotator pair: ``a``, ``b`` and per table ``matched`` (``a``, ``b``,
            ``exact``, ``differ``), ``only_a``, ``only_b``.
        notes: The adjudication notes (``items``, ``decision``, ``reason``, ``evidence``,
            ``note``), when the file carries them.
    """

    article_id: str
    stem: str
    annotators: tuple[str, ...]
    items: Mapping[str, Mapping[str, Sequence[Mapping[str, Any]]]]
    comparisons: tuple[Mapping[str, Any], ...]
    notes: tuple[Mapping[str, Any], ...]


def read_agreement(release_dir: Path) -> dict[str, Any] | None:
    """Return the parsed ``agreement.json`` of a release, or None when it has none.

    Raises:
        FactpackError: It is unreadable, not JSON, or not of :data:`AGREEMENT_FORMAT`.
    """
    path = release_dir / AGREEMENT_FILE
    where = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise FactpackError(f"{where}: cannot read it ({error}); rebuild the release") from None
    try:
        report = json.loads(text)
    except json.JSONDecodeError as error:
        raise FactpackError(
            f"{where}: line {error.lineno}: not JSON ({error.msg}); rebuild the release"
        ) from None
    found = report.get("format") if isinstance(report, dict) else None
    if found != AGREEMENT_FORMAT:
        raise FactpackError(
            f"{where}: format {found!r} is not {AGREEMENT_FORMAT!r}; rebuild the release "
            "with this version of factpack"
        )
    return report


def _checked_item(item: Any) -> Mapping[str, Any]:
    if not (
        isinstance(item, dict)
        and isinstance(item["id"], str)
        and isinstance(item["char_start"], int)
        and isinstance(item["char_end"], int)
        and isinstance(item.get("codes", {}), dict)
        and isinstance(item.get("references") or {}, dict)
    ):
        raise TypeError(f"item {item!r} needs an id, char_start, char_end and codes")
    return item


def agreement_articles(
    report: Mapping[str, Any], where: str = AGREEMENT_FILE
) -> dict[str, AgreementArticle]:
    """Return article id -> :class:`AgreementArticle` of a parsed ``agreement.json``.

    Raises:
        FactpackError: The file lacks a part the pages need (``where`` names it).
    """
    try:
        by_stem: dict[str, list[Mapping[str, Any]]] = {}
        for comparison in report.get("comparisons") or []:
            missing = [k for k in ("a", "b", "tables") if k not in comparison]
            if missing:
                raise KeyError(missing[0])
            by_stem.setdefault(str(comparison["stem"]), []).append(comparison)
        out: dict[str, AgreementArticle] = {}
        for entry in report.get("annotations") or []:
            article_id, stem = str(entry["article_id"]), str(entry["stem"])
            items = {
                str(name): {
                    table: [_checked_item(i) for i in tables.get(table) or []]
                    for table, _, _ in ADJ_TABLES
                }
                for name, tables in entry["annotators"].items()
            }
            notes = entry.get("adjudication") or []
            if not all(isinstance(n, dict) for n in notes):
                raise TypeError("adjudication notes must be objects")
            out[article_id] = AgreementArticle(
                article_id,
                stem,
                tuple(items),
                items,
                tuple(by_stem.get(stem, [])),
                tuple(notes),
            )
    except (KeyError, TypeError, AttributeError) as error:
        raise FactpackError(
            f"{where}: not the shape factpack writes ({type(error).__name__}: {error}); "
            "rebuild the release"
        ) from None
    return out


class Shown(NamedTuple):
    """A differing value as shown: its text, and for a reference the ``#anchor`` of the
    referenced item's highlight and its counterpart in the other annotation.

    Attributes:
        text: The value (``(none)`` when empty).
        href: ``#<annotator>-<local id>`` of the referenced item, or None.
        counterpart: For a reference: ``<other annotator>'s <id>`` (the item matched to the
            referenced one) or ``unmatched``; else None. Local ids are each annotator's own,
            so ``E2`` and ``E2`` may be different events.
    """

    text: str
    href: str | None = None
    counterpart: str | None = None


def _shown_value(
    item: Mapping[str, Any],
    name: str,
    own: str,
    other: str,
    comparison: Mapping[str, Any],
    anchors: Mapping[str, str],
) -> Shown:
    """Return how one annotator's value of a differing field is shown (a code or a reference)."""
    value = _field_value(item, name)
    target = REFERENCES.get(name)
    refs = item.get("references") or {}
    if value is None or target is None or name not in refs:
        return Shown(_value_text(value))
    matched = (comparison["tables"].get(target) or {}).get("matched") or []
    mine, theirs = ("a", "b") if own == comparison["a"] else ("b", "a")
    pair = next((m for m in matched if str(m[mine]) == str(value)), None)
    counterpart = f"{other}'s {pair[theirs]}" if pair is not None else "unmatched"
    return Shown(_value_text(value), f"#{anchors[own]}-{value}", counterpart)


class Disagreement(NamedTuple):
    """A matched pair of items (one per annotator) whose span or codes differ.

    Attributes:
        a: (local id, anchor) of the first annotator's item.
        b: (local id, anchor) of the second annotator's item.
        exact: Whether the two spans are the same.
        evidence: The text of each span (the second only when it differs); None for a span
            of a withheld text that no published quote covers.
        differ: (field, first value, second value) of every code or reference that differs.
    """

    a: tuple[str, str]
    b: tuple[str, str]
    exact: bool
    evidence: tuple[str | None, str | None]
    differ: tuple[tuple[str, Shown, Shown], ...]


class Lone(NamedTuple):
    """An item only one annotator of a pair has: (local id, anchor, start, end, evidence;
    None when the text is withheld and no published quote covers the span)."""

    local: str
    anchor: str
    start: int
    end: int
    evidence: str | None


class PairFigures(NamedTuple):
    """One pair's figures for one table of this article.

    Attributes:
        items_a: Items of the first annotator.
        items_b: Items of the second.
        matched: Items matched by overlap.
        same_span: Matched items with the same span.
        f1: F1 of the matching by overlap (text, ``n/a`` without items).
        f1_same: F1 counting only matches with the same span.
        fields: (field, matched pairs that agree on it, matched pairs) of every compared
            code and reference.
    """

    items_a: int
    items_b: int
    matched: int
    same_span: int
    f1: str
    f1_same: str
    fields: tuple[tuple[str, int, int], ...]


class PairView(NamedTuple):
    """One annotator pair's comparison of one table."""

    a: str
    b: str
    figures: PairFigures
    differing: tuple[Disagreement, ...]
    only_a: tuple[Lone, ...]
    only_b: tuple[Lone, ...]


class ListedItem(NamedTuple):
    """One annotator's item as listed when the article's text is withheld.

    Attributes:
        mark: The item's ``<mark>`` (its anchor, status and title) around its evidence, or
            around ``…`` when no published quote covers it (Markup).
        start: ``char_start``.
        end: ``char_end``.
        quoted: Whether the mark holds the evidence (a published quote covers the span).
    """

    mark: Markup
    start: int
    end: int
    quoted: bool


class Column(NamedTuple):
    """One annotator's copy of the text with that annotator's items of one table; when the
    text is withheld, ``text`` is None and ``listed`` lists the items in text order."""

    annotator: str
    items: int
    text: Markup | None
    listed: tuple[ListedItem, ...] = ()


class TableView(NamedTuple):
    """One table of an adjudication page: the annotators side by side, then each pair."""

    table: str
    kind: str
    heading: str
    columns: tuple[Column, ...]
    pairs: tuple[PairView, ...]


def _ratio_text(num: int, den: int) -> str:
    return f"{num / den:.3f}" if den else "n/a"


def figure_text(value: Any, items: Any = None) -> str:
    """Format a figure of ``agreement.json``: three decimals; ``n/a (k items)`` for none."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.3f}"
    if isinstance(items, int):
        return f"n/a ({items} item{'s' * (items != 1)})"
    return "n/a"


def _value_text(value: Any) -> str:
    return "(none)" if value is None else format_value(value)


def _field_value(item: Mapping[str, Any], name: str) -> Any:
    codes = item.get("codes") or {}
    if name in codes:
        return codes[name]
    return (item.get("references") or {}).get(name)


def _anchors(annotators: Sequence[str]) -> dict[str, str]:
    """Return annotator -> the HTML id prefix of that annotator's spans (unique)."""
    safe = [_UNSAFE_ANCHOR.sub("-", name) or "annotator" for name in annotators]
    if len(set(safe)) != len(safe):
        safe = [f"{s}-{k}" for k, s in enumerate(safe, 1)]
    return dict(zip(annotators, safe, strict=True))


def _check_offsets(entry: AgreementArticle, length: int) -> None:
    for name in entry.annotators:
        for table, _, _ in ADJ_TABLES:
            for item in entry.items[name][table]:
                start, end = item["char_start"], item["char_end"]
                if not 0 <= start < end <= length:
                    raise FactpackError(
                        f"{AGREEMENT_FILE}: {entry.stem}: {name} {table} {item['id']}: offsets "
                        f"{start}..{end} lie outside the article's text ({length} characters); "
                        "rebuild the release"
                    )


Cut = Callable[[int, int], str | None]
"""The characters ``start..end`` of an article's text, or None when they are not known."""


def quote_cutter(quotes: Iterable[tuple[int, int, str, str]]) -> Cut:
    """Return the cut of a withheld text known from its published quotes: ``start..end``
    is known when a quote (``char_start``, ``char_end``, ``evidence_text``, row id) covers it (the
    quote's characters are the text's there); else None. Nothing is guessed."""
    known = sorted(quotes)

    def cut(start: int, end: int) -> str | None:
        for q_start, q_end, evidence, _ in known:
            if q_start > start:
                break
            if end <= q_end and len(evidence) == q_end - q_start:
                return evidence[start - q_start : end - q_start]
        return None

    return cut


def _text_cutter(text: str) -> Cut:
    return lambda start, end: text[start:end]


def _statuses(entry: AgreementArticle) -> dict[tuple[str, str, str], str]:
    """Return (annotator, table, id) -> ``only`` (unmatched in some pair), ``differ`` (matched,
    but span or codes differ in some pair) or ``agree``."""
    out: dict[tuple[str, str, str], str] = {}
    rank = {"agree": 0, "differ": 1, "only": 2}

    def mark(key: tuple[str, str, str], status: str) -> None:
        if rank[status] > rank[out.get(key, "agree")]:
            out[key] = status

    for c in entry.comparisons:
        a, b = str(c["a"]), str(c["b"])
        for table, _, _ in ADJ_TABLES:
            part = c["tables"].get(table) or {}
            for m in part.get("matched") or []:
                status = "agree" if m.get("exact") and not m.get("differ") else "differ"
                mark((a, table, str(m["a"])), status)
                mark((b, table, str(m["b"])), status)
            for local in part.get("only_a") or []:
                mark((a, table, str(local)), "only")
            for local in part.get("only_b") or []:
                mark((b, table, str(local)), "only")
    return out


STATUS_TEXT = {
    "agree": "matched, same span and codes",
    "differ": "matched, but the span or a code differs",
    "only": "not matched by the other annotator",
}


def _adjudication_tag(anchor: str, statuses: Mapping[str, str]) -> Callable[[Span, bool], str]:
    """Return the opening tag of a span piece on an adjudication page."""

    def tag(span: Span, first: bool) -> str:
        status = statuses.get(span.row_id, "agree")
        local = esc(span.local)
        out = (
            f'<mark class="hl hl-{span.kind} adj-{status}" data-id="{esc(span.row_id)}" '
            f'data-status="{status}" title="{esc(span.title)}"'
        )
        if first:
            return f'{out} id="{anchor}-{local}" tabindex="0" data-label="{local}">'
        return f"{out}>"

    return tag


def _item_title(name: str, item: Mapping[str, Any], status: str) -> str:
    codes = [f"{k}={_value_text(v)}" for k, v in (item.get("codes") or {}).items()]
    refs = [f"{k}={_value_text(v)}" for k, v in (item.get("references") or {}).items()]
    return f"{name} {item['id']} ({STATUS_TEXT[status]}): " + ", ".join(codes + refs)


def _pair_view(
    entry: AgreementArticle,
    comparison: Mapping[str, Any],
    table: str,
    cut: Cut,
    anchors: Mapping[str, str],
) -> PairView:
    a, b = str(comparison["a"]), str(comparison["b"])
    by_id = {
        name: {str(i["id"]): i for i in entry.items.get(name, {}).get(table, [])} for name in (a, b)
    }
    part = comparison["tables"].get(table) or {}
    try:
        matched = [
            (by_id[a][str(m["a"])], by_id[b][str(m["b"])], m) for m in part.get("matched") or []
        ]
        only_a = [by_id[a][str(x)] for x in part.get("only_a") or []]
        only_b = [by_id[b][str(x)] for x in part.get("only_b") or []]
    except KeyError as error:
        raise FactpackError(
            f"{AGREEMENT_FILE}: {entry.stem}: {a}/{b} {table}: compares item {error} that the "
            "annotator does not have; rebuild the release"
        ) from None
    fields: list[str] = []
    for name in (a, b):
        for item in entry.items[name][table]:
            for f in [*(item.get("codes") or {}), *(item.get("references") or {})]:
                if f not in fields:
                    fields.append(f)
    differing = []
    disagree: Counter[str] = Counter()
    for x, y, m in matched:
        differ = [str(f) for f in m.get("differ") or []]
        disagree.update(differ)
        same = (x["char_start"], x["char_end"]) == (y["char_start"], y["char_end"])
        if same and not differ:
            continue
        evidence_b = "" if same else cut(y["char_start"], y["char_end"])
        differing.append(
            Disagreement(
                (str(x["id"]), f"{anchors[a]}-{x['id']}"),
                (str(y["id"]), f"{anchors[b]}-{y['id']}"),
                same,
                (cut(x["char_start"], x["char_end"]), evidence_b),
                tuple(
                    (
                        f,
                        _shown_value(x, f, a, b, comparison, anchors),
                        _shown_value(y, f, b, a, comparison, anchors),
                    )
                    for f in differ
                ),
            )
        )
    for f in disagree:
        if f not in fields:
            fields.append(f)
    n_a, n_b, n = len(entry.items[a][table]), len(entry.items[b][table]), len(matched)
    same_span = sum(
        (x["char_start"], x["char_end"]) == (y["char_start"], y["char_end"]) for x, y, _ in matched
    )
    figures = PairFigures(
        n_a,
        n_b,
        n,
        same_span,
        _ratio_text(2 * n, n_a + n_b),
        _ratio_text(2 * same_span, n_a + n_b),
        tuple((f, n - disagree[f], n) for f in fields),
    )

    def lone(name: str, item: Mapping[str, Any]) -> Lone:
        start, end = item["char_start"], item["char_end"]
        return Lone(str(item["id"]), f"{anchors[name]}-{item['id']}", start, end, cut(start, end))

    return PairView(
        a,
        b,
        figures,
        tuple(differing),
        tuple(lone(a, i) for i in only_a),
        tuple(lone(b, i) for i in only_b),
    )


class ReleaseFigure(NamedTuple):
    """One table's figures over the whole release (``agreement.json``'s ``tables``)."""

    table: str
    f1: str
    f1_exact: str
    codes: tuple[tuple[str, str, str, Any], ...]
    references: tuple[tuple[str, str, Any], ...]


def release_figures(report: Mapping[str, Any]) -> list[ReleaseFigure]:
    """Return the pooled figures of ``agreement.json`` per table, as text."""
    out = []
    for table, body in (report.get("tables") or {}).items():
        spans = body.get("spans") or {}
        out.append(
            ReleaseFigure(
                str(table),
                figure_text((spans.get("overlap") or {}).get("f1")),
                figure_text((spans.get("exact") or {}).get("f1")),
                tuple(
                    (
                        str(f),
                        figure_text(c.get("alpha"), c.get("items")),
                        figure_text(c.get("agreement")),
                        c.get("items"),
                    )
                    for f, c in (body.get("codes") or {}).items()
                ),
                tuple(
                    (str(label), figure_text(r.get("agreement")), r.get("items"))
                    for label, r in (body.get("references") or {}).items()
                ),
            )
        )
    return out


def _listed(
    spans: Sequence[Span], tag: Callable[[Span, bool], str], cut: Cut
) -> tuple[ListedItem, ...]:
    """Return an annotator's items of a withheld text in text order, each in its mark."""
    out = []
    for span in sorted(spans, key=_nest_key):
        evidence = cut(span.start, span.end)
        inner = escape(evidence) if evidence is not None else "…"
        out.append(
            ListedItem(
                Markup(tag(span, True) + inner + "</mark>"),
                span.start,
                span.end,
                evidence is not None,
            )
        )
    return tuple(out)


def adjudication_page(
    entry: AgreementArticle,
    article: Row,
    report: Mapping[str, Any],
    descriptor: Mapping[str, Any],
    quotes: Iterable[tuple[int, int, str, str]] = (),
) -> str:
    """Return the adjudication page of one article (template ``adjudication.html.j2``).

    Args:
        entry: What ``agreement.json`` holds of the article.
        article: The article's row (``article_id``, ``title``, ``text``, ``language``,
            ``char_count``).
        report: The whole ``agreement.json`` (its pooled figures and matching rule).
        descriptor: The release's ``datapackage.json``.
        quotes: When the article's text is withheld (``text`` None): the published evidence
            of its rows (``char_start``, ``char_end``, ``evidence_text``, row id); a span they
            cover is quoted, any other shown by its offsets only.

    Raises:
        FactpackError: An item's offsets lie outside the text, or a comparison names an item
            its annotator does not have.
    """
    raw = article.get("text")
    text = None if raw is None else str(raw)
    if text is None:
        count = article.get("char_count")
        if not isinstance(count, int):
            raise FactpackError(
                f"data/articles.parquet: {article.get('article_id')}: the text is withheld and "
                "char_count is missing; rebuild the release"
            )
        _check_offsets(entry, count)
        cut = quote_cutter(quotes)
    else:
        _check_offsets(entry, len(text))
        cut = _text_cutter(text)
    anchors = _anchors(entry.annotators)
    statuses = _statuses(entry)
    views = []
    for table, kind, heading in ADJ_TABLES:
        columns = []
        for name in entry.annotators:
            items = entry.items[name][table]
            own: dict[str, str] = {}
            spans = []
            for item in items:
                row_id = f"{name}:{item['id']}"
                status = statuses.get((name, table, str(item["id"])), "agree")
                own[row_id] = status
                title = _item_title(name, item, status)
                spans.append(
                    Span(item["char_start"], item["char_end"], kind, row_id, str(item["id"]), title)
                )
            tag = _adjudication_tag(anchors[name], own)
            if text is not None:
                columns.append(Column(name, len(items), Markup(highlight(text, spans, tag))))
            else:
                columns.append(Column(name, len(items), None, _listed(spans, tag, cut)))
        pairs = tuple(_pair_view(entry, c, table, cut, anchors) for c in entry.comparisons)
        views.append(TableView(table, kind, heading, tuple(columns), pairs))
    article_id = entry.article_id
    return template("adjudication.html.j2").render(
        title=f"Adjudication: {format_value(article.get('title'))} — "
        f"{format_value(descriptor.get('title', ''))}",
        css="../style.css",
        extra_css=f"../{ADJUDICATION_CSS}",
        article=article,
        withheld=text is None,
        hydrate=hydrate_command(descriptor),
        article_href=f"../articles/{article_id}.html",
        stem=entry.stem,
        annotators=entry.annotators,
        lang=format_value(article.get("language") or "en"),
        tables=views,
        notes=entry.notes,
        matching=format_value(report.get("matching") or ""),
        min_alpha_items=report.get("min_alpha_items"),
        pooled=release_figures(report),
        pooled_articles=len(report.get("articles") or []),
        package={
            "name": format_value(descriptor.get("name")),
            "version": format_value(descriptor.get("version")),
        },
    )


def write_adjudication_pages(
    release_dir: Path,
    report: Mapping[str, Any],
    entries: Mapping[str, AgreementArticle],
    descriptor: Mapping[str, Any],
    out_dir: Path,
) -> list[Path]:
    """Write ``out_dir/<article_id>.html`` for every article of ``entries`` (the texts are
    read once, only those articles' rows of ``data/articles.parquet``).

    Raises:
        FactpackError: An article of ``agreement.json`` is not in the release or its id is not
            a safe file name; see also :func:`adjudication_page`.
    """
    import pyarrow.parquet as pq

    if not entries:
        return []
    path = release_dir / "data" / "articles.parquet"
    names = pq.read_schema(path).names
    wanted = [c for c in ("article_id", "title", "text", "language", "char_count") if c in names]
    rows = pq.read_table(
        path, columns=wanted, filters=[("article_id", "in", sorted(entries))]
    ).to_pylist()
    by_id = {str(r["article_id"]): r for r in rows}
    withheld = sorted(str(r["article_id"]) for r in rows if r.get("text") is None)
    quotes = published_quotes(release_dir, withheld) if withheld else {}
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for article_id in sorted(entries, key=_natural_key):
        if not SAFE_ID.match(article_id):
            raise FactpackError(
                f"{AGREEMENT_FILE}: article_id {article_id!r} is not a safe file name "
                "(^[a-z0-9][a-z0-9_-]{0,63}$); rebuild the release"
            )
        if article_id not in by_id:
            raise FactpackError(
                f"{AGREEMENT_FILE}: article {article_id} ({entries[article_id].stem}) is not in "
                "data/articles.parquet; rebuild the release"
            )
        page = adjudication_page(
            entries[article_id], by_id[article_id], report, descriptor, quotes.get(article_id, ())
        )
        written.append(_write(out_dir / f"{article_id}.html", page))
    return written


QUOTE_IDS = {"sources": "source_id", "events": "event_id", "claims": "claim_id"}
"""The tables whose rows quote their article, and each one's row id column."""


def published_quotes(
    release_dir: Path, article_ids: Collection[str]
) -> dict[str, list[tuple[int, int, str, str]]]:
    """Return article id -> (``char_start``, ``char_end``, ``evidence_text``, row id) of every
    source, event and claim of the articles ``article_ids`` (only their rows are read), sorted
    by offsets. Used where a text is withheld (the site) or checked (``factpack hydrate``)."""
    import pyarrow.parquet as pq

    out: dict[str, list[tuple[int, int, str, str]]] = {}
    for table, id_column in QUOTE_IDS.items():
        wanted = ["article_id", id_column, "char_start", "char_end", "evidence_text"]
        path = release_dir / "data" / f"{table}.parquet"
        try:
            if not set(wanted) <= set(pq.read_schema(path).names):
                continue
            rows = pq.read_table(
                path, columns=wanted, filters=[("article_id", "in", sorted(article_ids))]
            ).to_pylist()
        except (OSError, ValueError) as error:
            raise FactpackError(
                f"{display_path(path)}: cannot read table {table!r} ({error}); "
                "is the release complete?"
            ) from None
        for r in rows:
            start, end, evidence = r["char_start"], r["char_end"], r["evidence_text"]
            if isinstance(start, int) and isinstance(end, int) and isinstance(evidence, str):
                row = (start, end, evidence, str(r[id_column]))
                out.setdefault(str(r["article_id"]), []).append(row)
    for quotes in out.values():
        quotes.sort()
    return out


# --- the index page --------------------------------------------------------------------------


@dataclass(frozen=True)
class DictionaryField:
    """One column of the data dictionary (from the descriptor's field)."""

    name: Any
    type: Any
    required: bool
    description: Any
    values: list[str]


@dataclass(frozen=True)
class DictionaryTable:
    """One table of the data dictionary."""

    table: str
    title: Any
    description: Any
    fields: list[DictionaryField]


def dictionary(data: ReleaseData) -> list[DictionaryTable]:
    """Return the data dictionary: one table per resource, from the descriptor's fields."""
    out = []
    for table in TABLES:
        resource = table_resource(data.descriptor, table)
        fields = [
            DictionaryField(
                field.get("name"),
                field.get("type"),
                bool((field.get("constraints") or {}).get("required")),
                field.get("description"),
                field_enum(data.fields[table], str(field.get("name"))),
            )
            for field in data.fields[table]
        ]
        out.append(
            DictionaryTable(
                table, resource.get("title") or table, resource.get("description"), fields
            )
        )
    return out


INDEX_COLUMNS = ("article_id", "title", "publisher", "published_date")
"""The articles' columns the index lists."""


def _column(table: pa.Table, name: str) -> list[Any]:
    """Return a column as Python values (all None when the table has no such column)."""
    if name in table.column_names:
        return table.column(name).to_pylist()
    return [None] * table.num_rows


def _counts(table: pa.Table, name: str) -> Counter[str]:
    """Count a column's values by formatted value (``(empty)`` for null or no column)."""
    if name not in table.column_names:
        return Counter({"(empty)": table.num_rows} if table.num_rows else {})
    return formatted_counts(table.column(name))


def _claim_source_kinds(claims: pa.Table, sources: pa.Table) -> Counter[str]:
    """Count claims by the ``source_kind`` of their source (``(empty)`` when unknown)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    names = ("source_id", "source_kind")
    if not all(n in sources.column_names for n in names) or "source_id" not in claims.column_names:
        return Counter({"(empty)": claims.num_rows} if claims.num_rows else {})
    at = pc.index_in(
        claims.column("source_id").cast(pa.string()),
        value_set=sources.column("source_id").cast(pa.string()).combine_chunks(),
        skip_nulls=True,
    )
    return formatted_counts(sources.column("source_kind").take(at))


INDEX_ROWS_PER_PART = 4096
"""Articles of the index converted to Python together (the page is written as it renders)."""


@dataclass(frozen=True)
class IndexRow:
    """One article of the index's list."""

    article_id: Any
    title: Any
    publisher: Any
    published: Any
    sources: int
    events: int
    claims: int


def index_rows(data: ReleaseData) -> Iterator[IndexRow]:
    """Yield the articles of the index in key order, converting a few thousand at a time."""
    count = len(data.order)
    for at in range(0, count, INDEX_ROWS_PER_PART):
        positions = range(at, min(at + INDEX_ROWS_PER_PART, count))
        articles = _take(data.tables["articles"], [data.order[p] for p in positions])
        listed = [_column(articles, c) for c in INDEX_COLUMNS]
        for aid, title, publisher, published in zip(*listed, strict=True):
            n = [data.groups[t].get(str(aid), (0, 0))[1] for t in TABLES[1:]]
            yield IndexRow(aid, title, publisher, published, *n)


def distribution_files(descriptor: Mapping[str, Any]) -> list[str]:
    """Return the release files the schema.org ``distribution`` lists: ``datapackage.json``
    and every resource's path (those the descriptor names, so the list does not depend on
    which other files exist when the site is built)."""
    files = ["datapackage.json"]
    for resource in descriptor.get("resources") or []:
        paths = resource.get("path") if isinstance(resource, dict) else None
        for rel in paths if isinstance(paths, list) else [paths]:
            if isinstance(rel, str) and rel not in files:
                files.append(rel)
    return files


def json_for_script(doc: Any) -> str:
    """Return ``doc`` as JSON safe inside ``<script>``: ``<``, ``>`` and ``&`` are written as
    ``\\u003c``, ``\\u003e``, ``\\u0026`` (so no ``</script>`` or ``<!--`` can appear), which
    any JSON parser reads back as the same characters."""
    text = json.dumps(doc, ensure_ascii=False, indent=1)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def site_jsonld(release_dir: Path, data: ReleaseData) -> str:
    """Return the schema.org ``Dataset`` of the release (JSON, safe inside ``<script>``).

    Coverage is read from the tables' columns :mod:`factpack.shared.schemaorg` needs; a table
    whose file lacks one of them is left out of it (nothing is guessed).
    """
    from factpack.shared.schemaorg import COVERAGE_COLUMNS, dataset_jsonld, read_coverage

    tables = [
        t
        for t in TABLES
        if t in data.schemas
        and all(c in data.schemas[t].names for c in COVERAGE_COLUMNS.get(t, ()))
    ]
    cover = read_coverage(release_dir, tables)
    return json_for_script(
        dataset_jsonld(data.descriptor, cover, distribution_files(data.descriptor))
    )


def adjudication_links(data: ReleaseData) -> list[tuple[str, str]]:
    """Return (article id, title) of the articles with an adjudication page, in key order."""
    if not data.adjudicated:
        return []
    articles = data.tables["articles"]
    ids, titles = _column(articles, "article_id"), _column(articles, "title")
    found = [
        (str(ids[row]), format_value(titles[row]))
        for row in data.order
        if str(ids[row]) in data.adjudicated
    ]
    return found


def index_page(data: ReleaseData, jsonld: str | None = None) -> str:
    """Return the HTML of the dataset overview."""
    return "".join(index_page_parts(data, jsonld))


def index_page_parts(data: ReleaseData, jsonld: str | None = None) -> Iterator[str]:
    """Yield the HTML of the dataset overview (template ``index.html.j2``) as it renders: the
    articles' list is rendered from an iterator, so a release of many articles never needs
    the page whole in memory. ``jsonld``: the schema.org ``Dataset`` (:func:`site_jsonld`),
    embedded as ``<script type="application/ld+json">``."""
    d = data.descriptor
    name, version = str(d.get("name", "")), str(d.get("version", ""))
    events, claims, sources = (data.tables[t] for t in ("events", "claims", "sources"))
    days = value_counts(events.column("date_start")) if "date_start" in events.column_names else {}
    dated = Counter({d: n for d, n in days.items() if isinstance(d, dt.date)})
    day_caption, day_items = day_chart(dated, events.num_rows - sum(dated.values()))
    charts = [
        chart("chart-days", day_caption, day_items),
        chart(
            "chart-claim-kind",
            "Claims by kind",
            counted_items(
                _counts(claims, "claim_kind"), field_enum(data.fields["claims"], "claim_kind")
            ),
        ),
        chart(
            "chart-source-kind",
            "Claims by kind of source",
            counted_items(
                _claim_source_kinds(claims, sources),
                field_enum(data.fields["sources"], "source_kind"),
            ),
        ),
        chart(
            "chart-factuality",
            "Events by factuality",
            counted_items(
                _counts(events, "factuality"), field_enum(data.fields["events"], "factuality")
            ),
        ),
    ]
    licenses = [
        (format_value(x.get("name")), format_value(x.get("path"))) for x in d.get("licenses", [])
    ]
    authors = ", ".join(str(c.get("title", "")) for c in d.get("contributors", []))
    query = (
        f'duckdb -c "{EXAMPLE_SQL}"\n\n# Python\nimport duckdb\n'
        f'duckdb.sql("{EXAMPLE_PY_SQL}").show()'
    )
    return template("index.html.j2").generate(
        title=str(d.get("title") or name),
        css="style.css",
        script=None,
        descriptor=d,
        name=name,
        version=version,
        authors=authors,
        licenses=licenses,
        tables=[(t, data.tables[t].num_rows) for t in TABLES],
        charts=charts,
        articles=index_rows(data),
        withheld=data.withheld,
        hydrate=hydrate_command(d),
        hydrated=hydrated_count(d),
        adjudications=adjudication_links(data),
        query=query,
        cite=f"{authors}. {d.get('title', name)}, version {version}.",
        dictionary=dictionary(data),
        jsonld=Markup(jsonld) if jsonld else None,
    )


# --- writing ---------------------------------------------------------------------------------


ASSETS = ("style.css", "article.js", "adjudication.css")
"""The files of ``factpack/site_assets`` the pages use."""


def _asset(name: str) -> str:
    return (resources.files("factpack.researcher") / "site_assets" / name).read_text(
        encoding="utf-8"
    )


PARALLEL_MIN_ARTICLES = 400
"""Fewer articles than this are rendered in one process (a second one costs its start-up)."""
CHUNK_ARTICLES = 64
"""Articles whose rows are converted to Python together (bounds the memory of a worker)."""
INDEX_READ: dict[str, tuple[str, ...]] = {
    "articles": INDEX_COLUMNS,
    "sources": ("source_id", "source_kind"),
    "events": ("date_start", "factuality"),
    "claims": ("claim_kind", "source_id"),
}
"""The columns the index page needs (besides ``article_id`` and the primary keys)."""


class PageLookup(Protocol):
    """Where :func:`build_site` may find an article page rendered before (the build's page
    cache fills this seam; ``factpack site`` renders every page)."""

    def lookup(self, article_id: str, shown: str) -> bytes | None:
        """Return the bytes of the page of ``article_id`` showing ``shown`` (besides the
        article's rows: :func:`page_shown`), or None to render it."""


def page_shown(data: ReleaseData, adjudicated: bool) -> str:
    """Return what an article page shows besides its article's rows, as JSON: the package's
    name, version and title, each table's columns and primary key, and whether the page
    links an adjudication page. Part of the key a page is kept under."""
    descriptor = data.descriptor
    doc = {
        "package": [format_value(descriptor.get(k)) for k in ("name", "version", "title")],
        "columns": {t: _field_names(data.fields[t]) for t in TABLES},
        "keys": data.keys,
        "adjudication": adjudicated,
    }
    return json.dumps(doc, sort_keys=True)


def _reuse_pages(
    data: ReleaseData, reuse: PageLookup, out_dir: Path, digests: dict[str, str] | None
) -> dict[int, str]:
    """Write every article page ``reuse`` holds; return row of ``articles.parquet`` -> the
    page's file name, of those pages."""
    shown = {flag: page_shown(data, flag) for flag in (False, True)}
    done = {}
    for row, article_id in enumerate(_column(data.tables["articles"], "article_id")):
        name = str(article_id)
        if not SAFE_ID.match(name):
            continue  # rendering reports it
        content = reuse.lookup(name, shown[name in data.adjudicated])
        if content is None:
            continue
        _write_bytes(out_dir / f"{name}.html", content)
        if digests is not None:
            digests[f"{name}.html"] = hashlib.sha256(content).hexdigest()
        done[row] = f"{name}.html"
    return done


def build_site(
    release_dir: Path,
    jobs: int | None = None,
    *,
    digests: dict[str, str] | None = None,
    reuse: PageLookup | None = None,
) -> list[Path]:
    """Write the review site of the release in ``release_dir`` to ``release_dir/site/``.

    Reads only ``datapackage.json``, ``data/<table>.parquet`` and ``agreement.json`` (when
    there, once: the adjudication pages): the site is rendered from the release alone, every
    page every time unless ``reuse`` holds an article's page. An existing ``site/`` is replaced,
    so pages of articles no longer in the release do not linger. Article pages are rendered
    by ``jobs`` processes (default: up to 2, the CPUs available); each page depends only on
    its own rows, so the output is the same for any number.

    Args:
        release_dir: The release directory.
        jobs: Processes that render article pages (default: up to 2).
        digests: When given, gets the sha256 (hex) of every article page, keyed by path in
            the release (``site/articles/<id>.html``).
        reuse: Article pages kept from an earlier build (:class:`PageLookup`); those it
            returns are written as they are, the others rendered. The index and adjudication
            pages are rendered every time.

    Returns:
        The written files, sorted.

    Raises:
        FactpackError: The release is incomplete or its evidence offsets do not match the text.
    """
    overview = read_release_data(release_dir, INDEX_READ)
    report = read_agreement(release_dir)
    entries = (
        agreement_articles(report, display_path(release_dir / AGREEMENT_FILE))
        if report is not None
        else {}
    )
    if entries:
        overview = dataclasses.replace(overview, adjudicated=frozenset(entries))
    jsonld = site_jsonld(release_dir, overview)
    site = release_dir / "site"
    staging = release_dir / f".site-{os.getpid()}.tmp"
    if staging.exists():
        shutil.rmtree(staging)
    try:
        (staging / "articles").mkdir(parents=True)
        _write_parts(staging / "index.html", index_page_parts(overview, jsonld))
        _write(staging / "style.css", _asset("style.css"))
        written = ["index.html", "style.css"]
        if entries:
            assert report is not None
            adjudications = write_adjudication_pages(
                release_dir, report, entries, overview.descriptor, staging / ADJUDICATION_DIR
            )
            _write(staging / ADJUDICATION_CSS, _asset(ADJUDICATION_CSS))
            written += [ADJUDICATION_CSS, *(f"{ADJUDICATION_DIR}/{p.name}" for p in adjudications)]
        rendered: dict[str, str] = {}  # page file name -> sha256
        kept: dict[int, str] = {}  # row of articles.parquet -> its page, given by ``reuse``
        if reuse is not None:
            wanted = rendered if digests is not None else None
            kept = _reuse_pages(overview, reuse, staging / "articles", wanted)
        written += (f"articles/{name}" for name in kept.values())
        plan = stream_plan(overview)
        if plan is not None:
            if kept:
                plan = dataclasses.replace(
                    plan, render=frozenset(range(len(plan.positions))).difference(kept)
                )
            # Streaming needs only the descriptor, fields and keys of the overview: its tables
            # (~400 MB resident at 100k articles) are dropped before the workers start.
            light = dataclasses.replace(overview, tables={}, groups={}, order=[])
            del overview
            _release_arrow_memory()
            pages = _streamed_pages(release_dir, light, plan, staging / "articles", jobs, rendered)
        else:
            del overview
            data = read_release_data(release_dir)
            pages = _article_pages(data, staging / "articles", jobs, rendered, kept)
            del data
        written += (f"articles/{p.name}" for p in pages)
        if site.exists():
            shutil.rmtree(site)
        staging.rename(site)
        if digests is not None:
            digests.update((f"site/articles/{name}", hexd) for name, hexd in rendered.items())
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return [Path(f"{site}/{name}") for name in sorted(written)]


def _release_arrow_memory() -> None:
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


# --- rendering the article pages -------------------------------------------------------------


def _default_jobs() -> int:
    return min(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


_SHARED: tuple[ReleaseData, Path] | None = None
"""The data a forked page worker inherits (copy-on-write: Arrow buffers are not copied)."""


def _init_worker() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent reports Ctrl-C, once


def _render_chunk(chunk: Sequence[int]) -> tuple[list[Path], dict[str, str]]:
    assert _SHARED is not None
    data, out_dir = _SHARED
    digests: dict[str, str] = {}
    paths = _write_pages(data, out_dir, chunk, digests)
    return paths, digests


def _article_pages(
    data: ReleaseData,
    out_dir: Path,
    jobs: int | None,
    digests: dict[str, str] | None = None,
    skip: Collection[int] = (),
) -> list[Path]:
    """Write every article page but those of the rows ``skip`` of ``articles.parquet``, in
    ``jobs`` forked processes when there are enough pages.

    The pages are split into contiguous chunks of the key order, collected in order: a
    problem is the one the first failing article in key order raises, as in one process.
    ``digests`` gets page file name -> sha256 of each page written.
    """
    global _SHARED
    import multiprocessing

    todo = [p for p, row in enumerate(data.order) if row not in skip]
    count = len(todo)
    jobs = _default_jobs() if jobs is None else jobs
    if (
        jobs < 2
        or count < PARALLEL_MIN_ARTICLES
        or "fork" not in multiprocessing.get_all_start_methods()
    ):
        return _write_pages(data, out_dir, todo, digests)
    size = max(1, -(-count // (jobs * 8)))
    chunks = [todo[i : i + size] for i in range(0, count, size)]
    _SHARED = (data, out_dir)
    try:
        context = multiprocessing.get_context("fork")
        paths: list[Path] = []
        with context.Pool(jobs, initializer=_init_worker) as pool:
            for part, own in pool.imap(_render_chunk, chunks):
                paths += part
                if digests is not None:
                    digests.update(own)
        return paths
    finally:
        _SHARED = None


def _write_bytes(path: Path | str, content: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        view = memoryview(content)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def _write_parts(path: Path, parts: Iterable[str]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        for part in parts:
            view = memoryview(part.encode("utf-8"))
            while view:
                view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def _write(path: Path, content: str) -> Path:
    _write_bytes(path, content.encode("utf-8"))
    return path


def write_article_pages(data: ReleaseData, out_dir: Path, positions: Iterable[int]) -> list[Path]:
    """Render and write the pages of the articles at ``positions`` of the key order, a chunk
    of :data:`CHUNK_ARTICLES` at a time (only those pages' rows are in memory at once).

    Raises:
        FactpackError: An article id is not a safe file name, or an article's evidence offsets
            do not match its text.
    """
    return _write_pages(data, out_dir, positions)


def _write_pages(
    data: ReleaseData,
    out_dir: Path,
    positions: Iterable[int],
    digests: dict[str, str] | None = None,
) -> list[Path]:
    script = _asset("article.js")
    written = []
    todo = list(positions)
    for at in range(0, len(todo), CHUNK_ARTICLES):
        for article, mine in chunk_rows(data, todo[at : at + CHUNK_ARTICLES]):
            written.append(_write_page(article, mine, data, script, out_dir, digests))
    return written


# --- streaming the tables --------------------------------------------------------------------

STREAM_BATCH_ROWS = 1024
"""Rows per Arrow batch read from a Parquet file while streaming."""


@dataclass(frozen=True)
class StreamPlan:
    """How to stream a release whose tables keep each article's rows together, in the order
    of ``articles.parquet``: the rows of its n-th article are the n-th run of each table.

    Attributes:
        positions: Row of ``articles.parquet`` -> the article's place in the key order.
        starts: Table name -> row of ``articles.parquet`` -> the first row of that article in
            the table (one more entry: the table's row count).
        render: The rows of ``articles.parquet`` whose pages are rendered (None: all).
    """

    positions: list[int]
    starts: dict[str, list[int]]
    render: frozenset[int] | None = None


def stream_plan(overview: ReleaseData) -> StreamPlan | None:
    """Return how to stream the release ``overview`` was read from; None when a table does
    not keep the articles' order."""
    ids = [str(a) for a in _column(overview.tables["articles"], "article_id")]
    if len(set(ids)) != len(ids):
        return None
    starts: dict[str, list[int]] = {}
    for table in TABLES[1:]:
        if table in overview.regrouped:
            return None
        at = [0]
        for article_id in ids:
            first, count = overview.groups[table].get(article_id, (at[-1], 0))
            if first != at[-1]:
                return None
            at.append(first + count)
        if at[-1] != overview.tables[table].num_rows:
            return None
        starts[table] = at
    positions = [0] * len(ids)
    for position, row in enumerate(overview.order):
        positions[row] = position
    return StreamPlan(positions, starts)


class _RowStream:
    """The rows of one Parquet file, read a run at a time in increasing order of rows.

    Row groups holding none of the asked rows are never decoded.
    """

    def __init__(self, path: Path) -> None:
        import pyarrow.parquet as pq

        self._path = path
        self._file = pq.ParquetFile(path)
        self.schema = self._file.schema_arrow
        meta = self._file.metadata
        self._bounds = list(
            itertools.accumulate(
                (meta.row_group(g).num_rows for g in range(meta.num_row_groups)), initial=0
            )
        )
        self._pending: list[tuple[int, pa.RecordBatch]] = []  # (first row, batch)
        self._batches: Iterator[pa.RecordBatch] | None = None
        self._group = -1
        self._next = 0  # the first row of the batch self._batches gives next

    def rows(self, start: int, count: int) -> pa.Table:
        """Return the rows ``start`` .. ``start + count`` (``start`` never goes back)."""
        import pyarrow as pa

        pieces = []
        at, end = start, start + count
        while at < end:
            while self._pending and self._pending[0][0] + self._pending[0][1].num_rows <= at:
                self._pending.pop(0)
            if not self._pending:
                self._load(at)
                continue
            first, batch = self._pending[0]
            stop = min(batch.num_rows, end - first)
            pieces.append(batch.slice(at - first, stop - (at - first)))
            at = first + stop
        return pa.Table.from_batches(pieces, schema=self.schema)

    def _load(self, at: int) -> None:
        group = bisect.bisect_right(self._bounds, at) - 1
        if self._batches is None or group != self._group:
            if group >= len(self._bounds) - 1:
                raise FactpackError(
                    f"{display_path(self._path)}: has fewer rows than its row groups declare; "
                    "rebuild the release"
                )
            self._batches = self._file.iter_batches(
                batch_size=STREAM_BATCH_ROWS, row_groups=[group]
            )
            self._group, self._next = group, self._bounds[group]
        batch = next(self._batches)
        self._pending.append((self._next, batch))
        self._next += batch.num_rows


Failure = tuple[int, FactpackError]
"""A page that could not be rendered: the article's place in the key order, the problem."""


def stream_pages(
    release_dir: Path,
    data: ReleaseData,
    plan: StreamPlan,
    out_dir: Path,
    part: int = 0,
    parts: int = 1,
    digests: dict[str, str] | None = None,
) -> tuple[list[Path], Failure | None]:
    """Stream the release's tables and write the pages (of the rows ``plan.render``, all
    when None) in part ``part`` of ``parts``: consecutive windows of :data:`CHUNK_ARTICLES`
    articles with about as many pages in each part (a part stops reading where the next one
    begins).

    Only one window's rows are in memory at once; ``data`` (read with
    :data:`INDEX_READ`) gives the descriptor, fields and keys. ``digests`` gets page file
    name -> sha256 of each page written.

    Returns:
        The written pages, and the problem of the failing article first in key order.
    """
    streams = {t: _RowStream(release_dir / "data" / f"{t}.parquet") for t in TABLES}
    script = _asset("article.js")
    written: list[Path] = []
    failure: Failure | None = None
    count = len(plan.positions)
    starts = range(0, count, CHUNK_ARTICLES)
    render = plan.render
    wanted = [
        [i for i in range(s, min(s + CHUNK_ARTICLES, count)) if render is None or i in render]
        for s in starts
    ]
    total, before = sum(len(w) for w in wanted), 0
    for start, window in zip(starts, wanted, strict=True):
        owner = before * parts // total if total else 0
        before += len(window)
        if owner > part:
            break  # the later windows are the next parts': not even decoded here
        end = min(start + CHUNK_ARTICLES, count)
        mine = window if owner == part else []
        if not mine:
            continue
        articles = streams["articles"].rows(start, end - start)
        runs = {
            t: streams[t].rows(plan.starts[t][start], plan.starts[t][end] - plan.starts[t][start])
            for t in TABLES[1:]
        }
        rows = _to_rows(_take(articles, [i - start for i in mine]))
        ids = [str(a.get("article_id")) for a in rows]
        grouped: list[dict[str, list[Row]]] = [{} for _ in mine]
        for table, run in runs.items():
            at = plan.starts[table]
            table_rows = _to_rows(
                _take(run, [r - at[start] for i in mine for r in range(at[i], at[i + 1])])
            )
            offset = 0
            for i, article_id, own in zip(mine, ids, grouped, strict=True):
                n = at[i + 1] - at[i]
                own[table] = table_rows[offset : offset + n]
                offset += n
                _sort_rows(own[table], data.keys[table], article_id)
        for i, article, own in zip(mine, rows, grouped, strict=True):
            try:
                path = _write_page(article, own, data, script, out_dir, digests)
            except FactpackError as error:
                if failure is None or plan.positions[i] < failure[0]:
                    failure = (plan.positions[i], error)
                continue
            written.append(path)
    return written, failure


def _write_page(
    article: Row,
    mine: dict[str, list[Row]],
    data: ReleaseData,
    script: str,
    out_dir: Path,
    digests: dict[str, str] | None = None,
) -> Path:
    """Render and write one article page (its sha256 in ``digests`` under the file name)."""
    article_id = article.get("article_id")
    if not SAFE_ID.match(str(article_id)):
        raise FactpackError(
            f"data/articles.parquet: article_id {article_id!r} is not a "
            "safe file name (^[a-z0-9][a-z0-9_-]{0,63}$); rebuild the release"
        )
    content = article_page(article, mine, data, script).encode("utf-8")
    path = out_dir / f"{article_id}.html"
    _write_bytes(path, content)
    if digests is not None:
        digests[path.name] = hashlib.sha256(content).hexdigest()
    return path


_STREAM: tuple[Path, ReleaseData, StreamPlan, Path, int] | None = None
"""What a streaming worker was given when it started."""


def _init_stream_worker(
    stream: tuple[Path, ReleaseData, StreamPlan, Path, int],
) -> None:
    global _STREAM
    _STREAM = stream
    _init_worker()


def _stream_part(part: int) -> tuple[list[Path], Failure | None, dict[str, str]]:
    assert _STREAM is not None
    release_dir, data, plan, out_dir, parts = _STREAM
    digests: dict[str, str] = {}
    paths, failure = stream_pages(release_dir, data, plan, out_dir, part, parts, digests)
    return paths, failure, digests


def _streamed_pages(
    release_dir: Path,
    data: ReleaseData,
    plan: StreamPlan,
    out_dir: Path,
    jobs: int | None,
    digests: dict[str, str] | None = None,
) -> list[Path]:
    """Write the pages of ``plan`` by streaming, in ``jobs`` processes when there are enough
    pages (each reads the tables up to the end of its part); ``digests`` gets page file name
    -> sha256 of each page written.

    The workers are spawned, not forked: they are given ``data`` without its tables and the
    plan (a few MB at 100k articles) instead of inheriting the building process, so the
    tree's resident memory is each worker's own windows, not copies of the parent's pages.

    Raises:
        FactpackError: The problem of the failing article first in key order.
    """
    import multiprocessing

    todo = len(plan.positions) if plan.render is None else len(plan.render)
    jobs = _default_jobs() if jobs is None else jobs
    if jobs < 2 or todo < PARALLEL_MIN_ARTICLES:
        paths, failure = stream_pages(release_dir, data, plan, out_dir, digests=digests)
        failures = [failure]
    else:
        context = multiprocessing.get_context("spawn")
        given = (release_dir, data, plan, out_dir, jobs)
        with context.Pool(jobs, initializer=_init_stream_worker, initargs=(given,)) as pool:
            results = pool.map(_stream_part, range(jobs))
        paths = [p for part, _, _ in results for p in part]
        failures = [failure for _, failure, _ in results]
        for _, _, own in results:
            if digests is not None:
                digests.update(own)
    found = [f for f in failures if f is not None]
    if found:
        raise min(found, key=lambda f: f[0])[1]
    return paths
