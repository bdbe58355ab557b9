"""API playground: the endpoints an API key may call, read from the app's OpenAPI document (the one
served at /schema/openapi.json), with their parameters and a request body to start from.

The page sends the calls from the browser with the user's key (script); the snippets it shows are
built by the same script from what is filled in. Two try-on operations read their body by hand
(multipart or JSON), so the document has no body for them; their forms are described here.
"""

from __future__ import annotations

import json
from typing import Any

from litestar import get
from litestar.di import NamedDependency
from litestar.response import Template

from trailroom.core.vocabulary import (
    DEFAULT_GARMENT_PHOTO_TYPE,
    DEFAULT_MODE,
    DEFAULT_OUTPUT_FORMAT,
    DEFAULT_QUALITY,
    MAX_SAMPLES,
    TWO_GARMENT_MODES,
    GarmentPhotoType,
    OutputFormat,
    Quality,
    TryOnMode,
    listed,
    values,
)
from trailroom.domain.accounts.models import ApiKeyKind
from trailroom.web.base import DashboardController
from trailroom.web.context import PageContext
from trailroom.web.signed_in import signed_in

# What a secret key may call: session-only areas (keys, webhooks, profile) and admin are left out.
TAGS = ("Credits", "Try-on", "Analytics", "Pricing", "System")
SKIPPED = {
    ("GET", "/api/v1/tryon/{job_id}/events"),  # a stream: see the docs for EventSource
    ("GET", "/api/v1/tryon/{job_id}/result/{index}"),  # signed URLs, not called with a key
}
DEFAULT_OPERATION = "GET /api/v1/credits"
PLAYGROUND_KEY_NAME = "Playground"
TRYON_FORM = [
    {"name": "person_image", "kind": "file", "required": True, "help": "A photo of the person (PNG, JPEG, WebP)"},
    {
        "name": "garment_image",
        "kind": "file",
        "required": True,
        "help": f"The garment (for {listed(sorted(TWO_GARMENT_MODES))}: the top)",
    },
    {
        "name": "bottom_image",
        "kind": "file",
        "required": False,
        "help": f"Only for mode {listed(sorted(TWO_GARMENT_MODES))}: the trousers or skirt",
    },
    {"name": "mode", "kind": "select", "options": list(values(TryOnMode)), "default": DEFAULT_MODE.value},
    {"name": "samples", "kind": "text", "default": "1", "help": f"1-{MAX_SAMPLES} images, each charged"},
    {"name": "quality", "kind": "select", "options": list(values(Quality)), "default": DEFAULT_QUALITY.value},
    {
        "name": "output_format",
        "kind": "select",
        "options": list(values(OutputFormat)),
        "default": DEFAULT_OUTPUT_FORMAT.value,
    },
    {
        "name": "garment_photo_type",
        "kind": "select",
        "options": list(values(GarmentPhotoType)),
        "default": DEFAULT_GARMENT_PHOTO_TYPE.value,
    },
]


def _resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = document
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return _resolve(target, document) if isinstance(target, dict) else {}
    return schema


def example_of(schema: dict[str, Any], document: dict[str, Any], depth: int = 0) -> Any:
    """A plausible value for a JSON schema: its example, default or enum first, else by type."""
    schema = _resolve(schema, document)
    if depth > 6:
        return None
    for key in ("examples", "example"):
        if key in schema:
            value = schema[key]
            return value[0] if key == "examples" and isinstance(value, list) and value else value
    if "default" in schema:
        return schema["default"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("oneOf", "anyOf"):
        options = [o for o in schema.get(key, []) if _resolve(o, document).get("type") != "null"]
        if options:
            return example_of(options[0], document, depth + 1)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        required = set(schema.get("required", []))
        properties = schema.get("properties", {})
        return {
            name: example_of(prop, document, depth + 1)
            for name, prop in properties.items()
            if name in required or "examples" in prop
        }
    if kind == "array":
        return [example_of(schema.get("items", {}), document, depth + 1)]
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return float(schema.get("minimum", 1))
    if kind == "boolean":
        return False
    if kind == "string":
        return "2026-01-01T00:00:00Z" if schema.get("format") == "date-time" else "string"
    return None


def _type_of(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    schema = _resolve(schema, document)
    for key in ("oneOf", "anyOf"):
        options = [o for o in schema.get(key, []) if _resolve(o, document).get("type") != "null"]
        if options:
            return {**_type_of(options[0], document), **{k: v for k, v in schema.items() if k not in (key,)}}
    return schema


def _parameter(parameter: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    schema = _type_of(parameter.get("schema", {}), document)
    return {
        "name": parameter["name"],
        "in": parameter["in"],
        "required": bool(parameter.get("required")),
        "type": schema.get("type", "string"),
        "format": schema.get("format"),
        "enum": schema.get("enum"),
        "default": schema.get("default"),
        "description": parameter.get("description", ""),
    }


def catalog(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The playground's operations, grouped by tag in `TAGS` order, each with params and body."""
    operations = []
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            tags = operation.get("tags") or []
            if not tags or tags[0] not in TAGS or (method.upper(), path) in SKIPPED:
                continue
            body = None
            content = (operation.get("requestBody") or {}).get("content", {})
            if "application/json" in content:
                body = {"kind": "json", "example": example_of(content["application/json"].get("schema", {}), document)}
            if (method.upper(), path) == ("POST", "/api/v1/tryon"):
                body = {"kind": "multipart", "fields": TRYON_FORM}
            elif (method.upper(), path) == ("POST", "/api/v1/tryon/batch"):
                body = {
                    "kind": "json",
                    "example": {
                        "mode": DEFAULT_MODE.value,
                        "person_image": "https://example.com/person.jpg",
                        "items": [{"garment_image": "https://example.com/shirt.jpg"}],
                    },
                }
            operations.append(
                {
                    "id": f"{method.upper()} {path}",
                    "method": method.upper(),
                    "path": path,
                    "tag": tags[0],
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "params": [_parameter(p, document) for p in operation.get("parameters", [])],
                    "body": body,
                }
            )
    operations.sort(key=lambda op: (TAGS.index(op["tag"]), op["path"], op["method"]))
    return operations


class PlaygroundPages(DashboardController):
    path = "/app/playground"

    @get("/", name="app:playground")
    async def playground(self, ctx: NamedDependency[PageContext]) -> Template:
        document = ctx.request.app.openapi_schema.to_schema()
        operations = catalog(document)
        keys = await ctx.services.api_keys.list_for(signed_in(ctx))
        secret_keys = [k for k in keys if k.kind == ApiKeyKind.SECRET]
        groups: dict[str, list[dict[str, Any]]] = {}
        for operation in operations:
            groups.setdefault(operation["tag"], []).append(operation)
        return ctx.render(
            "pages/app/playground.html",
            groups=groups,
            default_operation=DEFAULT_OPERATION,
            catalog_json=json.dumps(operations, default=str),
            keys=secret_keys,
            playground_key_name=PLAYGROUND_KEY_NAME,
        )
