"""HA's own frontend in Debian's chromium, driven by Playwright (no browser download): log in,
click through Settings, read what a dialog shows across shadow roots, take screenshots.

Every request that leaves loopback is aborted (HA 2025.4 fetches integration icons from the
brands CDN, for one): the suite never reaches the internet, and records what it blocked.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Browser, Locator, Page, Route, sync_playwright

from .hass_rest import Owner

# QWEN_E2E_CHROMIUM: another Chromium build where Debian's is not packaged (GitHub's runners).
CHROMIUM = os.environ.get("QWEN_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # the suite runs as root
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 30_000
# The docs' screenshots, each with the texts it shows beside it (NAME.txt).
DOC_SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
VIEWPORT = {"width": 960, "height": 760}
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# Visible text of the app, shadow roots included, one string per text node.
_DEEP_TEXT_JS = """() => {
  const out = [];
  const walk = (node) => {
    if (node.nodeType === Node.TEXT_NODE) {
      const text = node.textContent.trim();
      if (text) out.push(text);
      return;
    }
    if (node.nodeName === "STYLE" || node.nodeName === "SCRIPT") return;
    if (node.nodeType === Node.ELEMENT_NODE) {
      const style = getComputedStyle(node);
      if (style.display === "none" || style.visibility === "hidden") return;
    }
    if (node.shadowRoot) walk(node.shadowRoot);
    for (const child of node.childNodes) walk(child);
  };
  walk(document.querySelector("home-assistant") || document.body);
  return out;
}"""

_FOCUS_IN_INPUT_JS = """() => {
  let active = document.activeElement;
  while (active && active.shadowRoot && active.shadowRoot.activeElement) {
    active = active.shadowRoot.activeElement;
  }
  return !!active && active.tagName === "INPUT";
}"""


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class HassPage:
    """One browser tab on one HA instance."""

    page: Page
    url: str
    blocked: list[str] = field(default_factory=list)

    def deep_text(self) -> str:
        """Everything visible, shadow DOM included, whitespace collapsed."""
        return normalize(" ".join(self.page.evaluate(_DEEP_TEXT_JS)))

    def missing_texts(self, texts: list[str]) -> list[str]:
        shown = self.deep_text()
        return [text for text in texts if normalize(text) not in shown]

    def wait_for_texts(self, texts: list[str], timeout_ms: int = TIMEOUT_MS) -> None:
        """Wait until every text is visible (the frontend renders asynchronously)."""
        deadline = self.page.evaluate("Date.now()") + timeout_ms
        while missing := self.missing_texts(texts):
            if self.page.evaluate("Date.now()") > deadline:
                raise AssertionError(f"not shown: {missing}\nshown: {self.deep_text()}")
            self.page.wait_for_timeout(200)

    def screenshot(self, path: Path, texts: list[str]) -> None:
        """Take a screenshot showing ``texts`` (the integration's own words in it).

        The texts go beside the picture (``NAME.txt``), its source. When docs/screenshots
        holds a picture of the same name, its source must be these texts: otherwise the docs
        show a dialog the integration no longer has (``regenerate_hint``).
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path))
        source = path.with_suffix(".txt")
        shown = screenshot_source(texts)
        source.write_text(shown, encoding="utf-8")
        committed = DOC_SCREENSHOTS / source.name
        if committed.exists() and committed.resolve() != source.resolve():
            assert committed.read_text(encoding="utf-8") == shown, regenerate_hint(committed)

    def login(self, owner: Owner) -> None:
        self.page.goto(self.url)
        self.page.locator("input[name=username]").fill(owner.username, timeout=TIMEOUT_MS)
        self.page.locator("input[name=password]").fill(owner.password)
        self.page.keyboard.press("Enter")
        # Logged in once the app's sidebar is there (the default dashboard differs by version).
        self.page.locator('a[href="/config"]').first.wait_for(timeout=TIMEOUT_MS)

    def open_integrations(self) -> None:
        """Settings -> Devices & services, by clicking as a user does."""
        self.page.locator('a[href="/config"]').first.click()
        self.page.get_by_text("Devices & services").first.click()
        self.page.wait_for_url(re.compile(r".*/config/integrations.*"), timeout=TIMEOUT_MS)

    def add_integration(self, name: str) -> None:
        """Add integration -> search -> pick ``name``; returns when its first form is shown."""
        self.page.get_by_role("button", name=re.compile("add integration", re.I)).click()
        # The brand search field takes the focus once the dialog is open.
        self.page.wait_for_function(_FOCUS_IN_INPUT_JS, timeout=TIMEOUT_MS)
        self.page.keyboard.type(name)
        self.page.get_by_text(name, exact=True).first.click()
        self.submit_button().wait_for(timeout=TIMEOUT_MS)

    def submit_button(self) -> Locator:
        return self.page.get_by_role("button", name=re.compile("^submit$", re.I))

    def choose(self, field_label: str, option_label: str) -> None:
        """Pick an option of a dropdown select (HA 2025: listbox options; 2026: menu items)."""
        self.page.locator("ha-selector-select").filter(has_text=field_label).first.click()
        option = self.page.get_by_role("option", name=option_label, exact=True)
        item = self.page.get_by_role("menuitem", name=option_label, exact=True)
        picked = option.or_(item).first
        picked.click()
        picked.wait_for(state="hidden")  # the list has closed (a screenshot shows the form)

    def image_loaded(self, url_part: str) -> bool | None:
        """Whether an <img> whose src contains ``url_part`` loaded; None if there is none."""
        result: bool | None = self.page.evaluate(
            """(part) => {
              const found = [];
              const walk = (node) => {
                if (node.nodeName === "IMG" && node.src.includes(part)) found.push(node);
                if (node.shadowRoot) walk(node.shadowRoot);
                for (const child of node.children || []) walk(child);
              };
              walk(document.body);
              if (!found.length) return null;
              return found.some((img) => img.complete && img.naturalWidth > 0);
            }""",
            url_part,
        )
        return result


@contextmanager
def hass_page(browser: Browser, url: str) -> Iterator[HassPage]:
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    tab = HassPage(page, url)

    def only_loopback(route: Route) -> None:
        request_url = route.request.url
        if (
            request_url.startswith(("data:", "blob:"))
            or urlsplit(request_url).hostname in _LOOPBACK
        ):
            route.continue_()
        else:
            tab.blocked.append(request_url)
            route.abort()

    page.route("**/*", only_loopback)
    try:
        yield tab
    finally:
        context.close()


def normalize(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def screenshot_source(texts: list[str]) -> str:
    """Return what a screenshot's source file holds: its texts, one per line."""
    return "".join(f"{normalize(text)}\n" for text in texts if text.strip())


def regenerate_hint(committed: Path) -> str:
    """Return the message for a committed screenshot whose texts are out of date."""
    return (
        f"{committed.with_suffix('.png')} shows texts the integration no longer has "
        f"(their source: {committed}); take the docs' screenshots again: "
        "QWEN_E2E_HA_VERSIONS=2026.11.0 QWEN_E2E_SCREENSHOTS=docs/screenshots "
        ".venv/bin/python -m pytest tests/e2e/test_frontend.py"
    )
