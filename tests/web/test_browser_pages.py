"""The foundation pages in a real Chromium: register → sign out → sign in, the theme, API keys
from settings, the landing page's live demo and calculator, no CSP violation anywhere, and
screenshots at phone and desktop widths in both themes (test-artifacts/web/)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Response,
    expect,
)

from tests.browser import ARTIFACTS, launched_chromium
from tests.helpers import PASSWORD, register

SHOTS = ARTIFACTS / "web"
DEMO_RENDERED = "(img => img.complete && img.naturalWidth > 0)(document.querySelector('[data-demo-result]'))"
pytestmark = pytest.mark.browser


class Console:
    """Everything a page complained about: CSP violations, script errors, failed requests."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def watch(self, page: Page) -> Page:
        def on_console(message: ConsoleMessage) -> None:
            # A form re-rendered with its errors answers 4xx on purpose; sub-resources are
            # checked by their responses below.
            if message.text.startswith("Failed to load resource"):
                return
            if message.type == "error" or "Content Security Policy" in message.text:
                self.problems.append(f"console: {message.text}")

        def on_response(response: Response) -> None:
            if response.status >= 400 and response.request.resource_type != "document":
                self.problems.append(f"{response.status} {response.url}")

        page.on("console", on_console)
        page.on("response", on_response)
        page.on("pageerror", lambda error: self.problems.append(f"pageerror: {error}"))
        return page


@pytest.fixture(scope="module")
async def chromium() -> AsyncIterator[Browser]:
    async with launched_chromium() as browser:
        yield browser


@pytest.fixture
async def context(chromium: Browser, base_url: str) -> AsyncIterator[BrowserContext]:
    context = await chromium.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    yield context
    await context.close()


@pytest.fixture
def console() -> Console:
    return Console()


async def shoot(page: Page, name: str) -> None:
    """A full-page screenshot; on the way, nothing may stick out sideways at any width."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.mouse.move(0, 0)
    width = await page.evaluate("window.innerWidth")
    assert await page.evaluate("document.documentElement.scrollWidth") <= width, f"{name} overflows"
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def test_register_sign_out_and_sign_in(context: BrowserContext, console: Console) -> None:
    page = console.watch(await context.new_page())
    await page.goto("/register")
    await page.fill("#f-name", "Rita Runway")
    await page.fill("#f-email", "rita@example.com")
    await page.fill("#f-password", "short")
    await expect(page.locator("#f-password-strength")).to_be_visible()
    await expect(page.locator("#f-password-strength .strength-text")).to_have_text("Strength: Too weak")
    await page.click("#main button[type=submit]")
    # Inline validation: nothing was posted, the problems are shown next to the fields.
    await expect(page).to_have_url(re.compile(r"/register$"))
    await expect(page.locator("[data-error-for=password]")).to_contain_text("at least 10 characters")
    await expect(page.locator("[data-error-for=accept_terms]")).to_be_visible()
    await page.fill("#f-password", PASSWORD)
    await expect(page.locator("#f-password-strength .rules li.ok")).to_have_count(4)
    await page.click("[data-reveal=f-password]")
    await expect(page.locator("#f-password")).to_have_attribute("type", "text")
    await page.check("input[name=accept_terms]")
    await page.click("#main button[type=submit]")
    await expect(page).to_have_url(re.compile(r"/app$"))
    await expect(page.locator(".flashes")).to_contain_text("Welcome to TrailRoom, Rita Runway")
    await expect(page.locator("h1")).to_have_text("Hello, Rita")
    await expect(page.locator("[data-balance-value]")).to_have_text("3")
    await expect(page.locator(".nav a[aria-current=page]")).to_have_text("Home")

    await page.click("details[data-menu] summary")
    await page.click("[data-logout]")
    await expect(page).to_have_url(re.compile(r"/$"))
    await expect(page.locator(".flashes")).to_contain_text("You are signed out")
    await page.goto("/app")
    await expect(page).to_have_url(re.compile(r"/login\?next=/app$"))

    await page.fill("#f-email", "rita@example.com")
    await page.fill("#f-password", "Wrong-password-1")
    await page.click("#main button[type=submit]")
    await expect(page.locator(".alert-error")).to_contain_text("The email or password is not correct")
    await expect(page.locator("#f-email")).to_have_value("rita@example.com")
    await page.fill("#f-password", PASSWORD)
    await page.click("#main button[type=submit]")
    await expect(page).to_have_url(re.compile(r"/app$"))

    # Fifteen minutes later the access cookie is gone: the next page renews the session on its way.
    await context.clear_cookies(name="tr_access")
    await page.goto("/app/settings")
    await expect(page).to_have_url(re.compile(r"/app/settings$"))
    await expect(page.locator("h1")).to_have_text("Settings")
    assert console.problems == []


async def test_theme_is_remembered_and_rendered_by_the_server(
    context: BrowserContext, console: Console, chromium: Browser, base_url: str
) -> None:
    page = console.watch(await context.new_page())
    await page.goto("/login")
    await expect(page.locator("html")).to_have_attribute("data-theme", "system")
    await page.click("[data-theme-switch] button[value=dark]")
    await expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    background = await page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(13, 15, 23)"
    # A new page load is rendered dark by the server (no script needed to apply it).
    response = await page.request.get("/terms")
    assert 'data-theme="dark"' in await response.text()
    await page.reload()
    await expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    assert console.problems == []

    # Without JavaScript the switch is a form post that comes back to the same page.
    no_js = await chromium.new_context(base_url=base_url, java_script_enabled=False)
    try:
        plain = await no_js.new_page()
        await plain.goto("/terms")
        await plain.click("[data-theme-switch] button[value=light]")
        await expect(plain).to_have_url(re.compile(r"/terms$"))
        await expect(plain.locator("html")).to_have_attribute("data-theme", "light")
    finally:
        await no_js.close()


async def test_secret_key_from_settings_calls_the_api(
    context: BrowserContext, console: Console, client: httpx.AsyncClient, base_url: str
) -> None:
    await register(client, "keys@example.com", name="Kim Keys")
    page = console.watch(await context.new_page())
    await page.goto("/login?next=/app/settings")
    await page.fill("#f-email", "keys@example.com")
    await page.fill("#f-password", PASSWORD)
    await page.click("#main button[type=submit]")
    await expect(page).to_have_url(re.compile(r"/app/settings$"))
    await expect(page.locator("#api-keys .empty")).to_contain_text("No API keys yet")
    await page.fill("#key-name", "Production server")
    await page.click("[data-key-form] button[type=submit]")
    key = (await page.locator("[data-key-value]").inner_text()).strip()
    assert key.startswith("tr_sk_")
    await expect(page.locator("[data-keys-table] tbody tr")).to_have_count(1)
    async with httpx.AsyncClient(base_url=base_url) as api:
        credits = await api.get("/api/v1/credits", headers={"Authorization": f"Bearer {key}"})
    assert credits.status_code == 200, credits.text

    # A publishable key needs origins: the form says so and keeps what was typed.
    await page.fill("#key-name", "Widget")
    await expect(page.locator("#key-origins")).to_be_hidden()  # secret keys take no origins
    await page.check("input[name=kind][value=publishable]")
    await expect(page.locator("#key-origins")).to_be_visible()
    await page.click("[data-key-form] button[type=submit]")
    await expect(page.locator("[data-error-for=allowed_origins]")).to_contain_text("at least one allowed origin")
    await expect(page.locator("#key-name")).to_have_value("Widget")
    await page.fill("#key-origins", "https://shop.example")
    await page.click("[data-key-form] button[type=submit]")
    await expect(page.locator("[data-key-value]")).to_contain_text("tr_pk_")
    await expect(page.locator("[data-keys-table] tbody tr")).to_have_count(2)
    await shoot(page, "settings-new-key-1280-light")

    # Regenerate: the old secret stops working.
    page.once("dialog", lambda dialog: dialog.accept())
    row = page.locator("[data-keys-table] tbody tr", has_text="Production server")
    await row.locator("button", has_text="Regenerate").click()
    await expect(page.locator("[data-new-key]")).to_contain_text("Key regenerated")
    async with httpx.AsyncClient(base_url=base_url) as api:
        old = await api.get("/api/v1/credits", headers={"Authorization": f"Bearer {key}"})
    assert old.status_code == 401
    assert console.problems == []


async def test_landing_demo_and_pricing_calculator(
    context: BrowserContext, console: Console, client: httpx.AsyncClient
) -> None:
    page = console.watch(await context.new_page())
    await page.goto("/")
    result = page.locator("[data-demo-result]")
    await expect(result).to_be_visible()
    await page.wait_for_function(DEMO_RENDERED, timeout=30_000)
    await page.click("[data-demo-pair=denim-jacket]")
    await expect(page.locator("[data-demo-pair=denim-jacket]")).to_have_attribute("aria-current", "true")
    await expect(page.locator("[data-demo-loading]")).to_be_hidden(timeout=30_000)
    await expect(result).to_have_attribute("src", re.compile(r"^blob:"))
    await expect(page.locator("[data-demo-error]")).to_be_hidden()

    slider = page.locator("[data-credits-range]")
    await expect(slider).to_be_visible()
    await slider.fill("10000")
    expected = (await client.get("/api/v1/pricing/calculate", params={"credits": 10000})).json()
    await expect(page.locator("[data-credits-out]")).to_have_text("10,000")
    rupees = f"₹{expected['amount'] // 100:,}.{expected['amount'] % 100:02d}"
    await expect(page.locator("[data-quote-amount]")).to_have_text(rupees)
    await expect(page.locator("[data-discount-badge]")).to_contain_text(f"{expected['discount_percent']:g}% off")
    assert console.problems == []


@pytest.mark.parametrize("theme", ["light", "dark"])
async def test_screenshots(chromium: Browser, base_url: str, client: httpx.AsyncClient, theme: str) -> None:
    await register(client, "shots@example.com", name="Priya Patel")
    console = Console()
    for width in (360, 1280):
        context = await chromium.new_context(base_url=base_url, viewport={"width": width, "height": 800})
        try:
            await context.add_cookies([{"name": "tr_theme", "value": theme, "url": base_url}])
            page = console.watch(await context.new_page())
            for path, name in (("/", "landing"), ("/login", "login"), ("/register", "register")):
                await page.goto(path)
                if name == "landing":
                    await page.wait_for_function(
                        "document.querySelector('[data-demo-result]').naturalWidth > 0", timeout=30_000
                    )
                await shoot(page, f"{name}-{width}-{theme}")
            await page.goto("/login")
            await page.fill("#f-email", "shots@example.com")
            await page.fill("#f-password", PASSWORD)
            await page.click("#main button[type=submit]")
            await expect(page).to_have_url(re.compile(r"/app$"))
            await shoot(page, f"home-{width}-{theme}")
            await page.goto("/app/settings")
            await shoot(page, f"settings-{width}-{theme}")
            if width == 360:
                await page.click("[data-open-sidebar]")
                await expect(page.locator("[data-sidebar]")).to_be_visible()
                await page.screenshot(path=str(SHOTS / f"menu-{width}-{theme}.png"))
        finally:
            await context.close()
    assert console.problems == []
