"""The OpenAPI document made to say what the API does: who may call each operation, every problem it
can answer (the RFC 9457 body really sent, with the codes it carries), and the request bodies of the
routes that read their body themselves (`POST /api/v1/tryon`: multipart or JSON).

Litestar writes the document from the handlers' signatures; this completes it once, when the app
starts, from what the routes declare: their guards (security), their parameters and bodies (400,
413, 415), their path parameters (404), and the domain problems a route lists in `opt[PROBLEMS]`.
The conformance run in `tests/test_schema_fuzz.py` holds the document to the answers.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.spec import Components, OpenAPIResponse, Operation, PathItem, SecurityScheme
from litestar.openapi.spec import RequestBody as OpenAPIRequestBody
from litestar.routes import HTTPRoute

from trailroom.domain.accounts.guards import callers_of, refusals_of
from trailroom.domain.accounts.principal import Via
from trailroom.server.problems import PROBLEM_MEDIA_TYPE
from trailroom.server.request_body import JSON, MULTIPART, accepted_media_types

# Route option: the domain problems a route answers beyond the ones its shape implies, as
# `{status: (code, ...)}`; the document lists exactly these codes (an enum the conformance run checks).
PROBLEMS = "problems"
REF_TEMPLATE = "#/components/schemas/{name}"
# Route option for a handler that reads its body itself: what the body is (see `ReadBody`).
READ_BODY = "read_body"

SECURITY_SCHEMES = {
    Via.SECRET_KEY: SecurityScheme(
        type="http", scheme="bearer", description="A secret API key, `tr_sk_…`: for servers, never in a browser."
    ),
    Via.PUBLISHABLE_KEY: SecurityScheme(
        type="http",
        scheme="bearer",
        description=(
            "A publishable key, `tr_pk_…`: for the widget in shoppers' browsers, from the key's allowed origins "
            "only; it creates try-ons and reads its own shopper's."
        ),
    ),
    Via.SESSION: SecurityScheme(
        type="http",
        scheme="bearer",
        bearer_format="JWT",
        description="A signed-in user's access token (from `POST /api/v1/auth/login`).",
    ),
}
SCHEME_NAMES = {Via.SECRET_KEY: "SecretKey", Via.PUBLISHABLE_KEY: "PublishableKey", Via.SESSION: "UserSession"}

PROBLEM = "Problem"
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An RFC 9457 problem document; branch on `code`. Some problems add fields (e.g. `required`).",
    "required": ["type", "title", "status", "detail", "code", "request_id"],
    "properties": {
        "type": {"type": "string", "description": "A link to the error's entry in the errors guide."},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string", "description": "What went wrong, for people."},
        "instance": {"type": "string", "description": "The request's path."},
        "code": {"type": "string", "description": "A stable, machine-readable name of the error."},
        "request_id": {"type": "string", "description": "Also in the `X-Request-ID` header; quote it to support."},
        "errors": {
            "type": "array",
            "description": "For `validation_failed`: each failing field.",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": ["string", "null"]},
                    "source": {"type": ["string", "null"]},
                    "message": {"type": ["string", "null"]},
                },
            },
        },
    },
    "additionalProperties": True,
}

TITLES = {
    400: "The request is malformed",
    401: "No valid credentials",
    402: "Not enough credits",
    403: "Not allowed for this caller",
    404: "Not found",
    409: "In conflict with the current state",
    413: "The body is too large",
    415: "A body of a media type this operation does not take",
    422: "The request is well-formed but not acceptable",
    429: "Too many requests; retry after `Retry-After` seconds",
    503: "A backing service is briefly unavailable; retry after `Retry-After` seconds",
}
# Problems every operation can answer by its shape (who may call it, what it takes).
SERVICE_UNAVAILABLE = ("service_unavailable",)
# Credentials sent and wrong are refused on every API route (the authentication middleware), as is a
# suspended account's, and a publishable key from an origin it does not allow.
BAD_CREDENTIALS = ("invalid_authorization", "invalid_api_key", "invalid_token", "token_expired", "session_ended")
REFUSED_CREDENTIALS = ("origin_not_allowed", "account_suspended")
NO_CREDENTIALS = ("unauthenticated",)
BAD_REQUEST = ("validation_failed", "bad_request")
NO_ROUTE = ("not_found",)  # a path parameter of the wrong shape matches no route
BAD_BODY = ("invalid_json",)


@dataclass(frozen=True)
class ReadBody:
    """The body of a handler that parses it itself: a msgspec Struct, sent as JSON, or for multipart
    the same field names with `file_fields` as uploaded files."""

    struct: type[msgspec.Struct]
    file_fields: tuple[str, ...] = ()
    description: str | None = None


def document_contract(app: Litestar) -> None:
    """Complete the app's OpenAPI document (built now, cached by Litestar for `/schema`)."""
    openapi = app.openapi_schema
    components = openapi.components if isinstance(openapi.components, Components) else Components()
    openapi.components = components
    components.security_schemes = {SCHEME_NAMES[via]: scheme for via, scheme in SECURITY_SCHEMES.items()}
    schemas: dict[str, Any] = dict(components.schemas or {})
    schemas[PROBLEM] = PROBLEM_SCHEMA
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        path_item = (openapi.paths or {}).get(route.path_format)
        if not isinstance(path_item, PathItem):
            continue
        for handler in route.route_handlers:
            for method in handler.http_methods:
                operation = getattr(path_item, method.lower(), None)
                if isinstance(operation, Operation) and handler.include_in_schema:
                    _complete(operation, handler, route, schemas)
    components.schemas = schemas


def _complete(operation: Operation, handler: HTTPRouteHandler, route: HTTPRoute, schemas: dict[str, Any]) -> None:
    callers = callers_of(handler)
    if callers is not None:
        operation.security = [{SCHEME_NAMES[via]: []} for via in SCHEME_NAMES if via in callers]
    _body_schemas(handler, schemas)
    read_body: ReadBody | None = handler.opt.get(READ_BODY)
    if read_body is not None:
        operation.request_body = _request_body(read_body, accepted_media_types(handler), schemas)
    by_status: dict[int, list[str]] = {}

    def add(status: int, codes: Iterable[str]) -> None:
        listed = by_status.setdefault(status, [])
        listed.extend(code for code in codes if code not in listed)

    add(503, SERVICE_UNAVAILABLE)
    if route.path.startswith("/api/"):
        add(401, BAD_CREDENTIALS)
        add(403, REFUSED_CREDENTIALS)
    if callers is not None:
        add(401, NO_CREDENTIALS)
        add(403, refusals_of(handler))
        if callers & {Via.SECRET_KEY, Via.PUBLISHABLE_KEY}:
            add(429, ("rate_limited",))
    media_types = accepted_media_types(handler)
    if operation.parameters or media_types:
        add(400, BAD_REQUEST)
    if media_types:
        add(400, BAD_BODY)
        add(413, ("payload_too_large",))
        add(415, ("unsupported_media_type",))
    if route.path_parameters:
        add(404, NO_ROUTE)
    declared: Mapping[int, tuple[str, ...]] = handler.opt.get(PROBLEMS, {})
    for status, codes in declared.items():
        add(status, codes)
    responses = {status: response for status, response in (operation.responses or {}).items() if status < "400"}
    no_content = responses.get("204")
    if isinstance(no_content, OpenAPIResponse):
        no_content.content = None  # Litestar documents `Response[None]` as a JSON body
    for status in sorted(by_status):
        responses[str(status)] = _problem_response(status, by_status[status])
    operation.responses = responses


def _body_schemas(handler: HTTPRouteHandler, schemas: dict[str, Any]) -> None:
    """A JSON body's schema as msgspec writes it, since msgspec is what decodes it: Litestar's own
    rendering drops constraints on list items, `extra_json_schema` and `additionalProperties: false`."""
    data = handler.parsed_fn_signature.parameters.get("data")
    if data is None:
        return
    structs = list(_structs_in(data.annotation))
    if structs:
        _, components = msgspec.json.schema_components(structs, ref_template=REF_TEMPLATE)
        schemas.update(components)


def _structs_in(annotation: Any) -> Iterator[type[msgspec.Struct]]:
    """The msgspec Structs a body type is or holds at its top (in unions and lists)."""
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        yield annotation
        return
    for argument in typing.get_args(annotation):
        yield from _structs_in(argument)


def _problem_response(status: int, codes: list[str]) -> OpenAPIResponse:
    listed = ", ".join(f"`{code}`" for code in codes)
    return OpenAPIResponse(
        description=f"{TITLES.get(status, 'Error')}. Codes: {listed}.",
        content={
            PROBLEM_MEDIA_TYPE: {  # type: ignore[dict-item]
                "schema": {
                    "allOf": [{"$ref": f"#/components/schemas/{PROBLEM}"}],
                    "properties": {"code": {"enum": codes}, "status": {"const": status}},
                }
            }
        },
    )


def _request_body(read_body: ReadBody, media_types: tuple[str, ...], schemas: dict[str, Any]) -> OpenAPIRequestBody:
    (struct_schema,), components = msgspec.json.schema_components([read_body.struct], ref_template=REF_TEMPLATE)
    schemas.update(components)
    content: dict[str, Any] = {}
    if JSON in media_types:
        content[JSON] = {"schema": struct_schema}
    if MULTIPART in media_types:
        content[MULTIPART] = {"schema": _multipart_schema(components[read_body.struct.__name__], read_body.file_fields)}
    return OpenAPIRequestBody(content=content, required=True, description=read_body.description)


def _multipart_schema(struct_schema: dict[str, Any], file_fields: tuple[str, ...]) -> dict[str, Any]:
    """The JSON body's fields as form fields: the images as uploaded files, the rest as in JSON."""
    properties = dict(struct_schema.get("properties", {}))
    for name in file_fields:
        if name in properties:
            properties[name] = {"type": "string", "format": "binary", "description": "An image file (JPEG, PNG, WebP)"}
    return {**struct_schema, "properties": properties, "title": f"{struct_schema.get('title', 'Form')} (multipart)"}
