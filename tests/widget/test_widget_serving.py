"""The widget script as the platform serves it, its size budget, the dev seed's demo keys and the
demo store's pages (without a browser; tests/widget/test_widget_browser.py drives them in Chromium)."""

from __future__ import annotations

import json
import re
import stat
import subprocess
import sys

import httpx

from tests.conftest import REPO
from trailroom.core.config import Settings
from trailroom.domain.accounts.models import ApiKey, ApiKeyKind
from trailroom.domain.services import Services
from trailroom.seed import DEMO_PUBLISHABLE_KEY_NAME, demo_key_file, ensure_demo
from trailroom.server.app import create_app
from trailroom.web.demo_store import PRODUCTS


async def test_the_widget_script_is_public_cacheable_javascript_for_any_origin(client: httpx.AsyncClient) -> None:
    response = await client.get("/widget/v1/trailroom.js", headers={"Origin": "https://shop.example"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-cache"  # tests run as env=test: always revalidate
    etag = response.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    assert "trailroom-try-on" in response.text
    assert re.search(r"tr_(sk|pk)_[A-Za-z0-9_-]{16,}", response.text) is None  # no key is ever built in

    again = await client.get("/widget/v1/trailroom.js", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag

    other = await client.get("/widget/v1/trailroom.js", headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200
    assert other.content == response.content


async def test_the_size_script_reports_the_build_within_the_budget() -> None:
    result = subprocess.run(
        [sys.executable, "scripts/widget_size.py", "--no-build", "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    sizes = json.loads(result.stdout)
    assert sizes["within_budget"] is True
    assert 0 < sizes["gzip_bytes"] < 15 * 1024 == sizes["budget_bytes"]
    assert sizes["gzip_bytes"] < sizes["minified_bytes"] < sizes["raw_bytes"]


async def test_the_seed_keeps_one_publishable_key_bound_to_the_platform_origin(
    services: Services, settings: Settings
) -> None:
    first = await ensure_demo(services, settings)
    assert first.publishable_key.startswith("tr_pk_")
    assert first.secret_key.startswith("tr_sk_")
    path = demo_key_file(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["publishable_key"] == first.publishable_key

    again = await ensure_demo(services, settings)
    assert (again.publishable_key, again.secret_key) == (first.publishable_key, first.secret_key)
    keys = await ApiKey.find(ApiKey.kind == ApiKeyKind.PUBLISHABLE).to_list()
    assert [(k.name, k.allowed_origins) for k in keys] == [(DEMO_PUBLISHABLE_KEY_NAME, [settings.base_url])]

    # Another base URL (a new port): the old key is replaced, not kept beside the new one.
    moved = settings.model_copy(update={"public_url": "http://localhost:9999"})
    replaced = await ensure_demo(services, moved)
    assert replaced.publishable_key != first.publishable_key
    assert replaced.secret_key == first.secret_key
    keys = await ApiKey.find(ApiKey.kind == ApiKeyKind.PUBLISHABLE).to_list()
    assert [k.allowed_origins for k in keys] == [["http://localhost:9999"]]
    await ensure_demo(services, settings)  # leave the file as the other tests expect it


async def test_the_demo_store_lists_the_products_under_a_strict_policy(client: httpx.AsyncClient) -> None:
    response = await client.get("/demo/store")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "style-src 'self';" in policy
    assert "unsafe" not in policy
    for product in PRODUCTS:
        assert f'href="/demo/store/{product.slug}"' in response.text
        image = await client.get(f"/static/demo/{product.image}")
        assert image.status_code == 200
        assert image.headers["content-type"] == "image/jpeg"
    assert "<script" not in response.text
    assert " style=" not in response.text
    css = await client.get("/static/demo/store.css")
    assert css.status_code == 200


async def test_a_product_page_embeds_the_widget_with_the_publishable_key_only(
    client: httpx.AsyncClient, services: Services, settings: Settings
) -> None:
    demo = await ensure_demo(services, settings)
    response = await client.get(f"/demo/store/{PRODUCTS[0].slug}")
    assert response.status_code == 200
    assert '<script src="/widget/v1/trailroom.js" defer></script>' in response.text
    assert f'publishable-key="{demo.publishable_key}"' in response.text
    assert f'garment-image="/static/demo/{PRODUCTS[0].image}"' in response.text
    assert demo.secret_key not in response.text
    assert "tr_sk_" not in response.text
    assert "The demo key allows only" not in response.text  # opened at the platform's own origin

    elsewhere = await client.get(f"/demo/store/{PRODUCTS[0].slug}", headers={"Host": "localhost:1"})
    assert "The demo key allows only" in elsewhere.text

    missing = await client.get("/demo/store/no-such-thing")
    assert missing.status_code == 404
    assert missing.json()["code"] == "product_not_found"


async def test_a_product_page_without_a_seeded_key_says_how_to_get_one(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    demo_key_file(settings).unlink(missing_ok=True)
    response = await client.get(f"/demo/store/{PRODUCTS[1].slug}")
    assert response.status_code == 200
    assert "<trailroom-try-on" not in response.text
    assert "make dev" in response.text


async def test_the_demo_store_is_off_in_production_unless_asked_for(settings: Settings) -> None:
    def paths(**changes: object) -> set[str]:
        app = create_app(settings.model_copy(update=changes), configure_logs=False)
        return {route.path for route in app.routes}

    assert "/demo/store" in paths()
    assert "/widget/v1/trailroom.js" in paths(env="production", secret_key="x" * 40)
    assert not any(p.startswith("/demo/store") for p in paths(env="production", secret_key="x" * 40))
    assert "/demo/store" in paths(env="production", secret_key="x" * 40, demo_store=True)
    assert not any(p.startswith("/demo/store") for p in paths(demo_store=False))
