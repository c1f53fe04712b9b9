"""The HTML report and the revealjs slides in a real browser (headless Chromium, offline).

Each page must load from file:// with no console errors and no request leaving the machine (only
file:, data: and blob: URLs are allowed; everything else is aborted and recorded), draw its
interactive figures (vega-embed leaves an svg or canvas), and pass an axe-core scan with no
serious or critical violation. The deck must navigate (Reveal.next()) and carry speaker notes.
Uses the system's Chromium; never downloads a browser. Skipped, with the reason, when Chromium
or Playwright is missing.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from test_reports import build_outputs

pytestmark = pytest.mark.xdist_group("reports")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ALLOWED_SCHEMES = ("file:", "data:", "blob:", "about:")


@dataclass
class PageLog:
    """What a page did while loading: console errors, page errors and blocked requests."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (Debian package chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield browser
        finally:
            browser.close()


def open_offline(browser: Any, path: Path, *, width: int = 1280, height: int = 900) -> tuple[Any, PageLog]:
    """Open ``path`` with every non-local request aborted and recorded."""
    log = PageLog()
    context = browser.new_context(viewport={"width": width, "height": height}, offline=True)

    def route(request_route: Any) -> None:
        url = request_route.request.url
        if url.startswith(ALLOWED_SCHEMES):
            request_route.continue_()
        else:
            log.blocked.append(url)
            request_route.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda message: log.console_errors.append(message.text)
            if message.type == "error" else None)
    page.on("pageerror", lambda error: log.page_errors.append(str(error)))
    page.goto(path.resolve().as_uri(), wait_until="load")
    page.wait_for_timeout(500)
    return page, log


def serious_violations(page: Any) -> list[str]:
    """axe-core violations of impact serious or critical, as readable lines."""
    axe_module = pytest.importorskip("axe_playwright_python.sync_playwright")
    results = axe_module.Axe().run(page)
    violations = results.response.get("violations", [])
    return [f"{v['id']} ({v['impact']}): {v['help']} -- {[n['target'] for n in v['nodes']][:3]}"
            for v in violations if v.get("impact") in ("serious", "critical")]


@pytest.fixture(scope="module")
def outputs() -> Path:
    return build_outputs()


def test_html_report_loads_offline_and_draws_its_figures(browser: Any, outputs: Path) -> None:
    page, log = open_offline(browser, outputs / "report.html")
    try:
        page.wait_for_function(
            "() => { const views = document.querySelectorAll('.vega-embed');"
            " return views.length > 0 && [...views].every(v => v.querySelector('svg, canvas')); }",
            timeout=30_000,
        )
        drawn = page.evaluate("() => document.querySelectorAll('.vega-embed svg, .vega-embed canvas').length")
        figures = page.evaluate("() => document.querySelectorAll('figure').length")
        assert drawn >= 6 and figures >= drawn
        assert page.evaluate("() => document.documentElement.lang").startswith("en")
        assert page.evaluate("() => [...document.images].every(i => i.alt && i.alt.trim().length > 0)")
        assert not log.blocked, f"requests left the machine: {log.blocked}"
        assert not log.console_errors and not log.page_errors, (log.console_errors, log.page_errors)
    finally:
        page.context.close()


def test_html_report_has_no_serious_accessibility_violation(browser: Any, outputs: Path) -> None:
    page, _ = open_offline(browser, outputs / "report.html")
    try:
        page.wait_for_timeout(1500)
        assert serious_violations(page) == []
    finally:
        page.context.close()


def test_slides_navigate_offline_and_have_notes(browser: Any, outputs: Path) -> None:
    page, log = open_offline(browser, outputs / "slides.html")
    try:
        page.wait_for_function("() => window.Reveal && Reveal.isReady()", timeout=30_000)
        total = page.evaluate("() => Reveal.getTotalSlides()")
        assert 15 <= total <= 22
        first = page.evaluate("() => Reveal.getCurrentSlide().textContent")
        assert "Improving care for women who use drugs" in first
        visited = 0
        for _ in range(total - 1):
            page.evaluate("() => Reveal.next()")
            visited += 1
        assert page.evaluate("() => Reveal.isLastSlide()")
        notes = page.evaluate("() => Reveal.getSlides().filter(s => Reveal.getSlideNotes(s)).length")
        assert notes >= total - 2
        assert not log.blocked, f"requests left the machine: {log.blocked}"
        assert not log.console_errors and not log.page_errors, (log.console_errors, log.page_errors)
    finally:
        page.context.close()


def test_slides_have_no_serious_accessibility_violation(browser: Any, outputs: Path) -> None:
    page, _ = open_offline(browser, outputs / "slides.html")
    try:
        page.wait_for_function("() => window.Reveal && Reveal.isReady()", timeout=30_000)
        problems: list[str] = []
        total = page.evaluate("() => Reveal.getTotalSlides()")
        for index in range(total):
            page.evaluate(f"() => Reveal.slide({index})")
            page.wait_for_timeout(100)
            problems += [f"slide {index + 1}: {line}" for line in serious_violations(page)]
        assert problems == []
    finally:
        page.context.close()
