"""The documentation at /docs: every guide renders with its contents and working links, error codes
have their anchors, search works with and without JavaScript, and code blocks copy in a browser."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Page, async_playwright, expect

from tests.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS
from trailroom.web.docs import DocsLibrary, default_library, render_guide
from trailroom.web.security import CONTENT_SECURITY_POLICY

REPO = Path(__file__).resolve().parents[2]
PLATFORM = REPO / "platform" / "trailroom"
EXPECTED_GUIDES = {"getting-started", "authentication", "try-on", "credits", "webhooks", "errors", "widget", "plugins"}


class PageLinks(HTMLParser):
    """Every href and every id of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name == "href" and value:
                self.hrefs.append(value)
            elif name == "id" and value:
                self.ids.add(value)


def parse(html: str) -> PageLinks:
    links = PageLinks()
    links.feed(html)
    return links


@pytest.fixture(scope="module")
def docs() -> DocsLibrary:
    return default_library()


async def test_every_guide_renders_with_a_title_a_toc_and_links_that_resolve(
    client: httpx.AsyncClient, docs: DocsLibrary
) -> None:
    assert {guide.slug for guide in docs.guides} >= EXPECTED_GUIDES
    pages: dict[str, PageLinks] = {}
    for guide in docs.guides:
        response = await client.get(guide.url)
        assert response.status_code == 200, guide.slug
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        html = response.text
        assert f"<title>{guide.title} · Docs · TrailRoom</title>" in html
        assert re.search(r"<h1>[^<]+</h1>", html), guide.slug
        assert len(guide.toc) >= 3, guide.slug
        for heading in guide.toc:
            assert f'<a href="#{heading.anchor}">' in html
            assert f'id="{heading.anchor}"' in html
        assert 'class="copy-button"' in html or not guide.snippets
        assert " style=" not in html
        assert "<script>" not in html
        pages[guide.url] = parse(html)
    pages["/docs"] = parse((await client.get("/docs")).text)
    # Code is highlighted on the server (class names only: the CSP allows no inline styles).
    python_page = (await client.get("/docs/getting-started")).text
    assert '<span class="kn">import</span>' in python_page

    checked: set[str] = set()
    for url, page in pages.items():
        for href in page.hrefs:
            parts = urlsplit(href)
            if parts.scheme or parts.netloc:
                assert parts.scheme == "https", (url, href)  # outbound links only over https
                continue
            path = parts.path or url
            if path.startswith("/docs"):
                target = pages.get(path.rstrip("/") or "/docs")
                if target is None:
                    assert path.startswith("/static/") or path in ("/docs/search",), (url, href)
                    continue
                if parts.fragment:
                    assert parts.fragment in target.ids, f"{url}: {href} has no anchor"
            elif path.startswith(("/api/v1/", "/schema", "/app")) and path not in checked:
                checked.add(path)
                answer = await client.get(path)
                # The route exists (it may want a key): not a missing page or a wrong method.
                assert answer.status_code not in (404, 405), (url, href, answer.status_code)
    assert "/schema" in checked


async def test_problem_type_links_land_on_the_codes_row(client: httpx.AsyncClient, docs: DocsLibrary) -> None:
    problem = (await client.get("/api/v1/credits")).json()
    assert problem["type"] == "/docs/errors#unauthenticated"
    path, _, anchor = problem["type"].partition("#")
    page = parse((await client.get(path)).text)
    assert anchor in page.ids


def codes_in_source() -> set[str]:
    """The stable error codes the platform can answer or put on a failed job, read from its code."""
    patterns = [
        r'\bcode="([a-z0-9_]+)"',  # InvalidInput(..., code="x"), JobError(code="x")
        r'^\s+code = "([a-z0-9_]+)"',  # the domain error classes' defaults
        r'_invalid\(\s*"([a-z0-9_]+)"',  # image intake
        r'^[A-Z_]+ = "([a-z_]+)"$',  # engine codes (engines/base.py, engines/openai_images.py)
    ]
    codes: set[str] = set()
    sources = [
        *(PLATFORM / "domain").rglob("*.py"),
        *(PLATFORM / "core").rglob("*.py"),
        PLATFORM / "server" / "problems.py",
        PLATFORM / "engines" / "base.py",
        PLATFORM / "engines" / "openai_images.py",
    ]
    for source in sources:
        text = source.read_text()
        for pattern in patterns[:3]:
            codes.update(re.findall(pattern, text, re.MULTILINE))
        if source.parent.name == "engines":
            found = re.findall(patterns[3], text, re.MULTILINE)
            codes.update(code for code in found if code not in ("top", "bottom", "dress", "full"))
    http_codes = re.search(r"_HTTP_CODES = \{(.*?)\}", (PLATFORM / "server" / "problems.py").read_text(), re.DOTALL)
    assert http_codes
    codes.update(re.findall(r'"([a-z_]+)"', http_codes.group(1)))
    codes.add("validation_failed")
    # Not error codes: engine names and values of other constants in those modules.
    return {c for c in codes if c not in {"flat_lay", "on_model", "fast", "balanced", "high", "png", "jpeg", "webp"}}


async def test_every_error_code_in_the_source_has_its_row(client: httpx.AsyncClient, docs: DocsLibrary) -> None:
    codes = codes_in_source()
    assert {"out_of_credits", "person_not_found", "image_not_decodable", "rate_limited", "engine_timeout"} <= codes
    page = parse((await client.get("/docs/errors")).text)
    missing = sorted(code for code in codes if code not in page.ids)
    assert not missing, f"add these codes to docs/guides/errors.md: {missing}"


async def test_search_ranks_the_only_guide_with_a_word_first(client: httpx.AsyncClient, docs: DocsLibrary) -> None:
    word = "timingSafeEqual"  # only in the webhooks guide's Node.js example
    holders = [g.slug for g in docs.guides if any(word.lower() in s.text.lower() for s in g.sections)]
    assert holders == ["webhooks"]
    page = await client.get("/docs/search", params={"q": word})
    assert page.status_code == 200
    hits = re.findall(r'<li class="docs-hit">\s*<a href="([^"]+)"', page.text)
    assert hits
    assert hits[0].startswith("/docs/webhooks#")
    assert f"<mark>{word}</mark>" in page.text

    # Several words: a section must hold all of them, and a heading match ranks first.
    page = await client.get("/docs/search", params={"q": "publishable origins"})
    hits = re.findall(r'<li class="docs-hit">\s*<a href="([^"]+)"', page.text)
    assert hits[0] == "/docs/authentication#publishable-keys-and-allowed-origins"


async def test_search_works_without_javascript(client: httpx.AsyncClient) -> None:
    # The form is a plain GET to /docs/search: what a browser without scripts sends.
    index = (await client.get("/docs")).text
    assert re.search(r'<form class="docs-search" role="search" action="/docs/search" method="get"', index)
    assert 'name="q"' in index

    found = await client.get("/docs/search?q=Idempotency-Key")
    assert found.status_code == 200
    assert re.search(r"\d+ results? for “Idempotency-Key”", found.text)
    assert '<a href="/docs/try-on#idempotency-keys">' in found.text
    assert 'value="Idempotency-Key"' in found.text  # the box keeps the query

    none = await client.get("/docs/search?q=zebracorn")
    assert none.status_code == 200
    assert "No results for “zebracorn”" in none.text

    escaped = await client.get("/docs/search", params={"q": "<script>alert(1)</script>"})
    assert escaped.status_code == 200
    assert "<script>alert(1)" not in escaped.text

    empty = await client.get("/docs/search?q=")
    assert "Type a word or two" in empty.text

    too_long = await client.get("/docs/search", params={"q": "webhook " + "x" * 500})
    assert too_long.status_code == 200
    assert "x" * 201 not in too_long.text  # cut to 200 characters, not refused


async def test_search_index_lists_every_section(client: httpx.AsyncClient, docs: DocsLibrary) -> None:
    response = await client.get("/docs/search.json")
    assert response.status_code == 200
    entries = response.json()
    assert len(entries) == sum(len(g.sections) for g in docs.guides)
    assert {"page": "Webhooks", "heading": "Retries and ordering"}.items() <= next(
        e for e in entries if e["url"] == "/docs/webhooks#retries-and-ordering"
    ).items()


async def test_unknown_guide_is_an_html_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/docs/")).status_code == 200
    assert (await client.get("/docs/webhooks/")).status_code == 200
    response = await client.get("/docs/no-such-guide")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "There is no guide at this address" in response.text
    assert "Traceback" not in response.text


async def _screenshots(page: Page, name: str, focus: str | None = None) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    for theme in ("light", "dark"):
        await page.evaluate("theme => { document.documentElement.dataset.theme = theme; }", theme)
        for width in (360, 1280):
            await page.set_viewport_size({"width": width, "height": 900})
            if focus:
                await page.locator(focus).scroll_into_view_if_needed()
            # Nothing sticks out sideways: wide code and tables scroll inside their own boxes.
            assert await page.evaluate("document.documentElement.scrollWidth") <= width, (name, width)
            await page.screenshot(path=str(ARTIFACTS / f"docs-{name}-{width}-{theme}.png"), full_page=False)


@pytest.mark.browser
async def test_copy_button_copies_and_live_search_finds_under_strict_csp(base_url: str) -> None:
    console: list[str] = []
    errors: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 900})
            await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
            page = await context.new_page()
            page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
            page.on("pageerror", lambda error: errors.append(str(error)))

            response = await page.goto(f"{base_url}/docs/getting-started", wait_until="networkidle")
            assert response is not None
            assert response.status == 200
            assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY

            # The copy buttons are hidden until the module runs; then each copies its block's code.
            block = page.locator(".code-block").filter(has_text="api/v1/tryon | jq -r .id").first
            button = block.locator("button.copy-button")
            await expect(button).to_be_visible()
            await button.click()
            await expect(button).to_have_text("Copied")
            code = await block.locator("pre code").inner_text()
            assert await page.evaluate("navigator.clipboard.readText()") == code
            assert "person_image=@tests/data/people/studio_1.png" in code
            await expect(button).to_have_text("Copy", timeout=5_000)

            # The table of contents jumps to its section.
            await page.locator(".docs-toc a[href='#the-same-in-python']").click()
            await expect(page.locator("#the-same-in-python")).to_be_in_viewport()
            await expect(page.locator(".docs-toc a[href='#the-same-in-python']")).to_have_attribute(
                "aria-current", "location"
            )
            await _screenshots(page, "page")

            # Live search: results while typing, from /docs/search.json, before any submit.
            await page.set_viewport_size({"width": 1280, "height": 900})
            await page.goto(f"{base_url}/docs", wait_until="networkidle")
            await _screenshots(page, "index")
            await page.set_viewport_size({"width": 1280, "height": 900})
            await page.locator("#docs-q").fill("signature")
            live = page.locator("[data-docs-live]")
            await expect(live).to_be_visible()
            first = live.locator("a").first
            await expect(first).to_have_attribute("href", re.compile(r"^/docs/webhooks#"))
            await expect(live.locator("mark").first).to_have_text(re.compile("signature", re.IGNORECASE))
            await page.screenshot(path=str(ARTIFACTS / "docs-live-search-1280.png"))
            await page.keyboard.press("Enter")
            await page.wait_for_url(re.compile(r"/docs/search\?q=signature$"))
            await expect(page.locator(".docs-hit").first).to_be_visible()
            await _screenshots(page, "search")

            # On a phone the guides are a sideways row of chips: the current one is scrolled into view.
            await page.set_viewport_size({"width": 360, "height": 800})
            await page.goto(f"{base_url}/docs/plugins", wait_until="networkidle")
            await expect(page.locator(".docs-nav a[aria-current='page']")).to_be_in_viewport()
            await page.set_viewport_size({"width": 1280, "height": 900})

            # An error code's link from a problem lands on its highlighted row.
            await page.goto(f"{base_url}/docs/errors#out_of_credits", wait_until="networkidle")
            await expect(page.locator("tr#out_of_credits")).to_be_in_viewport()
            await _screenshots(page, "errors", "tr#out_of_credits")
            await page.goto(f"{base_url}/docs/no-such-guide", wait_until="networkidle")
            await expect(page.locator("h1")).to_have_text("Not found")
        finally:
            await browser.close()
    violations = [line for line in console if "Content Security Policy" in line or "Refused to" in line]
    assert not violations, violations
    assert not errors, errors


def test_rendering_anchors_flags_and_raw_html() -> None:
    source = """---
title: Sample
order: 3
code_anchors: true
---

# Sample

Intro with <script>alert(1)</script> text.

## Setup

## Setup

```bash run expect="two words"
echo two words
```

| code | meaning |
| --- | --- |
| `first_code` | one |
| `first_code` | the same code again |
| plain | not a code |
"""
    guide = render_guide("sample", source)
    html = str(guide.html)
    assert [h.anchor for h in guide.toc] == ["setup", "setup-2"]
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count('id="first_code"') == 1
    assert 'data-label="meaning"' in html
    [snippet] = guide.snippets
    assert snippet.runnable
    assert snippet.flags["expect"] == "two words"
    assert 'data-language="bash"' in html
    assert "run expect" not in html  # readers see the language only
    assert guide.order == 3
    with pytest.raises(ValueError, match="no title"):
        render_guide("untitled", "---\norder: 1\n---\n# Hi\n")
