"""API playground page: the endpoints come from the app's OpenAPI document (those a secret key may
call), with their parameters and bodies; the page itself states that it needs JavaScript.
(The call from the browser and the snippets that run as shown are in test_walk.py.)"""

from __future__ import annotations

import html
import json
import re

import httpx

from tests.helpers import login, new_key
from tests.web.conftest import FormBrowser
from trailroom.web.playground import catalog, example_of


async def test_the_catalog_lists_what_a_key_may_call(signed_in: FormBrowser, client: httpx.AsyncClient) -> None:
    account = await login(client, "shopper@example.com")
    key = await new_key(client, account)
    page = await signed_in.get("/app/playground")
    assert page.status_code == 200
    match = re.search(r'data-catalog="([^"]*)"', page.text)
    assert match is not None
    operations = {op["id"]: op for op in json.loads(html.unescape(match.group(1)))}
    schema = (await client.get("/schema/openapi.json")).json()
    documented = {f"{m.upper()} {p}" for p, item in schema["paths"].items() for m in item}
    assert set(operations) <= documented
    assert "GET /api/v1/credits" in operations
    assert "GET /api/v1/tryon/history" in operations
    assert not [op for op in operations if "/webhooks" in op or "/admin/" in op or "/api-keys" in op]
    assert "GET /api/v1/tryon/{job_id}/events" not in operations
    history = operations["GET /api/v1/tryon/history"]
    assert {p["name"]: p["in"] for p in history["params"]}["cursor"] == "query"
    assert operations["GET /api/v1/tryon/{job_id}"]["params"][0] == {
        "name": "job_id",
        "in": "path",
        "required": True,
        "type": "string",
        "format": None,
        "enum": None,
        "default": None,
        "description": "",
    }
    create = operations["POST /api/v1/tryon"]["body"]
    assert create["kind"] == "multipart"
    assert [f["name"] for f in create["fields"] if f["kind"] == "file"] == [
        "person_image",
        "garment_image",
        "bottom_image",
    ]
    assert operations["POST /api/v1/tryon/batch"]["body"]["kind"] == "json"
    assert '<option value="GET /api/v1/credits" selected>' in page.text
    # Keys are shown only at creation: the page names them by prefix, never in full.
    assert html.escape(key["prefix"]) in page.text
    assert key["key"] not in page.text
    assert "needs JavaScript" in page.text


def test_examples_follow_the_schema() -> None:
    document = {
        "components": {
            "schemas": {
                "Hook": {
                    "type": "object",
                    "required": ["url", "events"],
                    "properties": {
                        "url": {"type": "string", "examples": ["https://shop.example/hooks"]},
                        "events": {"type": "array", "items": {"type": "string", "enum": ["tryon.completed"]}},
                        "description": {"type": "string"},
                        "retries": {"oneOf": [{"type": "null"}, {"type": "integer", "minimum": 3}]},
                    },
                }
            }
        }
    }
    assert example_of({"$ref": "#/components/schemas/Hook"}, document) == {
        "url": "https://shop.example/hooks",
        "events": ["tryon.completed"],
    }
    assert example_of(document["components"]["schemas"]["Hook"]["properties"]["retries"], document) == 3
    assert catalog({"paths": {}}) == []
