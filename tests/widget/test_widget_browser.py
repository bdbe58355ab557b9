"""The widget in a real Chromium against the running platform: the demo store walk (direct mode,
same origin), direct mode from another origin under a strict CSP, proxy mode through the Flask
extension, and the error, keyboard and focus behaviour. Jobs really run (real workers, the scripted
engine). Screenshots of every dialog state land in test-artifacts/widget/."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask, render_template_string, send_file
from litestar import Litestar, Response, get
from playwright.async_api import Browser, Locator, Page, expect

from tests.browser import ARTIFACTS, is_loopback, launched_chromium, wsgi_served
from tests.conftest import running_workers, serve
from tests.fakes.engines import ScriptedEngine
from tests.helpers import new_key, signed_up
from trailroom.core.config import Settings
from trailroom.domain.accounts.models import ApiKeyKind, User
from trailroom.domain.credits.models import TransactionKind
from trailroom.domain.credits.services import utc_day
from trailroom.domain.services import Services
from trailroom.domain.tryon.models import TryOnJob
from trailroom.embedded.process import free_port
from trailroom.engines.base import EngineError
from trailroom.seed import DemoAccount, ensure_demo
from trailroom_flask import TrailRoom

pytestmark = pytest.mark.browser

DATA = Path(__file__).resolve().parent.parent / "data"
PERSON = DATA / "people" / "selfie_1.jpg"
GARMENT = DATA / "garments" / "top_3.jpg"
SHOTS = ARTIFACTS / "widget"
PRODUCT = "oxford-shirt"

# Recorded in every page before its own scripts run: the widget's events and any CSP violation.
RECORDER = """
window.__seen = { events: [], csp: [] };
for (const name of ["open", "result", "error", "close"]) {
  document.addEventListener("trailroom:" + name, (e) => window.__seen.events.push({ type: e.type, detail: e.detail }));
}
document.addEventListener("securitypolicyviolation", (e) => {
  window.__seen.csp.push(e.violatedDirective + " " + e.blockedURI);
});
"""


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with launched_chromium() as chromium:
        yield chromium


class Tab:
    """A page with its console and outgoing requests recorded."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.console: list[str] = []
        self.requests: list[str] = []
        self.page_errors: list[str] = []
        page.on("console", lambda message: self.console.append(f"{message.type}: {message.text}"))
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))

    @property
    def widget(self) -> Locator:
        return self.page.locator("trailroom-try-on").first

    def part(self, selector: str) -> Locator:
        return self.widget.locator(selector)

    async def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        seen: list[dict[str, Any]] = await self.page.evaluate("window.__seen.events")
        return [e for e in seen if kind is None or e["type"] == f"trailroom:{kind}"]

    async def csp_violations(self) -> list[str]:
        violations: list[str] = await self.page.evaluate("window.__seen.csp")
        return violations + [line for line in self.console if "Content Security Policy" in line]

    async def shot(self, name: str | None) -> None:
        if name:
            SHOTS.mkdir(parents=True, exist_ok=True)
            await self.page.screenshot(path=str(SHOTS / f"{name}.png"))

    async def close(self) -> None:
        await self.page.context.close()


async def open_tab(browser: Browser, width: int = 1280, dark: bool = False) -> Tab:
    phone = width < 600
    context = await browser.new_context(
        viewport={"width": width, "height": 740 if phone else 800},
        color_scheme="dark" if dark else "light",
        device_scale_factor=1,
        is_mobile=phone,
        has_touch=phone,
    )
    page = await context.new_page()
    await page.add_init_script(RECORDER)
    return Tab(page)


async def demo_merchant(services: Services, settings: Settings, credits: int = 20) -> DemoAccount:
    demo = await ensure_demo(services, settings)
    user = await User.find_one(User.email == demo.email)
    assert user is not None
    if credits:
        await services.credits.add(user.id, credits, kind=TransactionKind.PURCHASE, description="widget tests")  # type: ignore[arg-type]
    return demo


async def walk(tab: Tab, shots: str | None = None, close_while_waiting: bool = False) -> dict[str, Any]:
    """Button → dialog → photo → consent → submit → progress → result; returns the result event's detail.
    With `close_while_waiting` the dialog is closed during the progress and opened again once the
    result arrived: the try-on goes on without the dialog and its result is waiting."""
    await tab.shot(shots and f"{shots}-0-page")
    await tab.part("button.launch").click()
    dialog = tab.part("dialog")
    await expect(dialog).to_be_visible()
    await expect(tab.part("#title")).to_have_text("Try it on")
    await expect(tab.part("[data-ref=choose]")).to_be_focused()
    await tab.shot(shots and f"{shots}-1-open")

    await tab.part("[data-ref=file]").set_input_files(PERSON)
    await expect(tab.part("[data-ref=preview]")).to_be_visible()
    submit = tab.part("[data-ref=submit]")
    await expect(submit).to_be_disabled()  # the consent must be given first
    await tab.part("[data-ref=consent]").check()
    await expect(submit).to_be_enabled()
    await tab.shot(shots and f"{shots}-2-preview")

    await submit.click()
    await expect(tab.part("[data-view=progress]")).to_be_visible()
    await expect(tab.part("[role=status]")).not_to_be_empty()
    await tab.shot(shots and f"{shots}-3-progress")
    if close_while_waiting:
        await tab.part(".close").click()
        await expect(tab.part("dialog")).to_be_hidden()
        await tab.page.wait_for_function(
            "() => window.__seen.events.some(e => e.type === 'trailroom:result')", timeout=30_000
        )
        await tab.part("button.launch").click()

    after = tab.part("[data-ref=after]")
    await expect(after).to_be_visible(timeout=30_000)
    await tab.page.wait_for_function(
        "() => document.querySelector('trailroom-try-on').shadowRoot.querySelector('[data-ref=after]').naturalWidth > 0"
    )
    await tab.shot(shots and f"{shots}-4-result")
    [result] = await tab.events("result")
    return dict(result["detail"])


async def test_the_demo_product_page_walk_in_light_and_dark_at_phone_and_desktop_widths(
    browser: Browser, base_url: str, services: Services, settings: Settings, use_scripted: ScriptedEngine
) -> None:
    demo = await demo_merchant(services, settings)
    use_scripted.delay_s = 0.8  # long enough to see (and photograph) the progress state
    async with running_workers(services):
        for width, dark in ((1280, False), (360, False), (1280, True), (360, True)):
            name = f"demo-{width}-{'dark' if dark else 'light'}"
            tab = await open_tab(browser, width, dark)
            page = tab.page
            await page.goto(f"{base_url}/demo/store")
            plain_globals = set(await page.evaluate("Object.getOwnPropertyNames(window)"))
            await page.screenshot(path=str(SHOTS / f"store-{width}-{'dark' if dark else 'light'}.png"), full_page=True)
            await page.goto(f"{base_url}/demo/store/{PRODUCT}")
            await expect(tab.widget).to_have_attribute("publishable-key", demo.publishable_key)

            if width < 600:
                # Phones get a second button that opens the front camera.
                await tab.part("button.launch").click()
                await expect(tab.part("[data-ref=camera]")).to_be_visible()
                await expect(tab.part("[data-ref=capture]")).to_have_attribute("capture", "user")
                await tab.part(".close").click()
                await page.evaluate("window.__seen.events.length = 0")
            else:
                await expect(tab.part("[data-ref=camera]")).to_be_hidden()
            detail = await walk(tab, name, close_while_waiting=dark and width > 600)
            job = await TryOnJob.get(detail["jobId"])
            assert job is not None
            assert job.status == "completed"
            assert detail["resultUrl"].startswith(f"{base_url}/api/v1/tryon/{detail['jobId']}/result/0?")
            assert detail["resultUrls"] == [detail["resultUrl"]]
            await expect(tab.part("[data-ref=after]")).to_have_attribute("src", detail["resultUrl"])
            await expect(tab.part("[data-ref=download]")).to_have_attribute("href", detail["resultUrl"])
            before = await tab.part("[data-ref=before]").get_attribute("src")
            assert before is not None
            assert before.startswith("blob:")  # the shopper's own photo, never uploaded twice
            # Every request named the shopper id the platform issued to this browser for the key.
            token = await page.evaluate(f"localStorage.getItem('trailroom:shopper:{demo.publishable_key}')")
            assert token.startswith(f"shp_{job.client['shopper_id']}.")

            if width == 1280 and not dark:
                # The slider moves the before/after divider from the keyboard.
                await tab.part("[data-ref=slider]").focus()
                for _ in range(3):
                    await page.keyboard.press("ArrowLeft")
                position = await tab.part("[data-ref=compare]").evaluate("el => el.style.getPropertyValue('--pos')")
                assert position == "47%"
                # No globals beyond the custom element.
                added = set(await page.evaluate("Object.getOwnPropertyNames(window)")) - plain_globals
                assert added == set()
                assert await page.evaluate("customElements.get('trailroom-try-on') !== undefined")

            # "Try another photo" returns to the preview; another file that is no photo is refused here.
            await tab.part("[data-ref=again]").click()
            await expect(tab.part("[data-ref=preview]")).to_be_visible()
            await tab.part("[data-ref=change]").click()
            await tab.part("[data-ref=file]").set_input_files(
                files=[{"name": "notes.png", "mimeType": "image/png", "buffer": b"these are my notes, not a photo"}]
            )
            await expect(tab.part("[data-ref=error]")).to_contain_text("not a photo")
            await tab.shot(f"{name}-5-error")
            await tab.part(".close").click()
            await expect(tab.part("dialog")).to_be_hidden()
            await expect(tab.part("button.launch")).to_be_focused()
            events = await tab.events()
            kinds = [e["type"] for e in events]
            expected = ["trailroom:open", "trailroom:result", "trailroom:error", "trailroom:close"]
            if dark and width > 600:
                expected = ["trailroom:open", "trailroom:close", "trailroom:result", "trailroom:open", *expected[2:]]
            assert kinds == expected
            [refusal] = [e for e in events if e["type"] == "trailroom:error"]
            assert refusal["detail"]["code"] == "invalid_file"

            assert await tab.csp_violations() == []
            assert tab.page_errors == []
            assert [line for line in tab.console if line.startswith("error")] == []  # no 404s, no failures
            assert [url for url in tab.requests if not is_loopback(url)] == []
            await tab.close()


async def deep_focus_in_dialog(page: Page) -> bool:
    return bool(
        await page.evaluate(
            """() => {
                const host = document.activeElement;
                const inner = host && host.shadowRoot && host.shadowRoot.activeElement;
                return Boolean(inner && inner.closest('dialog'));
            }"""
        )
    )


async def test_keyboard_focus_escape_no_credits_and_offline_states(
    browser: Browser, base_url: str, services: Services, settings: Settings
) -> None:
    demo = await demo_merchant(services, settings, credits=0)
    user = await User.find_one(User.email == demo.email)
    assert user is not None
    user.free_daily_credits, user.free_credits_day = 0, utc_day()  # today's free credits are spent
    await user.save()

    tab = await open_tab(browser, 1280)
    page = tab.page
    await page.goto(f"{base_url}/demo/store/{PRODUCT}")
    launch = tab.part("button.launch")
    await launch.focus()
    await page.keyboard.press("Enter")
    dialog = tab.part("dialog")
    await expect(dialog).to_be_visible()
    await expect(dialog).to_have_attribute("aria-modal", "true")
    await expect(page.get_by_role("dialog", name="Try it on")).to_be_visible()

    # Tab and Shift+Tab cycle inside the dialog, never back to the page.
    for key in ["Tab"] * 4 + ["Shift+Tab"] * 4:
        await page.keyboard.press(key)
        assert await deep_focus_in_dialog(page), f"focus left the dialog after {key}"
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    await expect(launch).to_be_focused()

    # Keyboard only through the preview: consent with Space, submit with Enter.
    await page.keyboard.press("Enter")
    await expect(dialog).to_be_visible()
    await tab.part("[data-ref=file]").set_input_files(PERSON)
    await expect(tab.part("[data-ref=consent]")).to_be_focused()
    # A privacy link only for http(s) URLs.
    privacy = tab.part("[data-ref=privacy]")
    await expect(privacy).to_be_hidden()
    await tab.widget.evaluate("el => el.setAttribute('privacy-url', 'javascript:alert(1)')")
    await expect(privacy).to_be_hidden()
    await tab.widget.evaluate("el => el.setAttribute('privacy-url', '/privacy')")
    await expect(privacy).to_have_attribute("href", f"{base_url}/privacy")
    await expect(privacy).to_have_text("Privacy policy")
    for key in ["Tab", "Tab", "Tab", "Tab", "Shift+Tab", "Shift+Tab"]:
        await page.keyboard.press(key)
        assert await deep_focus_in_dialog(page)
    await tab.part("[data-ref=consent]").focus()
    await page.keyboard.press("Space")
    await expect(tab.part("[data-ref=consent]")).to_be_checked()
    await page.keyboard.press("Tab")
    await expect(privacy).to_be_focused()
    await page.keyboard.press("Tab")
    await expect(tab.part("[data-ref=submit]")).to_be_focused()
    await page.keyboard.press("Enter")

    # No credits (402): a message for the shopper, an event with the platform's code for the page.
    error = tab.part("[data-ref=error]")
    await expect(error).to_have_text("Try-on is not available right now. Please try again later.")
    await expect(tab.part("[data-ref=back]")).to_be_focused()
    [event] = await tab.events("error")
    assert event["detail"]["status"] == 402
    assert event["detail"]["code"] == "out_of_credits"
    assert await TryOnJob.count() == 0
    await tab.shot("error-402-1280-light")

    # The network goes away: the shopper is told, not left waiting.
    await tab.part("[data-ref=back]").click()
    await expect(tab.part("[data-ref=submit]")).to_be_enabled()
    await page.context.set_offline(True)
    await tab.part("[data-ref=submit]").click()
    await expect(error).to_contain_text("connection was lost")
    assert (await tab.events("error"))[-1]["detail"]["code"] == "network"
    await page.context.set_offline(False)

    # Looks like a JPEG to the widget, but the platform cannot read it: its problem detail is shown.
    await tab.part("[data-ref=back]").click()
    await tab.part("[data-ref=change]").click()
    broken = {"name": "broken.jpg", "mimeType": "image/jpeg", "buffer": b"\xff\xd8\xff\xe0" + b"\x00" * 200}
    await tab.part("[data-ref=file]").set_input_files(files=[broken])
    await tab.part("[data-ref=consent]").check()
    errors_before = len(await tab.events("error"))
    await tab.part("[data-ref=submit]").click()
    await page.wait_for_function(
        "n => window.__seen.events.filter(e => e.type === 'trailroom:error').length > n", arg=errors_before
    )
    server_error = (await tab.events("error"))[-1]["detail"]
    assert server_error["status"] in (400, 413, 422), server_error
    problem_detail = server_error["message"]
    assert "image" in problem_detail.lower(), problem_detail  # the platform's words, not a generic message
    await expect(error).to_have_text(problem_detail)
    await tab.shot("error-422-1280-light")

    # Too large for the element's own limit: refused before any upload.
    await tab.part("[data-ref=back]").click()
    await tab.part("[data-ref=change]").click()
    await tab.widget.evaluate("el => el.setAttribute('max-bytes', '1000')")
    await tab.part("[data-ref=file]").set_input_files(PERSON)
    await expect(error).to_contain_text("That photo is too large (1 KB at most)")
    assert (await tab.events("error"))[-1]["detail"]["code"] == "file_too_large"

    # The theme attribute overrides the system preference.
    background = "el => getComputedStyle(el.shadowRoot.querySelector('dialog')).backgroundColor"
    assert await tab.widget.evaluate(background) == "rgb(255, 255, 255)"
    await tab.widget.evaluate("el => el.setAttribute('theme', 'dark')")
    assert await tab.widget.evaluate(background) == "rgb(23, 25, 31)"
    await tab.shot("error-file-size-1280-theme-dark")

    # Strings come from attributes.
    await page.keyboard.press("Escape")
    await tab.widget.evaluate("el => el.setAttribute('button-label', 'Virtually try on')")
    await expect(launch).to_have_text("Virtually try on")
    await launch.click()
    await expect(error).to_be_hidden()  # a new visit starts without the old message

    # A secret key in the page is refused before anything is sent.
    await tab.widget.evaluate("el => el.removeAttribute('max-bytes')")
    await tab.widget.evaluate("el => el.setAttribute('publishable-key', 'tr_sk_x')")
    await tab.part("[data-ref=file]").set_input_files(PERSON)
    await tab.part("[data-ref=consent]").check()
    calls_before = len([url for url in tab.requests if "/api/v1/tryon" in url])
    await tab.part("[data-ref=submit]").click()
    await expect(error).to_have_text("The try-on service is unavailable right now. Please try again later.")
    assert len([url for url in tab.requests if "/api/v1/tryon" in url]) == calls_before
    assert any("must never be in a page" in line for line in tab.console)
    assert await tab.csp_violations() == []
    assert tab.page_errors == []
    await tab.close()


def host_page(base_url: str, publishable_key: str) -> Litestar:
    """A merchant's page on another origin: the widget from the platform, a strict CSP, the garment here."""
    policy = (
        f"default-src 'none'; script-src 'self' {base_url}; style-src 'self'; img-src 'self' blob: {base_url}; "
        f"connect-src 'self' {base_url}; base-uri 'none'"
    )

    @get("/", sync_to_thread=False)
    def product() -> Response[str]:
        html = (
            "<!doctype html><html lang=en><head><meta charset=utf-8><title>Other shop</title>"
            f'<script src="{base_url}/widget/v1/trailroom.js" defer></script></head><body><h1>Plain tee</h1>'
            f'<trailroom-try-on garment-image="/tee.jpg" mode="top" publishable-key="{publishable_key}">'
            "</trailroom-try-on></body></html>"
        )
        return Response(html, media_type="text/html", headers={"Content-Security-Policy": policy})

    @get("/tee.jpg", sync_to_thread=False)
    def garment() -> Response[bytes]:
        return Response(GARMENT.read_bytes(), media_type="image/jpeg")

    return Litestar([product, garment], logging_config=None)


async def test_direct_mode_from_an_allowed_origin_under_a_strict_csp_and_a_clear_refusal_elsewhere(
    browser: Browser, base_url: str, services: Services, settings: Settings, use_scripted: ScriptedEngine
) -> None:
    demo = await demo_merchant(services, settings)
    user = await User.find_one(User.email == demo.email)
    assert user is not None
    allowed_port, other_port = free_port(), free_port()
    allowed_origin = f"http://127.0.0.1:{allowed_port}"
    api_key, key = await services.api_keys.generate(
        user, name="other shop", kind=ApiKeyKind.PUBLISHABLE, allowed_origins=[allowed_origin]
    )
    api_key.shopper_daily_limit = 1  # one try-on a day for each shopper of this shop
    await api_key.save()
    app = host_page(base_url, key)
    async with serve(app, "127.0.0.1", allowed_port), serve(app, "127.0.0.1", other_port), running_workers(services):
        tab = await open_tab(browser, 1280)
        response = await tab.page.goto(f"{allowed_origin}/")
        assert response is not None
        assert "script-src 'self' http://127.0.0.1" in response.headers["content-security-policy"]
        detail = await walk(tab, "cross-origin-1280-light")
        job = await TryOnJob.get(detail["jobId"])
        assert job is not None
        assert job.status == "completed"
        assert job.client["origin"] == allowed_origin
        assert detail["resultUrl"].startswith(f"{base_url}/api/v1/tryon/")

        # A second try-on by the same shopper is over the key's daily cap: 429 with Retry-After.
        await tab.part("[data-ref=again]").click()
        await tab.part("[data-ref=submit]").click()
        await expect(tab.part("[data-ref=error]")).to_contain_text(
            re.compile(r"You have reached the try-on limit for now\. Please try again in \d+ (minutes|hours)\.")
        )
        [event] = await tab.events("error")
        assert (event["detail"]["status"], event["detail"]["code"]) == (429, "shopper_limit_reached")
        await tab.shot("cross-origin-429-1280-light")
        assert await tab.csp_violations() == []
        assert tab.page_errors == []
        await tab.close()

        # The same key on a page it does not allow: the shopper reads why, the page gets a code.
        tab = await open_tab(browser, 360)
        await tab.page.goto(f"http://127.0.0.1:{other_port}/")
        await tab.part("button.launch").click()
        await tab.part("[data-ref=file]").set_input_files(PERSON)
        await tab.part("[data-ref=consent]").check()
        await tab.part("[data-ref=submit]").click()
        await expect(tab.part("[data-ref=error]")).to_contain_text("This site is not allowed to use this try-on key")
        await expect(tab.part("[data-ref=error]")).to_contain_text(f"http://127.0.0.1:{other_port}")
        [event] = await tab.events("error")
        assert event["detail"]["code"] == "origin_not_allowed"
        await tab.shot("cross-origin-refused-360-light")
        assert await TryOnJob.count() == 1
        assert await tab.csp_violations() == []
        await tab.close()


async def test_proxy_mode_through_the_flask_extension(
    browser: Browser, base_url: str, client: httpx.AsyncClient, services: Services, use_scripted: ScriptedEngine
) -> None:
    account = await signed_up(client, "flask-widget@example.com")
    secret = (await new_key(client, account))["key"]
    owner = await User.find_one(User.email == account.email)
    assert owner is not None
    await services.credits.add(owner.id, 5, kind=TransactionKind.PURCHASE, description="widget tests")  # type: ignore[arg-type]

    shop = Flask("widget_shop")
    shop.secret_key = "flask-session-signing-key"
    shop.config.update(TRAILROOM_API_KEY=secret, TRAILROOM_BASE_URL=base_url, TRAILROOM_PUBLIC_URL=base_url)
    TrailRoom(shop)

    @shop.get("/product")
    def product() -> str:
        return render_template_string("<h1>Tee</h1>{{ trailroom_widget('/tee.jpg', mode='top') }}")

    @shop.get("/tee.jpg")
    def tee() -> Any:
        return send_file(GARMENT, mimetype="image/jpeg")

    with wsgi_served(shop) as shop_url:
        async with running_workers(services):
            tab = await open_tab(browser, 1280)
            await tab.page.goto(f"{shop_url}/product")
            await expect(tab.widget).to_have_attribute("endpoint", "/trailroom/tryon")
            detail = await walk(tab)
            # The browser only ever talked to the shop (and loaded the script and result from TrailRoom).
            api = f"{base_url}/api/v1/tryon"
            assert [url for url in tab.requests if url.startswith(api) and "/result/" not in url] == []
            assert any(url.startswith(f"{shop_url}/trailroom/tryon/") for url in tab.requests)
            job = await TryOnJob.get(detail["jobId"])
            assert job is not None
            assert job.status == "completed"
            assert job.account_id == owner.id
            assert secret not in await tab.page.content()

            # The engine refuses the photo: the job fails and the shopper reads the engine's reason.
            use_scripted.failures = [EngineError("person_not_found", "No person is visible in the photo.")]
            await tab.part("[data-ref=again]").click()
            await tab.part("[data-ref=submit]").click()
            error = tab.part("[data-ref=error]")
            await expect(error).to_have_text("No person is visible in the photo.", timeout=20_000)
            [failed] = await tab.events("error")
            assert failed["detail"]["code"] == "person_not_found"
            await tab.shot("proxy-job-failed-1280-light")

            # Nothing within the element's timeout: the shopper is told instead of waiting forever.
            use_scripted.delay_s = 4.0
            await tab.widget.evaluate("el => el.setAttribute('timeout', '1')")
            await tab.part("[data-ref=back]").click()
            await tab.part("[data-ref=submit]").click()
            await expect(error).to_contain_text("taking longer than it should", timeout=10_000)
            assert (await tab.events("error"))[-1]["detail"]["code"] == "timeout"
            assert tab.page_errors == []
            await tab.close()
