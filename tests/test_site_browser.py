"""The review site in a real browser: headless Chromium opens an article page from the disk.

Needs Debian's ``chromium`` and ``chromium-driver`` (``make browser`` installs them; .ci/run calls
it before the tests). Skips with a message when they are missing. Saves a screenshot of the
article page under ``build/`` for review.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOT_DIR = ROOT / "build"
CHROME_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
)


def _missing() -> str:
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        return (
            f"headless Chromium not installed ({CHROMIUM}, {CHROMEDRIVER}): "
            "run `make browser` (as root: apt-get install chromium chromium-driver)"
        )
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed: run `make venv`"
    return ""


def _driver(javascript: bool = True) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in CHROME_ARGS:
        options.add_argument(arg)
    profile = tempfile.mkdtemp(prefix="factpack-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    if not javascript:
        options.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2}
        )
    try:
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    except Exception:
        shutil.rmtree(profile, ignore_errors=True)
        raise
    driver._factpack_profile = profile  # type: ignore[attr-defined]  # removed after quit
    return driver


def _quit(driver: Any) -> None:
    driver.quit()
    shutil.rmtree(driver._factpack_profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    reason = _missing()
    if reason:
        pytest.skip(reason)
    driver = _driver()
    try:
        yield driver
    finally:
        _quit(driver)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, dict[str, list[Any]]]:
    """The release of the real seed, built with its text included, with its site.

    Returns (release dir, seed article id, that article's rows per table).
    """
    from factpack.pipeline.release import build
    from factpack.pipeline.versions import own_schema

    work = tmp_path_factory.mktemp("seed-build")
    schema = own_schema(work / "schema", text_policy="include")  # the pages show the text
    release = build(ROOT / "seeds", work / "dist", work / "build", schema).release_dir
    assert (release / "site" / "index.html").is_file(), "the release build writes the site"
    articles = pq.read_table(release / "data" / "articles.parquet").to_pylist()
    article_id = articles[0]["article_id"]
    rows = {
        table: [
            r
            for r in pq.read_table(release / "data" / f"{table}.parquet").to_pylist()
            if r["article_id"] == article_id
        ]
        for table in ("sources", "events", "claims")
    }
    return release, article_id, rows


def _page(release: Path, article_id: str) -> str:
    return (release / "site" / "articles" / f"{article_id}.html").resolve().as_uri()


PIECES_JS = """
const out = {};
for (const m of document.querySelectorAll('.text mark.hl')) {
  const id = m.dataset.id;
  const bg = getComputedStyle(m).backgroundColor;
  const e = out[id] || (out[id] = {text: '', kinds: [], backgrounds: []});
  e.text += m.textContent; e.kinds.push(m.className); e.backgrounds.push(bg);
}
return out;
"""


def test_every_source_event_and_claim_is_highlighted(browser: Any, built: Any) -> None:
    release, article_id, rows = built
    browser.get(_page(release, article_id))
    pieces = browser.execute_script(PIECES_JS)
    assert all(rows.values()), "the seed article should have sources, events and claims"
    for table, rows_of_table in rows.items():
        kind = table[:-1]
        for row in rows_of_table:
            got = pieces[row[f"{kind}_id"]]
            assert got["text"] == row["evidence_text"]
            assert set(got["kinds"]) == {f"hl hl-{kind}"}
            assert all(bg not in ("rgba(0, 0, 0, 0)", "transparent") for bg in got["backgrounds"])
    assert len(pieces) == sum(len(r) for r in rows.values())


def test_focusing_a_span_shows_its_row_and_screenshot(browser: Any, built: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    release, article_id, rows = built
    claims = rows["claims"]
    browser.get(_page(release, article_id))
    details = browser.find_element(By.ID, "details")
    assert not details.is_displayed()
    # Tab from the top of the page until the keyboard focus lands on the first claim span.
    target = min(claims, key=lambda c: (c["char_start"], c["claim_id"]))
    local = target["claim_id"].split(":", 1)[1]
    active = None
    for _ in range(200):
        browser.switch_to.active_element.send_keys(Keys.TAB)
        active = browser.switch_to.active_element
        if active.get_attribute("id") == f"span-{local}":
            break
    assert active is not None and active.get_attribute("id") == f"span-{local}"
    assert details.is_displayed()
    text = details.text
    assert local in text and target["claim_id"] in text
    assert target["claim_text"] in browser.execute_script(
        "return document.getElementById('details').textContent"
    )
    # Every piece of the focused span is marked active; its row in the list too.
    assert browser.execute_script(
        "return [...document.querySelectorAll('mark.hl[data-id=\"' + arguments[0] + '\"]')]"
        ".every(m => m.classList.contains('active'))"
        " && document.getElementById('row-' + arguments[1]).classList.contains('active')",
        target["claim_id"],
        local,
    )
    SCREENSHOT_DIR.mkdir(exist_ok=True)
    shot = SCREENSHOT_DIR / f"site-article-{article_id}.png"
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
    assert not details.is_displayed()
    # The whole page too, for review: a window as tall as the document.
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1400, min(int(height) + 20, 12000))
    assert browser.save_screenshot(str(SCREENSHOT_DIR / f"site-article-{article_id}-full.png"))
    browser.set_window_size(1400, 1000)


def test_reading_works_without_javascript(built: Any) -> None:
    reason = _missing()
    if reason:
        pytest.skip(reason)
    from selenium.webdriver.common.by import By

    release, article_id, rows = built
    claims = rows["claims"]
    driver = _driver(javascript=False)
    try:
        driver.get(_page(release, article_id))
        pieces = driver.execute_script(PIECES_JS)  # the driver may script; the page may not
        for claim in claims:
            assert pieces[claim["claim_id"]]["text"] == claim["evidence_text"]
        # The script did not run: titles stay as the no-script tooltips; the list is there.
        local = claims[0]["claim_id"].split(":", 1)[1]
        span = driver.find_element(By.ID, f"span-{local}")
        assert span.get_attribute("title").startswith(f"Claim {local}")
        assert driver.find_element(By.ID, f"row-{local}").is_displayed()
    finally:
        _quit(driver)


def test_index_page_renders_its_charts(browser: Any, built: Any) -> None:
    from selenium.webdriver.common.by import By

    release, _, _ = built
    browser.get((release / "site" / "index.html").resolve().as_uri())
    charts = browser.find_elements(By.CSS_SELECTOR, "figure.chart svg")
    assert len(charts) == 4
    assert all(c.size["height"] > 20 and c.size["width"] > 100 for c in charts)
    SCREENSHOT_DIR.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(SCREENSHOT_DIR / "site-index.png"))


@pytest.fixture(scope="module")
def adjudicated(
    built: Any, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any]]:
    """A copy of the seed's release with the seed's agreement.json, its site rebuilt.

    Returns (release dir, the agreement report).
    """
    from adjudication_helpers import seed_agreement, write_agreement
    from factpack.researcher import site

    release = Path(shutil.copytree(built[0], tmp_path_factory.mktemp("adj") / built[0].name))
    report = seed_agreement()
    write_agreement(release, report)
    site.build_site(release)
    return release, report


def test_adjudication_view_shows_both_annotations(browser: Any, adjudicated: Any) -> None:
    from selenium.webdriver.common.by import By

    release, report = adjudicated
    (entry,) = report["annotations"]
    article_id = entry["article_id"]
    # Reached from the article page by its link.
    browser.get(_page(release, article_id))
    browser.find_element(By.CSS_SELECTOR, "p.adjudication-link a").click()
    assert browser.current_url.endswith(f"/site/adjudication/{article_id}.html")
    text = pq.read_table(release / "data" / "articles.parquet").to_pylist()[0]["text"]
    pieces = browser.execute_script(
        PIECES_JS.replace("m.className", "m.dataset.status").replace(
            ".text mark.hl", "mark[data-id]"
        )
    )
    annotators = entry["annotators"]
    assert sorted(annotators) == ["first", "second"]
    expected = {
        f"{name}:{item['id']}": text[item["char_start"] : item["char_end"]]
        for name, tables in annotators.items()
        for table in ("sources", "events", "claims")
        for item in tables[table]
    }
    assert {k: v["text"] for k, v in pieces.items()} == expected
    assert all(
        bg not in ("rgba(0, 0, 0, 0)", "transparent")
        for p in pieces.values()
        for bg in p["backgrounds"]
    )
    # The two annotators' copies of the text sit side by side, both shown.
    columns = browser.find_elements(By.CSS_SELECTOR, "#h-claims ~ .adj-grid .adj-column")
    assert [c.find_element(By.TAG_NAME, "h3").text.split(" ")[0] for c in columns] == [
        "first",
        "second",
    ]
    assert all(c.is_displayed() for c in columns)
    assert columns[0].location["y"] == columns[1].location["y"]
    assert columns[0].location["x"] < columns[1].location["x"]
    # A disagreement is outlined: solid for an item the other lacks, dotted where codes differ.
    only = report["comparisons"][0]["tables"]["claims"]["only_a"][0]
    style = browser.execute_script(
        "return getComputedStyle(document.getElementById(arguments[0])).outlineStyle",
        f"first-{only}",
    )
    assert style == "solid"
    differ = next(m for m in report["comparisons"][0]["tables"]["claims"]["matched"] if m["differ"])
    style = browser.execute_script(
        "return getComputedStyle(document.getElementById(arguments[0])).outlineStyle",
        f"first-{differ['a']}",
    )
    assert style == "dotted"
    SCREENSHOT_DIR.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(SCREENSHOT_DIR / f"site-adjudication-{article_id}.png"))
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1400, min(int(height) + 20, 12000))
    shot = SCREENSHOT_DIR / f"site-adjudication-{article_id}-full.png"
    assert browser.save_screenshot(str(shot))
    browser.set_window_size(1400, 1000)


@pytest.fixture(scope="module")
def withheld(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The seed's release built with its text withheld, with agreement.json, site rebuilt.

    Returns (release dir, the seed's text).
    """
    from adjudication_helpers import seed_agreement, write_agreement
    from factpack.researcher import site
    from withheld_helpers import withheld_seed_release

    release, text = withheld_seed_release(tmp_path_factory.mktemp("withheld"))
    write_agreement(release, seed_agreement())
    site.build_site(release)
    return release, text


QUOTES_JS = """
return [...document.querySelectorAll('ol.quotes q mark.hl')].map(m => ({
  id: m.dataset.id, text: m.textContent, kind: m.className,
  bg: getComputedStyle(m).backgroundColor, shown: m.getClientRects().length > 0}));
"""


def test_withheld_page_quotes_every_row_and_its_popup_works(
    browser: Any, built: Any, withheld: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    _, article_id, rows = built
    release, text = withheld
    browser.get(_page(release, article_id))
    quotes = browser.execute_script(QUOTES_JS)
    expected = {
        row[f"{table[:-1]}_id"]: (row["evidence_text"], f"hl hl-{table[:-1]}")
        for table, table_rows in rows.items()
        for row in table_rows
    }
    assert {q["id"]: (q["text"], q["kind"]) for q in quotes} == expected
    assert all(q["shown"] and q["bg"] not in ("rgba(0, 0, 0, 0)", "transparent") for q in quotes)
    assert not browser.find_elements(By.CSS_SELECTOR, "div.text")
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "factpack hydrate" in body and "withheld" in body
    # The body of the text (past its title line) is nowhere on the page as one piece.
    assert text.split("\n", 1)[1][:300] not in body
    # Focusing a quote shows its row, as over the full text.
    claim = min(rows["claims"], key=lambda c: (c["char_start"], c["claim_id"]))
    local = claim["claim_id"].split(":", 1)[1]
    browser.execute_script("document.getElementById(arguments[0]).focus()", f"span-{local}")
    details = browser.find_element(By.ID, "details")
    assert details.is_displayed() and claim["claim_id"] in details.text
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
    SCREENSHOT_DIR.mkdir(exist_ok=True)
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1400, min(int(height) + 20, 12000))
    shot = SCREENSHOT_DIR / f"site-article-{article_id}-withheld-full.png"
    assert browser.save_screenshot(str(shot))
    browser.set_window_size(1400, 1000)


def test_withheld_index_and_adjudication_views_work(
    browser: Any, built: Any, withheld: Any
) -> None:
    from selenium.webdriver.common.by import By

    _, article_id, _ = built
    release, _ = withheld
    browser.get((release / "site" / "index.html").resolve().as_uri())
    assert "withheld" in browser.find_element(By.ID, "withheld").text
    assert len(browser.find_elements(By.CSS_SELECTOR, "figure.chart svg")) == 4
    browser.find_element(By.CSS_SELECTOR, f'a[href="adjudication/{article_id}.html"]').click()
    assert browser.current_url.endswith(f"/site/adjudication/{article_id}.html")
    columns = browser.find_elements(By.CSS_SELECTOR, "#h-claims ~ .adj-grid .adj-column")
    assert len(columns) == 2 and all(c.is_displayed() for c in columns)
    items = columns[0].find_elements(By.CSS_SELECTOR, "ol.adj-items li")
    assert items and all("characters" in i.text for i in items)
    # A disagreement's link lands on its item in the list.
    link = browser.find_element(By.CSS_SELECTOR, ".adj-differ-list a, .adj-only-list a")
    target = link.get_attribute("href").split("#", 1)[1]
    assert browser.find_element(By.ID, target).is_displayed()
    SCREENSHOT_DIR.mkdir(exist_ok=True)
    assert browser.save_screenshot(
        str(SCREENSHOT_DIR / f"site-adjudication-{article_id}-withheld.png")
    )


@pytest.fixture(scope="module")
def hydrated(withheld: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The withheld copy hydrated with the seed's own text (``factpack hydrate``)."""
    from factpack.researcher.hydrate import hydrate

    texts = tmp_path_factory.mktemp("texts")
    for path in (ROOT / "seeds").glob("*.txt"):
        shutil.copy(path, texts / path.name)
    return hydrate(withheld[0], texts).path


def test_hydrated_page_shows_the_full_highlighted_text(
    browser: Any, built: Any, withheld: Any, hydrated: Path
) -> None:
    from selenium.webdriver.common.by import By

    _, article_id, rows = built
    _, text = withheld
    assert hydrated.name.endswith("+text")
    browser.get(_page(hydrated, article_id))
    shown = browser.execute_script("return document.querySelector('div.text').textContent")
    assert shown == text
    pieces = browser.execute_script(PIECES_JS)
    for table, table_rows in rows.items():
        for row in table_rows:
            assert pieces[row[f"{table[:-1]}_id"]]["text"] == row["evidence_text"]
    assert not browser.find_elements(By.CSS_SELECTOR, "ol.quotes")
    assert "withheld" not in browser.find_element(By.TAG_NAME, "body").text
    # The adjudication view has both annotators' copies of the whole text again.
    browser.find_element(By.CSS_SELECTOR, "p.adjudication-link a").click()
    columns = browser.find_elements(By.CSS_SELECTOR, "#h-claims ~ .adj-grid .adj-column .text")
    assert [c.get_attribute("textContent") for c in columns] == [text, text]
    SCREENSHOT_DIR.mkdir(exist_ok=True)
    browser.get(_page(hydrated, article_id))
    assert browser.save_screenshot(str(SCREENSHOT_DIR / f"site-article-{article_id}-hydrated.png"))
