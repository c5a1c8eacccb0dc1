"""Compare two releases table by table: rows added, removed and changed by primary key.

The primary keys come from each release's ``datapackage.json``; rows are matched on them and a
matched row is "changed" when any column both releases have differs (null equals null).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from factpack.researcher.query import jsonable, quote_identifier, quote_literal, render_table
from factpack.researcher.releases import Release
from factpack.shared.problems import FactpackError, display_path

SUMS_FILE = "SHA256SUMS"


@dataclass(frozen=True)
class RowChange:
    """One row present in both releases with different values.

    Attributes:
        key: Primary key column -> value.
        columns: Changed column -> (old value, new value).
    """

    key: dict[str, Any]
    columns: dict[str, tuple[Any, Any]]


@dataclass(frozen=True)
class TableDiff:
    """How one table changed between two releases."""

    table: str
    primary_key: list[str]
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    changed: list[RowChange] = field(default_factory=list)
    columns_added: list[str] = field(default_factory=list)
    columns_removed: list[str] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        """True when nothing changed."""
        return not (
            self.added or self.removed or self.changed or self.columns_added or self.columns_removed
        )


@dataclass(frozen=True)
class ReleaseDiff:
    """How a release changed: per table, in the new release's table order.

    Attributes:
        old: The old release's version.
        new: The new release's version.
        tables: One diff per table.
        old_path: Where the old release is (as shown to the user).
        new_path: Where the new release is.
        same_content: Whether both SHA256SUMS are identical (None when a side has none).
    """

    old: str
    new: str
    tables: list[TableDiff]
    old_path: str = ""
    new_path: str = ""
    same_content: bool | None = None

    def headline(self) -> str:
        """Return the first line: both versions and where they are, old -> new."""
        old = f"{self.old} ({self.old_path})" if self.old_path else self.old
        new = f"{self.new} ({self.new_path})" if self.new_path else self.new
        return f"{old} -> {new}"

    def version_note(self) -> str | None:
        """Return what to say when both sides are the same version, else None."""
        if self.old != self.new:
            return None
        if self.same_content is False:
            return (
                f"both are version {self.old} but their content differs (SHA256SUMS differ): "
                "one of them is not the release published as that version"
            )
        if self.same_content:
            return f"both are version {self.old} with the same content (identical SHA256SUMS)"
        return f"both are version {self.old}"


def _columns(con: Any, relation: str) -> dict[str, str]:
    rows = con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
    return {r[0]: r[1] for r in rows}


def _keys(con: Any, sql: str, pk: list[str]) -> list[dict[str, Any]]:
    return [dict(zip(pk, row, strict=True)) for row in con.execute(sql).fetchall()]


def diff_table(
    con: Any, table: str, old_file: str | None, new_file: str | None, pk: list[str]
) -> TableDiff:
    """Diff one table given its Parquet files (None when the table is absent on that side).

    Raises:
        FactpackError: No primary key, or a side lacks the key columns.
    """
    if not pk:
        raise FactpackError(f"table {table!r} declares no primaryKey; cannot match rows")
    old = f"read_parquet({quote_literal(old_file)})" if old_file else None
    new = f"read_parquet({quote_literal(new_file)})" if new_file else None
    old_cols = _columns(con, old) if old else {}
    new_cols = _columns(con, new) if new else {}
    for side, cols in (("old", old_cols), ("new", new_cols)):
        missing = [c for c in pk if cols and c not in cols]
        if missing:
            raise FactpackError(f"table {table!r}: the {side} release lacks key columns {missing}")
    keys = ", ".join(quote_identifier(c) for c in pk)
    order = f" ORDER BY {keys}"
    if old is None or new is None:
        rows = _keys(con, f"SELECT {keys} FROM {old or new}{order}", pk)
        return TableDiff(
            table=table,
            primary_key=pk,
            added=rows if old is None else [],
            removed=rows if new is None else [],
            columns_added=list(new_cols) if old is None else [],
            columns_removed=list(old_cols) if new is None else [],
        )
    added = _keys(con, f"SELECT {keys} FROM {new} EXCEPT SELECT {keys} FROM {old}{order}", pk)
    removed = _keys(con, f"SELECT {keys} FROM {old} EXCEPT SELECT {keys} FROM {new}{order}", pk)
    common = [c for c in new_cols if c in old_cols and c not in pk]
    changed: list[RowChange] = []
    if common:

        def pair(c: str) -> tuple[str, str]:
            o, n = f"o.{quote_identifier(c)}", f"n.{quote_identifier(c)}"
            if old_cols[c] != new_cols[c]:
                o, n = f"CAST({o} AS VARCHAR)", f"CAST({n} AS VARCHAR)"
            return o, n

        pairs = [pair(c) for c in common]
        differs = " OR ".join(f"{o} IS DISTINCT FROM {n}" for o, n in pairs)
        select = ", ".join(
            [f"n.{quote_identifier(c)}" for c in pk] + [f"{o}, {n}" for o, n in pairs]
        )
        sql = (
            f"SELECT {select} FROM {old} AS o JOIN {new} AS n USING ({keys}) "
            f"WHERE {differs} ORDER BY {', '.join(f'n.{quote_identifier(c)}' for c in pk)}"
        )
        for row in con.execute(sql).fetchall():
            key = dict(zip(pk, row[: len(pk)], strict=True))
            values = row[len(pk) :]
            delta = {
                c: (values[2 * i], values[2 * i + 1])
                for i, c in enumerate(common)
                if values[2 * i] != values[2 * i + 1]
            }
            changed.append(RowChange(key=key, columns=delta))
    return TableDiff(
        table=table,
        primary_key=pk,
        added=added,
        removed=removed,
        changed=changed,
        columns_added=[c for c in new_cols if c not in old_cols],
        columns_removed=[c for c in old_cols if c not in new_cols],
    )


def diff_releases(old: Release, new: Release) -> ReleaseDiff:
    """Diff every table of two releases (tables only in one of them count as all added/removed).

    Raises:
        FactpackError: A table without a primary key, or key columns missing.
    """
    import duckdb

    con = duckdb.connect()
    names = list(new.tables) + [t for t in old.tables if t not in new.tables]
    tables = []
    for name in names:
        pk = new.primary_keys.get(name) or old.primary_keys.get(name) or []
        old_file = str(old.tables[name]) if name in old.tables else None
        new_file = str(new.tables[name]) if name in new.tables else None
        tables.append(diff_table(con, name, old_file, new_file, pk))
    return ReleaseDiff(
        old=old.version,
        new=new.version,
        tables=tables,
        old_path=display_path(old.path),
        new_path=display_path(new.path),
        same_content=_same_sums(old, new),
    )


def _same_sums(old: Release, new: Release) -> bool | None:
    """Whether two releases have identical SHA256SUMS (None when either has none)."""
    try:
        return (old.path / SUMS_FILE).read_bytes() == (new.path / SUMS_FILE).read_bytes()
    except OSError:
        return None


def _key_text(key: dict[str, Any]) -> str:
    return ",".join(str(v) for v in key.values())


def to_json(diff: ReleaseDiff) -> dict[str, Any]:
    """Return the diff as JSON-ready data (keys as objects, old/new values per changed column)."""
    return {
        "old": diff.old,
        "new": diff.new,
        "old_path": diff.old_path,
        "new_path": diff.new_path,
        "same_content": diff.same_content,
        "tables": {
            t.table: {
                "primary_key": t.primary_key,
                "added": [jsonable(k) for k in t.added],
                "removed": [jsonable(k) for k in t.removed],
                "changed": [
                    {
                        "key": jsonable(c.key),
                        "columns": {
                            col: {"old": jsonable(o), "new": jsonable(n)}
                            for col, (o, n) in c.columns.items()
                        },
                    }
                    for c in t.changed
                ],
                "columns_added": t.columns_added,
                "columns_removed": t.columns_removed,
            }
            for t in diff.tables
        },
    }


def render_text(diff: ReleaseDiff) -> str:
    """Render a summary per table, then a line per added (+), removed (-), changed (~) row."""
    import pyarrow as pa

    summary = pa.table(
        {
            "table": [t.table for t in diff.tables],
            "added": [len(t.added) for t in diff.tables],
            "removed": [len(t.removed) for t in diff.tables],
            "changed": [len(t.changed) for t in diff.tables],
            "changed columns": [
                ", ".join(sorted({c for ch in t.changed for c in ch.columns})) for t in diff.tables
            ],
        }
    )
    note = diff.version_note()
    lines = [diff.headline(), *([note] if note else []), render_table(summary).rsplit("\n", 1)[0]]
    for t in diff.tables:
        if t.columns_added:
            lines.append(f"{t.table}: columns added: {', '.join(t.columns_added)}")
        if t.columns_removed:
            lines.append(f"{t.table}: columns removed: {', '.join(t.columns_removed)}")
        lines += [f"+ {t.table} {_key_text(k)}" for k in t.added]
        lines += [f"- {t.table} {_key_text(k)}" for k in t.removed]
        lines += [f"~ {t.table} {_key_text(c.key)}: {', '.join(c.columns)}" for c in t.changed]
    if all(t.is_empty for t in diff.tables):
        lines.append("no differences")
    return "\n".join(lines)
