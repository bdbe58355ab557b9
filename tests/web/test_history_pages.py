"""History without JavaScript: filters, cursor pages forward and back, a try-on's page, delete with
CSRF, generate again with the same options; other accounts' try-ons stay invisible."""

from __future__ import annotations

import asyncio
import base64
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.conftest import running_workers
from tests.helpers import login, signed_up
from tests.tryon.conftest import fund, scripted, small_png, use_scripted  # noqa: F401 - fixtures
from tests.web.conftest import FormBrowser
from tests.web.page_forms import post_page_form
from trailroom.domain.services import Services
from trailroom.domain.tryon.models import TryOnJob

CARD = re.compile(r'<li class="history-card" data-job="([0-9a-f]{24})"[^>]*>')


async def make_jobs(client: httpx.AsyncClient, token: str, modes: list[str]) -> list[str]:
    ids = []
    for mode in modes:
        body = {
            "mode": mode,
            "person_image": base64.b64encode(small_png()).decode(),
            "garment_image": base64.b64encode(small_png((0, 0, 200))).decode(),
        }
        response = await client.post("/api/v1/tryon", json=body, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    return ids


@pytest.mark.usefixtures("use_scripted")
async def test_filters_pages_and_a_completed_try_on(
    signed_in: FormBrowser, client: httpx.AsyncClient, services: Services
) -> None:
    account = await login(client, "shopper@example.com")
    await fund(services, account, 30)
    await services.runtime_config.update({"max_jobs_in_flight": 20}, by="test")  # 14 at once, whatever the pace
    async with running_workers(services):
        ids = await make_jobs(client, account.access_token, ["top"] * 8 + ["dress"] * 6)
        for _ in range(200):
            if await TryOnJob.find({"status": "completed"}).count() == len(ids):
                break
            await asyncio.sleep(0.05)

    first = await signed_in.get("/app/history")
    assert first.status_code == 200
    first_ids = CARD.findall(first.text)
    assert first_ids == list(reversed(ids))[:12]  # newest first, 12 a page
    older = re.search(r'href="(\?[^"]+)" rel="next"', first.text)
    assert older is not None
    second = await signed_in.get("/app/history" + older.group(1).replace("&amp;", "&"))
    assert CARD.findall(second.text) == list(reversed(ids))[12:]
    assert 'rel="next"' not in second.text
    newer = re.search(r'href="(\?[^"]+)" rel="prev"', second.text)
    assert newer is not None
    back = await signed_in.get("/app/history" + newer.group(1).replace("&amp;", "&"))
    assert CARD.findall(back.text) == first_ids

    dresses = await signed_in.get("/app/history?mode=dress&status=completed")
    assert len(CARD.findall(dresses.text)) == 6
    assert '<option value="dress" selected>' in dresses.text
    today = datetime.now(UTC).date()
    none_yet = await signed_in.get(f"/app/history?since={today + timedelta(days=1)}")
    assert CARD.findall(none_yet.text) == []
    assert "No try-ons match" in none_yet.text
    todays = await signed_in.get(f"/app/history?since={today}&until={today}&mode=top")
    assert len(CARD.findall(todays.text)) == 8
    bad = await signed_in.get(f"/app/history?since={today}&until={today - timedelta(days=2)}")
    assert "must not be after" in bad.text
    assert CARD.findall(bad.text) == []

    # One try-on's page: results, download name, and "generate again" with the same options.
    page = await signed_in.get(f"/app/history/{ids[-1]}")
    assert page.status_code == 200
    assert "http-equiv" not in page.text
    assert re.search(r'<img src="/api/v1/tryon/[0-9a-f]{24}/result/0\?expires=', page.text)
    assert f'download="tryon-{ids[-1]}-1.png"' in page.text
    again = re.search(r'href="(/app/generate\?[^"]+)"', page.text)
    assert again is not None
    form = await signed_in.get(again.group(1).replace("&amp;", "&"))
    assert "Photos are deleted once a try-on finishes" in form.text
    assert re.search(r'value="dress" data-cost="1"\s+checked', form.text)


async def test_delete_needs_the_form_token_and_removes_the_try_on(
    signed_in: FormBrowser, client: httpx.AsyncClient, services: Services
) -> None:
    account = await login(client, "shopper@example.com")
    [job_id] = await make_jobs(client, account.access_token, ["top"])  # stays queued: no workers
    forged = await signed_in.http.post(f"/app/history/{job_id}/delete", data={})
    assert forged.status_code == 403
    assert await TryOnJob.get(job_id) is not None
    # Without JavaScript the first post only asks; nothing is deleted until the visitor confirms.
    asked = await post_page_form(signed_in, f"/app/history/{job_id}", f"/app/history/{job_id}/delete", {})
    assert asked.status_code == 200
    assert "Delete the try-on?" in asked.text
    assert 'name="confirm" value="yes"' in asked.text
    assert f'action="/app/history/{job_id}/delete"' in asked.text
    assert await TryOnJob.get(job_id) is not None
    deleted = await post_page_form(
        signed_in, f"/app/history/{job_id}", f"/app/history/{job_id}/delete", {"confirm": "yes"}
    )
    assert deleted.status_code == 303
    assert deleted.headers["location"] == "/app/history"
    assert await TryOnJob.get(job_id) is None
    listing = await signed_in.get("/app/history")
    assert "were deleted" in listing.text
    assert "No try-ons yet" in listing.text
    # The queued job was canceled first, so its credit came back.
    credits = await client.get("/api/v1/credits", headers=account.auth)
    assert credits.json()["balance"] == 3


async def test_other_accounts_try_ons_are_not_found(signed_in: FormBrowser, client: httpx.AsyncClient) -> None:
    other = await signed_up(client, "other@example.com")
    [job_id] = await make_jobs(client, other.access_token, ["top"])
    page = await signed_in.get(f"/app/history/{job_id}")
    assert page.status_code == 404
    assert "No such try-on" in page.text
    assert CARD.findall((await signed_in.get("/app/history")).text) == []
    refused = await signed_in.post_form(f"/app/history/{job_id}/delete", {"confirm": "yes"}, from_page="/app/history")
    assert refused.status_code == 404
    assert await TryOnJob.get(job_id) is not None
