"""Persistence: the APL (auth persistence layer, as Saleor's app SDK calls it) holding each shop's
registration, and the product try-on settings learnt from webhooks. Both live in one SQLite file
created with mode 0600, because it holds app tokens."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from trailroom_saleor.config import normalize_api_url


@dataclass(frozen=True, slots=True)
class AuthData:
    """One installation: the shop's GraphQL URL, the app token it gave us, our app id there, and its
    JWKS (JSON text) cached for webhook and dashboard-token verification."""

    saleor_api_url: str
    domain: str
    token: str = field(repr=False)  # a secret: never logged, never answered
    app_id: str
    jwks: str


class APL(Protocol):
    """Where registrations are kept; `SQLiteAPL` is the one shipped."""

    def get(self, saleor_api_url: str) -> AuthData | None: ...

    def set(self, auth: AuthData) -> None: ...

    def update_jwks(self, saleor_api_url: str, jwks: str) -> None:
        """Replace the cached JWKS of an existing registration only (never re-creates a deleted one)."""
        ...

    def delete(self, saleor_api_url: str) -> None: ...

    def all(self) -> list[AuthData]: ...


@dataclass(frozen=True, slots=True)
class ProductTryOn:
    """A product's try-on settings as read from its Saleor metadata."""

    saleor_api_url: str
    product_id: str
    garment_image: str
    mode: str
    updated_at: str  # the product's `updatedAt` (ISO 8601), to ignore deliveries older than what is stored


_SCHEMA = """
CREATE TABLE IF NOT EXISTS registrations (
    saleor_api_url TEXT PRIMARY KEY,
    domain TEXT NOT NULL,
    token TEXT NOT NULL,
    app_id TEXT NOT NULL,
    jwks TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS product_tryons (
    saleor_api_url TEXT NOT NULL,
    product_id TEXT NOT NULL,
    garment_image TEXT NOT NULL,
    mode TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (saleor_api_url, product_id)
);
"""


class SQLiteStore:
    """The SQLite file (stdlib `sqlite3`); one short connection per operation, so it is thread safe."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Created owner-only before SQLite opens it; tightened if it already existed looser.
        os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
        os.chmod(self.path, 0o600)
        with self.connect() as db:
            db.executescript(_SCHEMA)

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=10)) as db, db:
            yield db


class SQLiteAPL:
    """`APL` on `SQLiteStore`; registrations are keyed by the normalised Saleor API URL."""

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    def get(self, saleor_api_url: str) -> AuthData | None:
        with self.store.connect() as db:
            row = db.execute(
                "SELECT saleor_api_url, domain, token, app_id, jwks FROM registrations WHERE saleor_api_url = ?",
                (normalize_api_url(saleor_api_url),),
            ).fetchone()
        return None if row is None else AuthData(*row)

    def set(self, auth: AuthData) -> None:
        with self.store.connect() as db:
            db.execute(
                "INSERT INTO registrations (saleor_api_url, domain, token, app_id, jwks) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (saleor_api_url) DO UPDATE SET domain = excluded.domain, token = excluded.token, "
                "app_id = excluded.app_id, jwks = excluded.jwks",
                (normalize_api_url(auth.saleor_api_url), auth.domain, auth.token, auth.app_id, auth.jwks),
            )

    def update_jwks(self, saleor_api_url: str, jwks: str) -> None:
        with self.store.connect() as db:
            db.execute(
                "UPDATE registrations SET jwks = ? WHERE saleor_api_url = ?", (jwks, normalize_api_url(saleor_api_url))
            )

    def delete(self, saleor_api_url: str) -> None:
        url = normalize_api_url(saleor_api_url)
        with self.store.connect() as db:
            db.execute("DELETE FROM registrations WHERE saleor_api_url = ?", (url,))
            db.execute("DELETE FROM product_tryons WHERE saleor_api_url = ?", (url,))

    def all(self) -> list[AuthData]:
        with self.store.connect() as db:
            rows = db.execute("SELECT saleor_api_url, domain, token, app_id, jwks FROM registrations").fetchall()
        return [AuthData(*row) for row in rows]


class ProductTryOnStore:
    """Product try-on settings per shop, so a storefront page renders the widget without calling Saleor."""

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    def get(self, saleor_api_url: str, product_id: str) -> ProductTryOn | None:
        with self.store.connect() as db:
            row = db.execute(
                "SELECT saleor_api_url, product_id, garment_image, mode, updated_at FROM product_tryons "
                "WHERE saleor_api_url = ? AND product_id = ?",
                (normalize_api_url(saleor_api_url), product_id),
            ).fetchone()
        return None if row is None else ProductTryOn(*row)

    def apply(self, saleor_api_url: str, product_id: str, updated_at: str, tryon: ProductTryOn | None) -> bool:
        """Store `tryon` (or forget the product when None) unless what is stored is newer than
        `updated_at`: a delayed or replayed delivery never undoes a later change. True when applied."""
        url = normalize_api_url(saleor_api_url)
        with self.store.connect() as db:
            row = db.execute(
                "SELECT updated_at FROM product_tryons WHERE saleor_api_url = ? AND product_id = ?", (url, product_id)
            ).fetchone()
            if row is not None and updated_at and row[0] > updated_at:
                return False
            if tryon is None:
                db.execute("DELETE FROM product_tryons WHERE saleor_api_url = ? AND product_id = ?", (url, product_id))
            else:
                db.execute(
                    "INSERT INTO product_tryons (saleor_api_url, product_id, garment_image, mode, updated_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (saleor_api_url, product_id) DO UPDATE SET "
                    "garment_image = excluded.garment_image, mode = excluded.mode, updated_at = excluded.updated_at",
                    (url, product_id, tryon.garment_image, tryon.mode, updated_at),
                )
        return True

    def forget(self, saleor_api_url: str, product_id: str) -> None:
        with self.store.connect() as db:
            db.execute(
                "DELETE FROM product_tryons WHERE saleor_api_url = ? AND product_id = ?",
                (normalize_api_url(saleor_api_url), product_id),
            )
