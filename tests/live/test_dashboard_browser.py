"""The dashboard in a real browser (Playwright driving Debian's Chromium, headless).

Needs ``/usr/bin/chromium`` (``apt-get install -y chromium``); skips with that reason when it is
absent. Takes the screenshots in ``out/screenshots/`` (ignored by git); with
``QSAFECITY_UPDATE_SCREENSHOTS=1`` it writes the README's copies in ``docs/`` instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qsafecity.live.runner import LiveRunner, UpOptions
from qsafecity.manifests import load_city

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
DOCS = (
    ROOT / "docs"
    if os.environ.get("QSAFECITY_UPDATE_SCREENSHOTS") == "1"
    else ROOT / "out" / "screenshots"
)
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Chromium is not installed at /usr/bin/chromium (apt-get install -y chromium)",
)


def test_dashboard_shows_the_city_and_a_drill_from_the_page_raises_a_visible_alert() -> None:
    from playwright.sync_api import sync_playwright

    city = load_city(None)
    runner = LiveRunner(city, UpOptions(port=0, speed=20.0, tick_s=0.5))
    runner.start()
    problems: list[str] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=ARGS
            )
            page = browser.new_page(viewport={"width": 1500, "height": 1250})
            page.on(
                "console",
                lambda message: problems.append(message.text) if message.type == "error" else None,
            )
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.goto(runner.url, wait_until="domcontentloaded")
            page.wait_for_function(
                f"document.querySelectorAll('#map g.site').length === {len(city.sites)}",
                timeout=30_000,
            )
            drawn = set(
                page.eval_on_selector_all("#map g.site", "els => els.map(e => e.dataset.site)")
            )
            assert drawn == {site.id for site in city.sites}
            page.wait_for_function(
                "[...document.querySelectorAll('#services tbody tr td:nth-child(8)')]"
                ".every(td => Number(td.textContent) > 0)",
                timeout=60_000,
            )
            DOCS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(DOCS / "live-dashboard.png"), full_page=True)

            page.select_option("#drill-link", "dc-main-dc-reserve")
            page.click("#btn-eavesdrop")
            alert = page.locator('#alerts li[data-cause="qber-abort"]').first
            alert.wait_for(state="visible", timeout=30_000)
            assert "dc-main-dc-reserve" in alert.inner_text()
            page.wait_for_function(
                "document.querySelector('#map line[data-link=\"dc-main-dc-reserve\"]')"
                ".getAttribute('stroke') === '#e74c3c'",
                timeout=30_000,
            )
            page.screenshot(path=str(DOCS / "live-eavesdrop.png"), full_page=True)

            page.select_option("#drill-service", "air-quality")
            page.click("#btn-flood")
            page.locator('#alerts li[data-cause="flood"]').first.wait_for(
                state="visible", timeout=30_000
            )
            browser.close()
    finally:
        runner.stop()
    assert problems == []
