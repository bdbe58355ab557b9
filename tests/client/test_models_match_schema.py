"""The Python client's models checked against the API's OpenAPI document, so they cannot drift: each
model's fields are the schema's properties (by name, type and nullability), apart from the few listed
here with the reason the client leaves them out or adds them."""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import datetime
from typing import Any

import httpx
import pytest

import trailroom_client
from trailroom_client import _models

# Each client model and the schema component it reads.
MODELS: dict[type[Any], str] = {
    _models.TryOnJob: "TryOnJobResponse",
    _models.JobLinks: "JobLinks",
    _models.JobError: "JobErrorOut",
    _models.Batch: "BatchResponse",
    _models.TryOnPage: "HistoryResponse",
    _models.ResultImage: "Base64Image",
    _models.Credits: "CreditsResponse",
    _models.CreditTransaction: "TransactionResponse",
    _models.CreditTransactionPage: "TransactionList",
    _models.Webhook: "WebhookResponse",
    _models.WebhookDelivery: "DeliveryResponse",
    _models.WebhookDeliveryPage: "DeliveryList",
    _models.DeliveryAttempt: "AttemptResponse",
}
# Fields only the client has: what it learns from the answer's headers, or decodes.
CLIENT_ONLY = {
    (_models.TryOnJob, "replayed"): "from the Idempotent-Replayed header",
    (_models.Webhook, "secret"): "None but in answers to creation and rotation (NewWebhookResponse, checked below)",
}
# Schema properties the client does not model, and why.
NOT_IN_CLIENT = {
    ("TryOnJobResponse", "client_secret"): "only for publishable keys (the widget), never a server's secret key",
}
JSON_TYPES = {str: "string", int: "integer", bool: "boolean", float: "number", datetime: "string", bytes: "string"}


@pytest.fixture(scope="module")
async def schema(base_url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url) as http:
        document: dict[str, Any] = (await http.get("/schema/openapi.json")).json()
    return document["components"]["schemas"]


def _types(annotation: Any) -> tuple[set[Any], bool]:
    """The non-None types of an annotation, and whether None is allowed."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = set(typing.get_args(annotation))
        return members - {type(None)}, type(None) in members
    return {annotation}, False


def _schema_types(prop: dict[str, Any]) -> tuple[set[str], bool]:
    options = prop.get("oneOf") or prop.get("anyOf") or [prop]
    names: set[str] = set()
    nullable = False
    for option in options:
        kind = option.get("type")
        if kind == "null":
            nullable = True
        elif "$ref" in option:
            names.add(option["$ref"].rsplit("/", 1)[-1])
        elif kind:
            names.add(kind)
    return names, nullable


def _expected(python_type: Any) -> str:
    origin = typing.get_origin(python_type)
    if origin in (tuple, list):
        return "array"
    if origin is dict:
        return "object"
    if python_type in MODELS:
        return MODELS[python_type]
    return JSON_TYPES[python_type]


@pytest.mark.parametrize("model", list(MODELS), ids=lambda m: m.__name__)
def test_a_client_model_has_exactly_the_fields_of_its_schema(model: type[Any], schema: dict[str, Any]) -> None:
    component = schema[MODELS[model]]
    properties: dict[str, Any] = component["properties"]
    hints = typing.get_type_hints(model, vars(_models))
    fields = {f.name for f in dataclasses.fields(model)} - {name for m, name in CLIENT_ONLY if m is model}
    documented = set(properties) - {name for c, name in NOT_IN_CLIENT if c == MODELS[model]}
    assert fields == documented, (
        f"{model.__name__}: only in the client {fields - documented}, only in the schema {documented - fields}"
    )
    for name in fields:
        python_types, python_nullable = _types(hints[name])
        schema_types, schema_nullable = _schema_types(properties[name])
        assert {_expected(t) for t in python_types} == schema_types, (model.__name__, name, python_types, schema_types)
        assert python_nullable == schema_nullable, (model.__name__, name, "nullable")


def test_every_public_model_of_the_client_is_checked() -> None:
    public = {
        value
        for value in vars(trailroom_client).values()
        if isinstance(value, type) and dataclasses.is_dataclass(value) and value.__module__ == _models.__name__
    }
    assert public <= set(MODELS), public - set(MODELS)


def test_a_new_webhook_is_a_webhook_with_its_secret(schema: dict[str, Any]) -> None:
    new, listed = schema["NewWebhookResponse"]["properties"], schema["WebhookResponse"]["properties"]
    assert set(new) == {*listed, "secret"}
    assert _schema_types(new["secret"]) == ({"string"}, False)
    assert _types(typing.get_type_hints(_models.Webhook)["secret"]) == ({str}, True)
