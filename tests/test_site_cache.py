"""The review site's page cache: unchanged article pages are reused, never a stale one."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from factpack.researcher import site
from test_site import A1, A2, fixture_rows, write_release

KEYS = {A1: "key-1", A2: "key-2"}


def pages(release: Path) -> dict[str, bytes]:
    """Every file of the release's site by its path inside ``site/``."""
    root = release / "site"
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def clean(tmp_path: Path, rows: dict[str, list[dict[str, Any]]] | None = None) -> dict[str, bytes]:
    """The site of a release with ``rows`` built from scratch without a cache."""
    release = write_release(tmp_path / "clean", rows)
    site.build_site(release)
    return pages(release)


def entries(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir())


def test_rebuild_with_cache_reuses_pages_and_matches_a_clean_build(tmp_path: Path) -> None:
    release = write_release(tmp_path / "r")
    cache = tmp_path / "cache"
    site.build_site(release, page_keys=KEYS, cache_dir=cache)
    assert pages(release) == clean(tmp_path)
    assert len(entries(cache)) == 2
    # Change one article's rows (and so its key): only that page is rendered again.
    rows = fixture_rows()
    rows["claims"][0]["claim_text"] = "The US was behind the attack <changed>"
    write_release(release, rows)
    site.build_site(release, page_keys={**KEYS, A1: "key-1-changed"}, cache_dir=cache)
    assert pages(release) == clean(tmp_path / "changed", rows)
    assert b"&lt;changed&gt;" in (release / "site" / "articles" / f"{A1}.html").read_bytes()
    # The unchanged page is the cached file itself (a hard link); the old entry is pruned.
    page2 = release / "site" / "articles" / f"{A2}.html"
    assert page2.stat().st_nlink == 2
    assert len(entries(cache)) == 2
    assert any(os.path.samefile(cache / name, page2) for name in entries(cache))


def test_a_corrupt_or_half_written_entry_is_never_used(tmp_path: Path) -> None:
    release = write_release(tmp_path / "r")
    cache = tmp_path / "cache"
    site.build_site(release, page_keys=KEYS, cache_dir=cache)
    first, second = (cache / name for name in entries(cache))
    # Same size, other bytes, written in place (as through the release's hard link).
    with first.open("r+b") as handle:
        handle.write(b"X" * first.stat().st_size)
    # Cut short, its old mtime restored: the size no longer matches the name.
    stamp = second.stat().st_mtime_ns
    second.write_bytes(second.read_bytes()[:100])
    os.utime(second, ns=(stamp, stamp))
    # What a killed build leaves: a temporary file, never a complete entry name.
    (cache / f"{site.CACHE_TMP}999-junk").write_bytes(b"<html")
    site.build_site(release, page_keys=KEYS, cache_dir=cache)
    assert pages(release) == clean(tmp_path)
    names = entries(cache)
    assert len(names) == 2 and not any(n.startswith(site.CACHE_TMP) for n in names)
    assert all(b"X" * 10 not in (cache / n).read_bytes() for n in names)


def test_regenerating_the_site_without_cache_leaves_the_entries_intact(tmp_path: Path) -> None:
    release = write_release(tmp_path / "r")
    cache = tmp_path / "cache"
    site.build_site(release, page_keys=KEYS, cache_dir=cache)
    before = {n: (cache / n).read_bytes() for n in entries(cache)}
    site.build_site(release)  # `factpack site`: replaces site/ whole, writes new files only
    assert {n: (cache / n).read_bytes() for n in entries(cache)} == before
    site.build_site(release, page_keys=KEYS, cache_dir=cache)
    assert entries(cache) == sorted(before)  # reused, not stored again
    assert pages(release) == clean(tmp_path)


def test_what_the_page_shows_besides_its_rows_is_in_the_fingerprint(tmp_path: Path) -> None:
    release = write_release(tmp_path / "r")
    cache = tmp_path / "cache"
    site.build_site(release, page_keys=KEYS, cache_dir=cache)
    old = entries(cache)
    descriptor = json.loads((release / "datapackage.json").read_text("utf-8"))
    descriptor["title"] = "Renamed pack"
    descriptor["resources"][1]["schema"]["fields"][2]["name"] = "label"  # sources.name
    (release / "datapackage.json").write_text(json.dumps(descriptor), "utf-8")
    site.build_site(release, page_keys=KEYS, cache_dir=cache)
    assert not set(old) & set(entries(cache))
    fresh = write_release(tmp_path / "fresh")
    (fresh / "datapackage.json").write_text(json.dumps(descriptor), "utf-8")
    site.build_site(fresh)
    assert pages(release) == pages(fresh)
    assert "Renamed pack" in (release / "site" / "articles" / f"{A1}.html").read_text("utf-8")


def test_fingerprint_covers_the_release_name_and_the_parquet_types(tmp_path: Path) -> None:
    release = write_release(tmp_path / "r")
    data = site.read_release_data(release, site.INDEX_READ)
    base = site.site_fingerprint(data)
    renamed = dict(data.descriptor, version="9.9.9")
    assert site.site_fingerprint(site.ReleaseData(**{**vars(data), "descriptor": renamed})) != base
    schemas = dict(data.schemas)
    schemas["events"] = schemas["events"].remove(0)
    assert site.site_fingerprint(site.ReleaseData(**{**vars(data), "schemas": schemas})) != base
    assert site.site_fingerprint(site.read_release_data(release)) == base
    assert site.entry_key(base, A1, "k") != site.entry_key(base, A2, "k")


def test_removed_articles_and_unkeyed_pages_leave_nothing_in_the_cache(tmp_path: Path) -> None:
    release = write_release(tmp_path / "r")
    cache = tmp_path / "cache"
    site.build_site(release, page_keys=KEYS, cache_dir=cache)
    site.build_site(release, page_keys={A2: "key-2"}, cache_dir=cache)  # A1 has no key
    assert pages(release) == clean(tmp_path)
    assert len(entries(cache)) == 1
    (cache / "notes.txt").write_text("not ours")
    rows = {t: [r for r in rs if r["article_id"] != A2] for t, rs in fixture_rows().items()}
    write_release(release, rows)
    site.build_site(release, page_keys=KEYS, cache_dir=cache)
    assert pages(release) == clean(tmp_path / "one", rows)
    assert len(entries(cache)) == 2  # A1's new entry and the file that is not an entry


def test_without_hard_links_pages_are_copied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = write_release(tmp_path / "r")
    cache = tmp_path / "cache"

    def no_link(src: object, dst: object) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_link)
    site.build_site(release, page_keys=KEYS, cache_dir=cache)
    site.build_site(release, page_keys=KEYS, cache_dir=cache)
    assert pages(release) == clean(tmp_path)
    assert (release / "site" / "articles" / f"{A1}.html").stat().st_nlink == 1
    assert len(entries(cache)) == 2


def test_pages_rendered_by_two_processes_are_cached_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(site, "PARALLEL_MIN_ARTICLES", 1)
    release = write_release(tmp_path / "r")
    cache = tmp_path / "cache"
    site.build_site(release, jobs=2, page_keys=KEYS, cache_dir=cache)
    assert len(entries(cache)) == 2
    site.build_site(release, jobs=2, page_keys=KEYS, cache_dir=cache)
    assert pages(release) == clean(tmp_path)
    assert (release / "site" / "articles" / f"{A1}.html").stat().st_nlink == 2


def test_pages_from_files_of_many_row_groups_match_a_clean_build(tmp_path: Path) -> None:
    """Only the row groups of the changed article are read; the pages are the same."""
    rows = fixture_rows()
    release = write_release(tmp_path / "r", rows)
    cache = tmp_path / "cache"

    def split_row_groups() -> None:
        for path in (release / "data").glob("*.parquet"):
            pq.write_table(pq.read_table(path), path, row_group_size=1)

    split_row_groups()
    site.build_site(release, page_keys=KEYS, cache_dir=cache)
    rows["claims"][-1]["claim_text"] = "changed"  # A1's last claim
    write_release(release, rows)
    split_row_groups()
    site.build_site(release, page_keys={**KEYS, A1: "key-1-changed"}, cache_dir=cache)
    assert pages(release) == clean(tmp_path, rows)


def test_tables_not_in_article_order_are_read_for_the_changed_pages_only(
    tmp_path: Path,
) -> None:
    rows = fixture_rows()
    rows["sources"].reverse()  # not grouped in the articles' order: no streaming
    release = write_release(tmp_path / "r", rows)
    cache = tmp_path / "cache"
    site.build_site(release, page_keys=KEYS, cache_dir=cache)
    rows["events"][0]["summary"] = "changed <summary>"
    write_release(release, rows)
    site.build_site(release, page_keys={**KEYS, A1: "key-1-changed"}, cache_dir=cache)
    assert pages(release) == clean(tmp_path, rows)
    assert (release / "site" / "articles" / f"{A2}.html").stat().st_nlink == 2


def test_a_cache_that_cannot_be_made_only_costs_time(tmp_path: Path) -> None:
    release = write_release(tmp_path / "r")
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache directory's parent should be")
    site.build_site(release, page_keys=KEYS, cache_dir=blocker / "cache")
    assert pages(release) == clean(tmp_path)
