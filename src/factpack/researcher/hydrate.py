"""Re-attach withheld article texts to a release: ``factpack hydrate RELEASE --texts DIR``.

A release built with ``text_policy: withhold`` publishes ``articles.text`` as null and keeps
everything that identifies the text: ``text_sha256``, ``char_count`` and, per row,
``char_start``, ``char_end`` and the quoted ``evidence_text``. Whoever holds a text can prove
it is the same one (its sha256) and get every offset back. :func:`hydrate` reads the texts in
``DIR`` (``<article_id>.txt`` or ``<stem>.txt``, the stem being the article id after an
optional ``<digits>_`` prefix), checks each against ``text_sha256`` and writes a copy beside
the release, ``<name>-<version>+text/``:

- ``data/articles.parquet`` and ``.csv`` (and the articles' partitioned copy, when the release
  has one) with ``articles.text`` filled, written by :mod:`factpack.shared.write`, the build's
  own writer, so with every text back they are byte-identical to a build with
  ``text_policy: include``; the other data files are copied as they are;
- the ``.duckdb`` written again, as the build writes it (:func:`factpack.shared.write.write_duckdb`
  with the build's settings and the schema read back from the release's ``datapackage.json``),
  so with every text back it is byte-identical to an ``include`` build's too;
- its own ``datapackage.json`` (hashes, bytes, ``text_policy`` counts), ``croissant.json``
  hashes, ``SHA256SUMS``, a note at the top of the card (``README.md``) that this copy holds
  texts the user supplied, and the full review site over the highlighted texts. No zip: the
  copy is for the user, not for publishing.

A text whose sha256 differs is refused with one line naming the article and both hashes (and
the first character at which it differs from a published quote, when the quotes show one);
nothing is written then. An article without a text in ``DIR`` stays withheld in the copy
(its pages show the quotes, as in the release) and is named; ``require_all`` refuses instead.
The copy is written into a temporary folder and renamed into place at the end: an interrupted
or refused run leaves nothing behind.

This module is on the researcher's side: it never imports the build side.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from factpack.shared import sums
from factpack.shared.problems import FactpackError, display_path

if TYPE_CHECKING:
    from factpack.researcher.releases import Release
    from factpack.shared.schema import Schema

ARTICLES = "data/articles.parquet"
ARTICLES_CSV = "data/articles.csv"
PARTITIONED_ARTICLES = "data/partitioned/articles"
"""The articles' hive-partitioned copy of a release built with ``--partition-by-year``."""
SUFFIX = "+text"
"""The hydrated copy of ``<name>-<version>/`` is ``<name>-<version>+text/`` beside it."""
SEQUENCE_PREFIX = re.compile(r"^[0-9]+_")
"""A stem's optional ordering prefix: ``000_a4c96cb10ee97359`` is article ``a4c96cb10ee97359``."""
SHOWN_IDS = 5
"""Article ids a one-line message names before ``and N more``."""


@dataclass(frozen=True)
class Hydrated:
    """What :func:`hydrate` did.

    Attributes:
        path: The hydrated copy.
        hydrated: The ids of the articles whose text was re-attached, sorted.
        withheld: The ids of the articles whose text is still withheld (none in ``DIR``).
        ignored: The text files of ``DIR`` that name no withheld article of the release.
        articles: The articles of the release.
    """

    path: Path
    hydrated: tuple[str, ...]
    withheld: tuple[str, ...]
    ignored: tuple[str, ...]
    articles: int


def id_list(ids: Sequence[str], limit: int = SHOWN_IDS) -> str:
    """Return ``a, b, c`` (at most ``limit`` ids, then ``and N more``)."""
    shown = ", ".join(ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def copy_name(descriptor: Mapping[str, Any], release_dir: Path) -> str:
    """Return the folder name of the hydrated copy: ``<name>-<version>+text``."""
    name, version = descriptor.get("name"), descriptor.get("version")
    if isinstance(name, str) and isinstance(version, str) and name and version:
        return f"{name}-{version}{SUFFIX}"
    return release_dir.name + SUFFIX


def text_files(texts_dir: Path, article_ids: Sequence[str]) -> tuple[dict[str, Path], list[str]]:
    """Return article id -> its text file in ``texts_dir``, and the ``.txt`` files naming
    none of ``article_ids``.

    A file is ``<article_id>.txt`` or ``<stem>.txt`` (``<digits>_<article_id>.txt``).

    Raises:
        FactpackError: ``texts_dir`` cannot be read, or two files name the same article
            with different bytes.
    """
    wanted = set(article_ids)
    found: dict[str, Path] = {}
    ignored: list[str] = []
    try:
        files = sorted(p for p in texts_dir.iterdir() if p.suffix == ".txt" and p.is_file())
    except OSError as error:
        raise FactpackError(
            f"{display_path(texts_dir)}: cannot read the folder ({error})"
        ) from None
    for path in files:
        stem = path.stem
        article_id = stem if stem in wanted else SEQUENCE_PREFIX.sub("", stem, count=1)
        if article_id not in wanted:
            ignored.append(path.name)
            continue
        other = found.get(article_id)
        if other is not None:
            if other.read_bytes() != path.read_bytes():
                raise FactpackError(
                    f"{display_path(path)}: article {article_id} has two different texts "
                    f"({other.name} and {path.name}); keep the one as published"
                )
            continue
        found[article_id] = path
    return found, ignored


def _quotes_of(release_dir: Path, article_id: str) -> list[tuple[int, int, str, str]]:
    from factpack.researcher import site

    return site.published_quotes(release_dir, [article_id]).get(article_id, [])


def difference(
    text: str | None, char_count: Any, quotes: Sequence[tuple[int, int, str, str]]
) -> str:
    """Return where a supplied text visibly differs from the published one: its length
    against ``char_count``, and the first character at which it differs from a published
    quote (offsets are code points). Empty when neither shows a difference."""
    if text is None:
        return "it is not UTF-8"
    parts = []
    if isinstance(char_count, int) and len(text) != char_count:
        parts.append(f"it has {len(text)} characters, the published text {char_count}")
    first: tuple[int, str] | None = None
    for start, end, quote, row_id in quotes:
        if first is not None and start >= first[0]:
            break
        piece = text[start:end]
        if piece == quote:
            continue
        at = next(
            (i for i, (a, b) in enumerate(zip(piece, quote, strict=False)) if a != b),
            min(len(piece), len(quote)),
        )
        if first is None or start + at < first[0]:
            first = (start + at, row_id)
    if first is not None:
        parts.append(f"first difference at character {first[0]} (in the evidence of {first[1]})")
    return "; ".join(parts)


BOM = b"\xef\xbb\xbf"


def saved_as(data: bytes, text_sha256: str) -> str:
    """Return how ``data`` differs from the text of ``text_sha256`` when it is that text
    saved with a byte-order mark or CRLF line ends (``a byte-order mark``, ``CRLF line
    ends`` or both), else an empty string."""
    plain = data.removeprefix(BOM)
    cases = (
        (plain, "a byte-order mark"),
        (data.replace(b"\r\n", b"\n"), "CRLF line ends"),
        (plain.replace(b"\r\n", b"\n"), "a byte-order mark and CRLF line ends"),
    )
    for candidate, how in cases:
        if candidate != data and hashlib.sha256(candidate).hexdigest() == text_sha256:
            return how
    return ""


def checked_text(
    path: Path,
    article_id: str,
    text_sha256: str,
    char_count: Any,
    quotes: Callable[[], Sequence[tuple[int, int, str, str]]],
) -> str:
    """Return the text in ``path`` if its sha256 is ``text_sha256``.

    Args:
        path: The text file.
        article_id: The article it should be.
        text_sha256: The release's ``text_sha256`` of the article.
        char_count: The release's ``char_count`` (to describe a difference).
        quotes: Returns the article's published quotes (called only to describe a
            difference).

    Raises:
        FactpackError: One line: the article, both hashes and where the text differs.
    """
    try:
        data = path.read_bytes()
    except OSError as error:
        raise FactpackError(f"{display_path(path)}: cannot read it ({error})") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest == text_sha256:
        return data.decode("utf-8")
    saved = saved_as(data, text_sha256)
    if saved:
        raise FactpackError(
            f"{display_path(path)}: article {article_id}: sha256 {digest} is not the release's "
            f"text_sha256 {text_sha256}, but the text is the published one saved with {saved}; "
            "save it as UTF-8 without a byte-order mark, with LF line ends (e.g. dos2unix)"
        )
    try:
        text: str | None = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    where = difference(text, char_count, quotes())
    raise FactpackError(
        f"{display_path(path)}: article {article_id}: sha256 {digest} is not the release's "
        f"text_sha256 {text_sha256}"
        + (f" ({where})" if where else " (the difference lies outside every published quote)")
        + "; supply the text exactly as published (UTF-8, LF line ends, no BOM)"
    )


def fill_texts(table: Any, texts: Mapping[str, str]) -> Any:
    """Return the Arrow ``table`` (with ``article_id`` and ``text``) with a null ``text`` set
    to ``texts[article_id]`` where given (Arrow compute: no row becomes a Python object); its
    schema (field metadata, nullability) kept."""
    import pyarrow as pa
    import pyarrow.compute as pc

    at = table.schema.get_field_index("text")
    field = table.schema.field(at)
    keys = pa.array(list(texts), type=table.schema.field("article_id").type)
    values = pa.array(list(texts.values()), type=field.type)
    where = pc.index_in(table.column("article_id").combine_chunks(), value_set=keys)
    filled = pc.coalesce(table.column("text").combine_chunks(), values.take(where))
    return table.set_column(at, field, filled)


def _write_duckdb(schema: Schema, release: Release, out: Path, articles: Any, db: Path) -> None:
    """Write the copy's DuckDB file ``db`` as the build writes it: every table of ``schema``
    (``articles`` given, filled; the others read from the copy ``out``'s Parquet files) through
    :func:`factpack.shared.write.write_duckdb` with the build's settings (the writer's
    defaults), so with every text back the file equals an ``include`` build's."""
    import duckdb
    import pyarrow.parquet as pq

    from factpack.shared.write import write_duckdb

    source = release.path / "datapackage.json"
    tables = {}
    for name in schema.tables:
        if name == "articles":
            tables[name] = articles
            continue
        path = release.tables.get(name)
        if path is None:
            raise FactpackError(
                f"{display_path(source)}: table {name} has no Parquet file; is the release "
                "complete?"
            )
        copied = out / path.relative_to(release.path)
        try:
            tables[name] = pq.read_table(copied)
        except (OSError, ValueError) as error:
            raise FactpackError(
                f"{display_path(path)}: cannot read it ({error}); is the release complete?"
            ) from None
    try:
        write_duckdb(tables, schema, db)
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise FactpackError(
            f"{display_path(db)}: cannot write the DuckDB file ({first}); free some space or "
            "fix the permissions and hydrate again (nothing is left half-written)"
        ) from None


def _json_text(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _update_descriptor(
    descriptor: dict[str, Any], out: Path, changed: Sequence[str], withheld: int, hydrated: int
) -> dict[str, Any]:
    """Return the copy's datapackage.json: the hashes and sizes of ``changed`` files, the
    data's size, and ``text_policy`` with how many texts are withheld and hydrated."""
    resources = descriptor.get("resources") or []
    for resource in resources:
        rel = resource.get("path") if isinstance(resource, dict) else None
        if isinstance(rel, str) and rel in changed:
            path = out / rel
            if "hash" in resource:
                resource["hash"] = f"sha256:{sums.sha256_file(path)}"
            if "bytes" in resource:
                resource["bytes"] = path.stat().st_size
    if "dataBytes" in descriptor:
        descriptor["dataBytes"] = sum(
            (out / str(r["path"])).stat().st_size
            for r in resources
            if isinstance(r, dict)
            and isinstance(r.get("path"), str)
            and (out / r["path"]).is_file()
        )
    policy = descriptor.get("text_policy")
    policy = dict(policy) if isinstance(policy, dict) else {}
    policy["withheld"] = withheld
    policy["hydrated"] = hydrated
    descriptor["text_policy"] = policy
    return descriptor


def _update_croissant(path: Path, out: Path, changed: Sequence[str]) -> None:
    """Set the ``sha256`` (and ``contentSize``) of the changed files in ``croissant.json``."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    for item in doc.get("distribution") or []:
        rel = item.get("contentUrl") if isinstance(item, dict) else None
        if isinstance(rel, str) and rel in changed:
            if "sha256" in item:
                item["sha256"] = sums.sha256_file(out / rel)
            if "contentSize" in item:
                item["contentSize"] = f"{(out / rel).stat().st_size} B"
    path.write_text(_json_text(doc), encoding="utf-8")


def card_note(release: str, hydrated: int, withheld: int, command: str) -> str:
    """Return the note at the top of a hydrated copy's card (Markdown)."""
    still = (
        f" {withheld} article text{'s' * (withheld != 1)} stay withheld (no text was supplied):"
        " their pages show the evidence quotes, as in the release."
        if withheld
        else ""
    )
    return (
        f"> **This copy holds article texts the user supplied.** It was made from the release "
        f"`{release}`, whose article texts are withheld, by `{command}`: {hydrated} "
        f"text{'s' * (hydrated != 1)} were re-attached, each from a file whose SHA-256 equals "
        f"the article's `text_sha256`.{still} The texts remain their publishers'; this copy is "
        "for the user's own research, not for redistribution. Its data files are the release's "
        "with `articles.text` filled; `datapackage.json` and `SHA256SUMS` describe this copy.\n"
    )


def _add_card_note(path: Path, note: str) -> None:
    """Insert ``note`` after the card's first level-1 heading (else at its top)."""
    text = path.read_text(encoding="utf-8")
    match = re.search(r"^# .*\n", text, flags=re.MULTILINE)
    at = match.end() if match else 0
    path.write_text(text[:at] + "\n" + note + text[at:], encoding="utf-8")


def _is_hydrated_copy(path: Path) -> bool:
    try:
        doc = json.loads((path / "datapackage.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    policy = doc.get("text_policy") if isinstance(doc, dict) else None
    return isinstance(policy, dict) and "hydrated" in policy


def hydrate(
    release_dir: Path,
    texts_dir: Path,
    *,
    require_all: bool = False,
    command: str | None = None,
) -> Hydrated:
    """Write the hydrated copy of the release in ``release_dir`` beside it.

    Args:
        release_dir: The release (``<name>-<version>/``).
        texts_dir: The folder of texts (``<article_id>.txt`` or ``<stem>.txt``).
        require_all: Refuse unless every withheld text is in ``texts_dir``.
        command: The command line to name in the card note (default: a plain one).

    Returns:
        What was hydrated, what stays withheld and which files named no withheld article.

    Raises:
        FactpackError: One line: a text whose sha256 differs, no text of a withheld article in
            ``texts_dir`` (or, with ``require_all``, some missing), a release without withheld
            texts, a hydrated copy, an unreadable release, or a folder in the way of the copy.
    """
    import pyarrow.parquet as pq

    from factpack.researcher import site
    from factpack.researcher.releases import read_descriptor, read_release
    from factpack.shared.schema import schema_from_descriptor
    from factpack.shared.write import write_csv, write_parquet

    descriptor = read_descriptor(release_dir)
    if _is_hydrated_copy(release_dir):
        original = release_dir.name.removesuffix(SUFFIX)
        raise FactpackError(
            f"{display_path(release_dir)}: is a hydrated copy; hydrate the release itself "
            f"({original}): the copy is written again with every text you give"
        )
    release = read_release(release_dir)
    # The .duckdb is written again from the tables, as the build writes it: its schema is the
    # one the release's datapackage.json records (read back before anything is written).
    source = release_dir / "datapackage.json"
    has_db = any(release_dir.glob("*.duckdb"))
    db_schema = schema_from_descriptor(descriptor, source) if has_db else None
    articles_path = release_dir / ARTICLES
    try:
        articles = pq.read_table(articles_path)
    except (OSError, ValueError) as error:
        raise FactpackError(
            f"{display_path(articles_path)}: cannot read it ({error}); is the release complete?"
        ) from None
    missing = {"article_id", "text", "text_sha256"} - set(articles.column_names)
    if missing:
        raise FactpackError(
            f"{display_path(articles_path)}: no column {sorted(missing)[0]}; "
            "this is not a factpack release"
        )
    rows = articles.select(["article_id", "text_sha256", "char_count", "text"]).to_pylist()
    withheld_rows = {str(r["article_id"]): r for r in rows if r["text"] is None}
    if not withheld_rows:
        raise FactpackError(
            f"{display_path(release_dir)}: every article text is in the release already; "
            "nothing to hydrate"
        )
    ids = sorted(withheld_rows)
    files, ignored = text_files(texts_dir, ids)
    if not files:
        raise FactpackError(
            f"{display_path(texts_dir)}: no text of the {len(ids)} withheld article"
            f"{'s' * (len(ids) != 1)} ({id_list(ids)}); save each as <article_id>.txt"
        )
    absent = [i for i in ids if i not in files]
    if absent and require_all:
        raise FactpackError(
            f"{display_path(texts_dir)}: no text of {len(absent)} withheld article"
            f"{'s' * (len(absent) != 1)} ({id_list(absent)}); save each as <article_id>.txt"
        )
    texts: dict[str, str] = {}
    for article_id in sorted(files):
        row = withheld_rows[article_id]
        path = files[article_id]
        texts[article_id] = checked_text(
            path,
            article_id,
            str(row["text_sha256"]),
            row["char_count"],
            functools.partial(_quotes_of, release_dir, article_id),
        )
    out = release_dir.parent / copy_name(descriptor, release_dir)
    if out.exists() and not _is_hydrated_copy(out):
        raise FactpackError(
            f"{display_path(out)}: exists and is not a hydrated copy; move it away first"
        )
    staging = release_dir.parent / f".{out.name}.tmp-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    try:
        shutil.copytree(
            release_dir,
            staging,
            ignore=lambda d, names: [sums.SITE_DIR] if Path(d) == release_dir else [],
        )
        table = fill_texts(articles, texts)
        changed = [ARTICLES, ARTICLES_CSV]
        write_parquet(table, staging / ARTICLES)
        if (staging / ARTICLES_CSV).exists():
            write_csv(table, staging / ARTICLES_CSV)
        for part in sorted((staging / PARTITIONED_ARTICLES).glob("*/*.parquet")):
            write_parquet(fill_texts(pq.read_table(part), texts), part)
        if db_schema is not None:
            for db in sorted(staging.glob("*.duckdb")):
                _write_duckdb(db_schema, release, staging, table, db)
        remaining = len(ids) - len(texts)
        new = _update_descriptor(descriptor, staging, changed, remaining, len(texts))
        (staging / "datapackage.json").write_text(_json_text(new), encoding="utf-8")
        if (staging / "croissant.json").is_file():
            _update_croissant(staging / "croissant.json", staging, changed)
        if (staging / "README.md").is_file():
            shown = command or f"factpack hydrate {release_dir.name} --texts {texts_dir.name}/"
            note = card_note(release_dir.name, len(texts), remaining, shown)
            _add_card_note(staging / "README.md", note)
        sums.write(staging)
        site.build_site(staging)
        sums.write(staging / sums.SITE_DIR, top=False)
        old = release_dir.parent / f".{out.name}.old-{os.getpid()}"
        if out.exists():
            out.rename(old)
        staging.rename(out)
        if old.exists():
            shutil.rmtree(old)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return Hydrated(out, tuple(sorted(texts)), tuple(absent), tuple(ignored), len(rows))
