"""MongoDB connection (pymongo's async client) and Beanie initialisation."""

from __future__ import annotations

from collections.abc import Sequence

from beanie import Document, init_beanie
from pymongo import AsyncMongoClient
from pymongo.errors import ConnectionFailure, PyMongoError

from trailroom.core.errors import ServiceUnavailable

# The database is away (no server selected, connection lost): worth retrying later, not a bug.
# ServerSelectionTimeoutError, AutoReconnect and NetworkTimeout are all ConnectionFailures.
MONGO_UNAVAILABLE: tuple[type[Exception], ...] = (ConnectionFailure,)

FIX_MONGO = "start MongoDB or fix TRAILROOM_MONGODB_URI (unset it under `trailroom dev` to use the embedded server)"


def mongo_client(uri: str, *, timeout_ms: int = 5000) -> AsyncMongoClient:  # type: ignore[type-arg]
    return AsyncMongoClient(uri, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms, tz_aware=True)


async def ping_mongo(client: AsyncMongoClient) -> None:  # type: ignore[type-arg]
    try:
        await client.admin.command("ping")
    except PyMongoError as exc:
        raise ServiceUnavailable(f"MongoDB does not answer: {_first_line(exc)}; {FIX_MONGO}") from exc


async def init_documents(
    client: AsyncMongoClient,  # type: ignore[type-arg]
    database: str,
    models: Sequence[type[Document]],
) -> None:
    """Bind the Beanie documents to `database` and create the indexes every query relies on."""
    await ping_mongo(client)
    await init_beanie(database=client[database], document_models=list(models))


def redact_uri(uri: str) -> str:
    """The URI without credentials, for messages and logs."""
    if "@" not in uri:
        return uri
    scheme, _, rest = uri.partition("://")
    return f"{scheme}://***@{rest.split('@', 1)[1]}"


def _first_line(exc: BaseException) -> str:
    """pymongo's message without its topology dump: the part a person can act on."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text.split(", Timeout:")[0].split(" Topology Description")[0][:200]
