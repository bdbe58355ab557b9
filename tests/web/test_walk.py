"""The walk a new merchant takes, in a real Chromium: register, sign out, sign in, generate a try-on
with the local engine on real photos (live progress over server-sent events), find it in history
(preview with zoom), and call the API from the playground with a key made there. The playground's
cURL, Python and JavaScript snippets are then run exactly as shown. Screenshots of every page at
360 px and 1280 px, light and dark, land in test-artifacts/walk/."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, ConsoleMessage, Page, Request, async_playwright, expect

from tests.browser import CHROMIUM, CHROMIUM_ARGS, is_loopback
from tests.conftest import REPO, running_workers
from tests.webhooks.conftest import Receiver, receiver  # noqa: F401 - fixture
from trailroom.domain.services import Services

DATA = REPO / "tests" / "data"
SHOTS = REPO / "test-artifacts" / "walk"
PASSWORD = "Fitting-Room-42"
EMAIL = "walker@example.com"


class Watch:
    """Everything that would make a person distrust the page: script errors, CSP violations,
    failed requests, and requests leaving the machine."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def attach(self, page: Page) -> None:
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("console", self._console)
        page.on("requestfailed", lambda request: self._failed(request, page.url))
        page.on("request", lambda r: None if is_loopback(r.url) else self.problems.append(f"outside: {r.url}"))

    def _failed(self, request: Request, on: str) -> None:
        # An abort is the browser dropping a request it no longer needs (a page left, an event stream
        # closed once the try-on ended, a favicon): not a failure of ours. Anything else is.
        if request.failure != "net::ERR_ABORTED":
            self.problems.append(f"failed on {on}: {request.url} {request.failure}")

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and "401" not in message.text:
            self.problems.append(f"console: {message.text}")


async def shoot(page: Page, name: str, *, whole: bool = True) -> None:
    """The whole page (the viewport stretched to its height, so sticky bars stay on top), or the view."""
    await page.mouse.move(0, 0)
    path = SHOTS / f"{name}.png"
    size = page.viewport_size
    assert size is not None
    if whole:
        height = await page.evaluate("document.documentElement.scrollHeight")
        await page.set_viewport_size({"width": size["width"], "height": max(height, size["height"])})
        # Lazy images below the fold start loading now: wait for them before the picture is taken.
        await page.wait_for_function("[...document.images].every((image) => image.complete)")
    await page.screenshot(path=str(path))
    await page.set_viewport_size(size)
    assert path.stat().st_size > 5_000


def run(command: list[str], cwd: Path) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, f"{command[0]} failed: {done.stderr}"
    return done.stdout


async def snippet(page: Page, language: str) -> str:
    await page.locator(f"[data-snippet-tabs] [data-lang='{language}']").click()
    code = page.locator("[data-snippet]")
    await expect(code).to_have_attribute("data-lang", language)
    return await code.inner_text()


PAGES = ("generate", "history", "tryon", "playground", "usage", "webhooks", "billing")


async def tour(
    context: BrowserContext, base_url: str, watch: Watch, suffix: str, job_id: str, pages: tuple[str, ...] = PAGES
) -> None:
    """Dashboard pages of this walk, screenshotted in one viewport and theme."""
    page = await context.new_page()
    watch.attach(page)
    for name in pages:
        path = f"/app/history/{job_id}" if name == "tryon" else f"/app/{name}"
        response = await page.goto(base_url + path)
        assert response is not None
        assert response.status == 200, path
        overflow = await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{path} is {overflow} px wider than the {suffix} screen"
        await shoot(page, f"{name}-{suffix}")
    await page.close()


@pytest.mark.browser
async def test_register_login_generate_history_and_a_playground_call(
    base_url: str,
    services: Services,
    receiver: Receiver,  # noqa: F811
) -> None:
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)
    watch = Watch()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            desktop = await browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="light")
            await desktop.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
            page = await desktop.new_page()
            watch.attach(page)

            # Register (signs in), sign out from the profile menu, sign in again.
            await page.goto(f"{base_url}/register")
            await page.fill("#f-name", "Wanda Walker")
            await page.fill("#f-email", EMAIL)
            await page.fill("#f-password", PASSWORD)
            await page.check("input[name=accept_terms]")
            await page.locator("form[action='/register'] button[type=submit]").click()
            await page.wait_for_url(f"{base_url}/app")
            await page.locator("details[data-menu] summary").click()
            await page.locator("[data-logout]").click()
            await page.wait_for_url(f"{base_url}/")
            await page.goto(f"{base_url}/login")
            await page.fill("#f-email", EMAIL)
            await page.fill("#f-password", PASSWORD)
            await page.locator("form[action='/login'] button[type=submit]").click()
            await page.wait_for_url(f"{base_url}/app")

            # Generate: photos checked in the page, cost shown before sending, live progress, result.
            await page.goto(f"{base_url}/app/generate")
            submit = page.locator("[data-generate-submit]")
            await expect(submit).to_be_disabled()  # no photos yet
            await page.set_input_files("#f-person_image", str(DATA / "people" / "studio_1.png"))
            await expect(page.locator("[data-dropzone='person_image'] [data-preview]")).to_be_visible()
            # A file that is not an image is refused before anything is uploaded.
            await page.set_input_files(
                "#f-garment_image", files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello"}]
            )
            await expect(page.locator("[data-dropzone='garment_image'] [data-dropzone-error]")).to_contain_text(
                "not a PNG, JPEG or WebP"
            )
            await page.set_input_files("#f-garment_image", str(DATA / "garments" / "top_1.jpg"))
            await page.locator("select[name=samples]").select_option("2")
            await expect(page.locator("[data-cost-value]")).to_have_text("2 credits")
            await expect(page.locator("[data-cost-note]")).to_contain_text("You have 3; 1 left")
            await expect(submit).to_be_enabled()
            await page.locator("select[name=samples]").select_option("1")
            await expect(page.locator("[data-cost-value]")).to_have_text("1 credit")
            await shoot(page, "generate-filled-1280-light")
            async with running_workers(services):
                await submit.click()
                progress = page.locator("#generate-progress")
                await expect(progress).to_be_visible()
                await expect(progress.locator("[data-results] img")).to_have_count(1, timeout=90_000)
            await expect(progress.locator("[data-progress-label]")).to_have_text("Done")
            await expect(page.locator("[data-balance-value]")).to_have_text("2")  # the charge, in the top bar
            job_href = await progress.locator("[data-job-link]").get_attribute("href")
            assert job_href
            assert job_href.startswith("/app/history/")
            job_id = job_href.rsplit("/", 1)[1]
            result = progress.locator("[data-results] img").first
            await expect(result).to_have_js_property("complete", True)
            assert await result.evaluate("img => img.naturalWidth") > 100
            await shoot(page, "generate-result-1280-light")
            # The result full screen (the viewer dialog), zoomed in, with its download link.
            await progress.locator("[data-results] figcaption button").click()
            viewer = page.locator("#image-viewer")
            await expect(viewer).to_be_visible()
            await expect(viewer.locator("[data-viewer-image]")).to_have_js_property("complete", True)
            await viewer.locator("[data-viewer-zoom]").click()
            await expect(viewer.locator("[data-viewer-frame]")).to_have_class("viewer-frame is-zoomed")
            assert (await viewer.locator("[data-viewer-download]").get_attribute("download") or "").startswith("tryon-")
            await shoot(page, "viewer-1280-light", whole=False)
            await viewer.locator("[data-viewer-close]").click()
            await expect(viewer).to_be_hidden()
            # Generate again: the same photos (still in the page) make a new try-on, charged again.
            await page.locator("[data-generate-again]").click()
            await expect(progress.locator("[data-job-link]")).not_to_have_attribute("href", job_href)
            await expect(page.locator("[data-balance-value]")).to_have_text("1")
            await expect(page.locator("[data-balance-unit]")).to_have_text("credit")
            again_href = await progress.locator("[data-job-link]").get_attribute("href")
            assert again_href

            # History: the try-on is there; its preview opens in the viewer.
            await page.locator("nav a[href='/app/history']").click()
            await page.wait_for_url(f"{base_url}/app/history")
            card = page.locator(f"[data-history-grid] li[data-job='{job_id}']")
            await expect(card).to_be_visible()
            await expect(card.locator("[data-status]")).to_have_text("Completed")
            again_card = page.locator(f"[data-history-grid] li[data-job='{again_href.rsplit('/', 1)[1]}']")
            await expect(again_card.locator("[data-status]")).to_have_text("Queued")  # the workers have stopped
            await card.locator(".history-thumb").click()
            await expect(viewer).to_be_visible()
            await expect(viewer.locator("[data-viewer-image]")).to_have_js_property("complete", True)
            await viewer.locator("[data-viewer-close]").click()

            # Playground: a key made on the spot, GET /api/v1/credits sent with it.
            await page.goto(f"{base_url}/app/playground")
            await expect(page.locator("[data-operation]")).to_have_value("GET /api/v1/credits")
            await page.locator("[data-create-key]").click()
            await expect(page.locator("[data-key-created]")).to_be_visible()
            key = await page.locator("[data-key]").input_value()
            assert key.startswith("tr_sk_")
            await page.locator("[data-send]").click()
            await expect(page.locator("[data-response-status]")).to_have_text("200 OK")
            body = json.loads(await page.locator("[data-response-body]").inner_text())
            assert body["balance"] == 1  # three free credits, one spent on each try-on
            await shoot(page, "playground-call-1280-light")
            snippets = {language: await snippet(page, language) for language in ("curl", "python", "javascript")}
            assert all(key in text for text in snippets.values())

            # The same call as a try-on status read, with its image shown from the result URL.
            await page.locator("[data-operation]").select_option("GET /api/v1/tryon/{job_id}")
            await page.fill("#pg-p-path-job_id", job_id)
            await page.locator("[data-send]").click()
            await expect(page.locator("[data-response-status]")).to_have_text("200 OK")
            await expect(page.locator("[data-response-images] img")).to_have_count(1)
            await expect(page.locator("[data-response-images] img")).to_have_js_property("complete", True)
            await shoot(page, "playground-status-1280-light")
            # The result as base64: the page draws the image from the JSON it received.
            await page.locator("[data-operation]").select_option("GET /api/v1/tryon/{job_id}/base64")
            await page.fill("#pg-p-path-job_id", job_id)
            await page.locator("[data-send]").click()
            await expect(page.locator("[data-response-status]")).to_have_text("200 OK")
            drawn = page.locator("[data-response-images] img")
            # The status read before showed one image too: wait for this answer's (drawn from data).
            await expect(drawn).to_have_attribute("src", re.compile(r"^data:image/"))
            await expect(drawn).to_have_count(1)
            await expect(drawn).to_have_js_property("complete", True)
            assert await drawn.evaluate("img => img.naturalWidth") > 0
            await page.locator("[data-operation]").select_option("POST /api/v1/tryon")
            await expect(page.locator("#pg-f-person_image")).to_be_visible()
            await page.locator("[data-snippet-tabs] [data-lang='python']").click()
            await expect(page.locator("[data-snippet]")).to_contain_text('data={\n        "mode": "top"')
            await shoot(page, "playground-create-1280-light")

            # Webhooks: an endpoint added (its secret shown once), a signed test event, the delivery log.
            await page.goto(f"{base_url}/app/webhooks")
            await page.fill("#f-url", receiver.url("walk"))
            await page.fill("#f-description", "My shop")
            await page.locator("#new-endpoint button[type=submit]").click()
            await expect(page.locator("[data-secret-value]")).to_contain_text("whsec_")
            await shoot(page, "webhook-created-1280-light")
            await page.locator("[data-endpoints] button", has_text="Send test").click()
            await expect(page.locator("[data-deliveries] .badge-success").first).to_have_text("Delivered")
            assert len(receiver.received) == 1
            await page.locator("[data-deliveries] details summary").first.click()
            await shoot(page, "webhook-log-1280-light")

            await tour(desktop, base_url, watch, "1280-light", job_id)
            state = await desktop.storage_state()
            # Phones see every page; dark mode is checked on half the pages at each width.
            for width, scheme, pages in (
                (360, "light", PAGES),
                (360, "dark", ("generate", "history", "playground", "usage")),
                (1280, "dark", ("tryon", "webhooks", "billing", "generate")),
            ):
                context = await browser.new_context(
                    viewport={"width": width, "height": 780 if width == 360 else 900},
                    color_scheme=scheme,  # type: ignore[arg-type]
                    storage_state=state,
                )
                await tour(context, base_url, watch, f"{width}-{scheme}", job_id, pages)
                await context.close()
        finally:
            await browser.close()

    # The snippets run as shown: cURL in a shell, Python with httpx, JavaScript with Node.
    workdir = SHOTS
    curl_out = await asyncio.to_thread(run, ["bash", "-c", snippets["curl"]], workdir)
    assert json.loads(curl_out)["balance"] == 1
    python_out = await asyncio.to_thread(run, [sys.executable, "-c", snippets["python"]], workdir)
    status, _, text = python_out.partition("\n")
    assert status == "200"
    assert json.loads(text)["balance"] == 1
    node = shutil.which("node")
    assert node is not None
    node_out = await asyncio.to_thread(run, [node, "--input-type=module", "-e", snippets["javascript"]], workdir)
    status, _, text = node_out.partition("\n")
    assert status == "200"
    assert json.loads(text)["balance"] == 1
    assert watch.problems == []
