"""Generate and a try-on's page without JavaScript: one multipart form makes a job, its page refreshes
itself until the result is there; bad photos and missing CSRF tokens change nothing."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from tests.conftest import running_workers
from tests.helpers import login
from tests.tryon.conftest import fund, scripted, small_png, use_scripted  # noqa: F401 - fixtures
from tests.web.conftest import FormBrowser
from tests.web.page_forms import post_page_form
from trailroom.domain.accounts.models import User
from trailroom.domain.services import Services
from trailroom.domain.tryon.models import TryOnJob

RESULT_SRC = re.compile(r'<img src="(/api/v1/tryon/[0-9a-f]{24}/result/0\?expires=\d+&amp;signature=[0-9a-f]+)"')


def form_files(person: bytes, garment: bytes) -> dict[str, tuple[str, bytes, str]]:
    return {
        "person_image": ("person.png", person, "image/png"),
        "garment_image": ("shirt.png", garment, "image/png"),
    }


async def test_the_form_shows_costs_and_balance(signed_in: FormBrowser) -> None:
    page = await signed_in.get("/app/generate")
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["content-security-policy"]
    # Per-mode costs from the runtime configuration, the balance for the live cost check.
    assert 'name="mode" value="top" data-cost="1"' in page.text
    assert 'name="mode" value="full" data-cost="2"' in page.text
    assert 'data-balance="3"' in page.text
    # Full outfits need a purchase first: the choice is shown but locked.
    assert re.search(r'value="full" data-cost="2"\s+disabled', page.text)
    assert 'enctype="multipart/form-data"' in page.text
    assert 'name="csrf_token"' in page.text


@pytest.mark.usefixtures("use_scripted")
async def test_a_form_post_creates_a_job_whose_page_refreshes_until_done(
    signed_in: FormBrowser, services: Services
) -> None:
    response = await post_page_form(
        signed_in,
        "/app/generate",
        "/app/generate",
        {"mode": "top", "samples": "1", "quality": "fast", "garment_photo_type": "flat_lay"},
        files=form_files(small_png((90, 90, 90)), small_png((10, 60, 200), (300, 300))),
    )
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    job_id = location.rsplit("/", 1)[1]
    assert location == f"/app/history/{job_id}"
    job = await TryOnJob.get(job_id)
    assert job is not None
    assert job.mode == "top"
    assert job.quality == "fast"
    assert job.credits_charged == 1

    waiting = await signed_in.get(location)
    assert waiting.status_code == 200
    assert '<meta http-equiv="refresh" content="2">' in waiting.text
    assert "Your try-on has started." in waiting.text  # the flash after the redirect

    async with running_workers(services):
        for _ in range(100):
            done = await signed_in.get(location)
            if "http-equiv" not in done.text:
                break
            await asyncio.sleep(0.1)
    assert "http-equiv" not in done.text
    match = RESULT_SRC.search(done.text)
    assert match, done.text
    image = await signed_in.get(match.group(1).replace("&amp;", "&"))
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert f'download="tryon-{job_id}-1.png"' in done.text
    user = await User.find_one(User.email == "shopper@example.com")
    assert user is not None
    assert services.credits.balance_of(user).balance == 2


async def test_bad_photos_and_a_missing_csrf_token_are_refused_and_nothing_is_charged(
    signed_in: FormBrowser, services: Services
) -> None:
    response = await post_page_form(
        signed_in,
        "/app/generate",
        "/app/generate",
        {"mode": "dress", "samples": "2"},
        files={
            "person_image": ("person.png", b"this is not a picture", "image/png"),
            "garment_image": ("dress.png", small_png(), "image/png"),
        },
    )
    assert response.status_code == 422
    assert 'role="alert"' in response.text
    assert "image" in response.text.lower()
    # The form comes back with the options chosen.
    assert re.search(r'value="dress" data-cost="1"\s+checked', response.text)

    missing = await post_page_form(signed_in, "/app/generate", "/app/generate", {"mode": "top", "samples": "1"})
    assert missing.status_code == 422
    assert "Choose your photo" in missing.text
    forged = await signed_in.http.post(
        "/app/generate",
        data={"mode": "top", "samples": "1"},
        files=form_files(small_png(), small_png((0, 0, 200))),
    )
    assert forged.status_code == 403
    assert await TryOnJob.count() == 0
    user = await User.find_one(User.email == "shopper@example.com")
    assert user is not None
    assert services.credits.balance_of(user).balance == 3


async def test_anonymous_visitors_are_sent_to_sign_in(client: httpx.AsyncClient) -> None:
    response = await client.get("/app/generate")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/api/v1/auth/web/renew?next=/app/generate")


async def test_a_paying_account_sends_a_full_outfit_with_its_bottom_photo(
    signed_in: FormBrowser, client: httpx.AsyncClient, services: Services
) -> None:
    await fund(services, await login(client, "shopper@example.com"), 10)
    page = await signed_in.get("/app/generate")
    assert re.search(r'value="full" data-cost="2"\s*>', page.text)  # no longer locked
    assert 'name="bottom_image"' in page.text  # visible without script
    files = {
        **form_files(small_png((90, 90, 90)), small_png((10, 60, 200), (300, 300))),
        "bottom_image": ("trousers.png", small_png((40, 40, 40), (300, 400)), "image/png"),
    }
    response = await post_page_form(
        signed_in, "/app/generate", "/app/generate", {"mode": "full", "samples": "1"}, files=files
    )
    assert response.status_code == 303, response.text
    job = await TryOnJob.get(response.headers["location"].rsplit("/", 1)[1])
    assert job is not None
    assert job.mode == "full"
    assert set(job.inputs) == {"person", "garment", "bottom"}
    assert job.credits_charged == 2


async def test_photos_given_by_url_are_fetched(signed_in: FormBrowser, base_url: str) -> None:
    """The URL fields of the form (the tests allow loopback addresses; production refuses them)."""
    response = await post_page_form(
        signed_in,
        "/app/generate",
        "/app/generate",
        {
            "mode": "top",
            "samples": "1",
            "person_image_url": f"{base_url}/static/app/demo/studio_1.jpg",
            "garment_image_url": f"{base_url}/static/app/demo/top_2.jpg",
        },
    )
    assert response.status_code == 303, response.text
    job = await TryOnJob.get(response.headers["location"].rsplit("/", 1)[1])
    assert job is not None
    assert job.inputs_stored
    missing = await post_page_form(
        signed_in,
        "/app/generate",
        "/app/generate",
        {
            "mode": "top",
            "samples": "1",
            "person_image_url": f"{base_url}/static/app/demo/nothing.jpg",
            "garment_image_url": f"{base_url}/static/app/demo/top_2.jpg",
        },
    )
    assert missing.status_code == 422
    assert await TryOnJob.count() == 1
