"""The storefront side of the Saleor app: the widget for a product, and trailroom-flask's proxy
mounted by `create_app` forwarding a shopper's try-on to the real TrailRoom app over loopback HTTP,
completed by real workers with the scripted engine."""

from __future__ import annotations

import asyncio
import io
from typing import Any

from flask import render_template_string

from tests.conftest import running_workers
from tests.fakes.engines import ScriptedEngine
from tests.plugin_flask.conftest import PUBLIC_URL, Shop
from tests.plugin_saleor.conftest import SaleorAppFactory, in_thread, register
from tests.plugin_saleor.fake_saleor import FakeSaleor
from trailroom.domain.services import Services
from trailroom.domain.tryon.models import TryOnJob
from trailroom_saleor import GARMENT_IMAGE_KEY, MODE_KEY, ProductTryOn, app_state

HEADERS = {"X-Requested-With": "TrailRoom"}


async def test_templates_render_the_widget_from_product_metadata_or_the_stored_settings(
    make_saleor_app: SaleorAppFactory, fake_saleor: FakeSaleor
) -> None:
    app = make_saleor_app()
    assert (await register(app.test_client(), fake_saleor)).status_code == 200
    app_state(app).products.apply(
        fake_saleor.api_url,
        "UHJvZHVjdDox",
        "2026-11-25T01:00:00+00:00",
        ProductTryOn(fake_saleor.api_url, "UHJvZHVjdDox", "https://cdn.example.com/a.png?x=1&y=2", "bottom", ""),
    )
    metadata = [
        {"key": GARMENT_IMAGE_KEY, "value": "https://cdn.example.com/b.png"},
        {"key": MODE_KEY, "value": "full"},
    ]
    template = (
        "{{ saleor_product_widget('UHJvZHVjdDox', button_label='Try <it>') }}"
        "|{{ saleor_product_widget(metadata=metadata) }}"
        "|{{ saleor_product_widget('UHJvZHVjdDoy') }}"  # no garment: nothing at all
        "|{{ saleor_product_widget(metadata=[{'key': 'trailroom.garment_image', 'value': 'ftp://x'}]) }}"
    )
    with app.test_request_context("/products/1"):
        html = render_template_string(template, metadata=metadata)
    stored, from_metadata, none, invalid = html.split("|")
    assert stored.count("<script") == 1  # the script once per page
    assert 'garment-image="https://cdn.example.com/a.png?x=1&amp;y=2"' in stored
    assert 'mode="bottom"' in stored
    assert 'button-label="Try &lt;it&gt;"' in stored
    assert 'endpoint="/trailroom/tryon"' in stored
    assert "<script" not in from_metadata
    assert 'garment-image="https://cdn.example.com/b.png"' in from_metadata
    assert 'mode="full"' in from_metadata
    assert none == ""
    assert invalid == ""
    assert "tr_sk_" not in html


async def test_the_storefront_proxy_forwards_a_try_on_to_trailroom_which_completes_it(
    make_saleor_app: SaleorAppFactory,
    shop: Shop,
    services: Services,
    use_scripted: ScriptedEngine,
    person_png: bytes,
    garment_png: bytes,
) -> None:
    app = make_saleor_app(api_key=shop.secret_key, TRAILROOM_SESSION_LIMIT=5)
    client = app.test_client()
    data: dict[str, Any] = {
        "person_image": (io.BytesIO(person_png), "me.png"),
        "garment_image": (io.BytesIO(garment_png), "dress.png"),
        "mode": "dress",
    }
    created = await in_thread(client.post, "/trailroom/tryon", data=data, headers=HEADERS)
    assert created.status_code == 201, created.get_data(as_text=True)
    body = created.get_json()
    assert shop.secret_key not in created.get_data(as_text=True)
    [job] = await TryOnJob.find_all().to_list()
    assert str(job.id) == body["id"]
    assert job.mode == "dress"
    assert job.client.get("shopper_id")  # the proxy's per-session X-Shopper-ID reached the platform

    async with running_workers(services):
        for _ in range(200):
            status = await in_thread(client.get, body["links"]["status"], headers=HEADERS)
            if status.get_json()["status"] == "completed":
                break
            await asyncio.sleep(0.05)
    finished = status.get_json()
    assert finished["status"] == "completed"
    assert finished["links"]["results"][0].startswith(PUBLIC_URL + "/")

    # The proxy's CSRF check still guards the storefront route inside the Saleor app.
    forged = await in_thread(
        client.post,
        "/trailroom/tryon",
        data={"person_image": (io.BytesIO(person_png), "me.png"), "garment_image": "https://x.example/y.png"},
    )
    assert forged.status_code == 403
    assert forged.get_json()["code"] == "csrf_failed"
    assert await TryOnJob.count() == 1
