"""Cheaper rendering of the review site: escaping skips values with nothing to escape.

``site.SiteEnvironment`` compiles the templates with ``escape_value`` where Jinja calls
markupsafe's ``escape``; the pages must be byte for byte what Jinja's own code renders.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import jinja2
import markupsafe
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adjudication_helpers import build_seed_release
from factpack.researcher import site


@given(st.one_of(st.text(alphabet=st.sampled_from("ab &<>\"'é𝕏\n")), st.text(), st.integers()))
def test_escape_value_gives_markupsafes_text(value: object) -> None:
    assert str(site.escape_value(value)) == str(markupsafe.escape(value))


def test_escape_value_keeps_markup_as_it_is() -> None:
    safe = markupsafe.Markup("<b>x</b>")
    assert site.escape_value(safe) is safe
    assert site.escape_value(None) == markupsafe.escape(None)


def test_the_templates_call_escape_value() -> None:
    env = site.environment()
    source = env.loader.get_source(env, "article.html.j2")[0]  # type: ignore[union-attr]
    code = env.compile(source, raw=True)
    assert "environment.escape_value(" in code
    assert "escape(" not in code.replace("environment.escape_value(", "")


def _site(release: Path) -> dict[str, str]:
    folder = release / "site"
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_the_site_is_byte_for_byte_what_jinjas_own_escaping_renders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The seed release (article, adjudication and index pages), rendered with Jinja's
    own environment and with the site's: the same files, the same bytes."""
    release = build_seed_release(tmp_path / "seed")
    assert (release / "site" / "adjudication").is_dir()  # every kind of page is compared
    fast = _site(release)
    plain = tmp_path / "plain"
    shutil.copytree(release, plain)
    site.environment.cache_clear()
    monkeypatch.setattr(site, "SiteEnvironment", jinja2.Environment)
    try:
        site.build_site(plain)
        assert "escape_value" not in repr(type(site.environment()))
    finally:
        site.environment.cache_clear()
    assert _site(plain) == {k: v for k, v in fast.items() if k != "SHA256SUMS"}
