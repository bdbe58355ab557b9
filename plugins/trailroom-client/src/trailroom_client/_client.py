"""The sync `TrailRoom` and async `AsyncTrailRoom` clients, sharing request building and retry rules."""

from __future__ import annotations

import asyncio
import base64
import os
import random
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from trailroom_client._errors import APIConnectionError, error_from_response, parse_retry_after
from trailroom_client._models import (
    Batch,
    Credits,
    CreditTransactionPage,
    ResultImage,
    TryOnJob,
    TryOnPage,
    Webhook,
    WebhookDelivery,
    WebhookDeliveryPage,
)
from trailroom_client.vocabulary import (
    DEFAULT_GARMENT_PHOTO_TYPE,
    DEFAULT_MODE,
    DEFAULT_OUTPUT_FORMAT,
    DEFAULT_QUALITY,
    GarmentPhotoType,
    Mode,
    OutputFormat,
    Quality,
)

__all__ = ["AsyncTrailRoom", "ImageInput", "TrailRoom"]

CLIENT_VERSION = "0.1.0"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_BACKOFF_S = 30.0
MAX_RETRY_AFTER_S = 120.0

# bytes or a path are uploaded as files (multipart); a str is an https URL, a data URI or base64 (JSON).
ImageInput = bytes | str | os.PathLike[str]


@dataclass
class _Request:
    method: str
    path: str
    params: dict[str, Any] | None = None
    json: Any = None
    data: dict[str, str] | None = None
    files: dict[str, tuple[str, bytes, str]] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # Safe to resend after the server may have acted on it (GET/DELETE, or a POST with an idempotency key).
    idempotent: bool = True


def _is_file(value: ImageInput) -> bool:
    return isinstance(value, bytes | os.PathLike)


def _file_bytes(value: ImageInput) -> bytes:
    if isinstance(value, bytes):
        return value
    return Path(os.fspath(value)).read_bytes()


def _images_request(
    path: str, images: Mapping[str, ImageInput | None], options: dict[str, Any], headers: dict[str, str]
) -> _Request:
    present = {name: value for name, value in images.items() if value is not None}
    if any(_is_file(value) for value in present.values()):
        files: dict[str, tuple[str, bytes, str]] = {}
        data = {name: str(value) for name, value in options.items() if value is not None}
        for name, value in present.items():
            if _is_file(value):
                filename = Path(os.fspath(value)).name if isinstance(value, os.PathLike) else name
                files[name] = (filename, _file_bytes(value), "application/octet-stream")
            else:
                data[name] = str(value)
        return _Request("POST", path, data=data, files=files, headers=headers, idempotent=True)
    body = {**{k: v for k, v in options.items() if v is not None}, **present}
    return _Request("POST", path, json=body, headers=headers, idempotent=True)


def _json_image(value: ImageInput) -> str:
    """Batches are JSON only: files are sent inline as base64."""
    return base64.b64encode(_file_bytes(value)).decode() if _is_file(value) else str(value)


class _Base:
    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float = 60.0,
        max_retries: int = 3,
        backoff_s: float = 0.5,
    ) -> None:
        if not api_key:
            raise ValueError("api_key is required (a secret key tr_sk_…, or a user access token)")
        self.api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_s = backoff_s

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.api_key}",
            "Accept": "application/json",
            "User-Agent": f"trailroom-client/{CLIENT_VERSION}",
        }

    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        """Seconds to wait before retry number `attempt + 1`: the server's Retry-After, else backoff with jitter."""
        if response is not None:
            hinted = parse_retry_after(response.headers.get("retry-after"))
            if hinted is not None:
                return min(hinted, MAX_RETRY_AFTER_S)
        ceiling = min(MAX_BACKOFF_S, self.backoff_s * 2.0**attempt)
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def _should_retry(
        self, request: _Request, attempt: int, response: httpx.Response | None, exc: Exception | None
    ) -> bool:
        if attempt >= self.max_retries:
            return False
        if exc is not None:
            # A refused connection never reached the server; anything else might have.
            return request.idempotent or isinstance(exc, httpx.ConnectError)
        if response is None:
            return False
        if response.status_code == 429:
            # A limit that lifts only in minutes or hours (a daily cap) is the caller's to handle.
            hinted = parse_retry_after(response.headers.get("retry-after"))
            return hinted is None or hinted <= MAX_RETRY_AFTER_S
        return request.idempotent and response.status_code in RETRY_STATUSES

    @staticmethod
    def _body(response: httpx.Response) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def _job(self, response: httpx.Response) -> TryOnJob:
        return TryOnJob.from_json(self._body(response), replayed=response.headers.get("idempotent-replayed") == "true")

    # Request builders, shared by both clients.

    @staticmethod
    def _create_request(
        person_image: ImageInput,
        garment_image: ImageInput,
        mode: Mode,
        bottom_image: ImageInput | None,
        samples: int,
        seed: int | None,
        output_format: OutputFormat,
        quality: Quality,
        garment_photo_type: GarmentPhotoType,
        idempotency_key: str | None,
        shopper_id: str | None,
        shopper_ip: str | None,
    ) -> _Request:
        headers = {"Idempotency-Key": idempotency_key or str(uuid.uuid4())}
        # Naming the shopper (a session id, the browser's address) lets the platform apply the key's
        # daily per-shopper caps to calls made on their behalf.
        if shopper_id:
            headers["X-Shopper-ID"] = shopper_id
        if shopper_ip:
            headers["X-Shopper-IP"] = shopper_ip
        options = {
            "mode": mode,
            "samples": samples,
            "seed": seed,
            "output_format": output_format,
            "quality": quality,
            "garment_photo_type": garment_photo_type,
        }
        images = {"person_image": person_image, "garment_image": garment_image, "bottom_image": bottom_image}
        return _images_request("/api/v1/tryon", images, options, headers)

    @staticmethod
    def _batch_request(
        items: list[Mapping[str, Any]],
        person_image: ImageInput | None,
        mode: Mode,
        samples: int,
        seed: int | None,
        output_format: OutputFormat,
        quality: Quality,
        garment_photo_type: GarmentPhotoType,
    ) -> _Request:
        body: dict[str, Any] = {
            "mode": mode,
            "samples": samples,
            "output_format": output_format,
            "quality": quality,
            "garment_photo_type": garment_photo_type,
            "items": [
                {k: (_json_image(v) if k.endswith("_image") else v) for k, v in item.items() if v is not None}
                for item in items
            ],
        }
        if seed is not None:
            body["seed"] = seed
        if person_image is not None:
            body["person_image"] = _json_image(person_image)
        # The batch endpoint takes no idempotency key: only retried when it surely did nothing.
        return _Request("POST", "/api/v1/tryon/batch", json=body, idempotent=False)

    @staticmethod
    def _history_params(
        mode: str | None, status: str | None, since: str | None, until: str | None, cursor: str | None, limit: int
    ) -> dict[str, Any]:
        params = {"mode": mode, "status": status, "since": since, "until": until, "cursor": cursor, "limit": limit}
        return {k: v for k, v in params.items() if v is not None}

    @staticmethod
    def _images(body: dict[str, Any]) -> list[ResultImage]:
        return [
            ResultImage(
                media_type=str(i["media_type"]),
                width=int(i["width"]),
                height=int(i["height"]),
                data=base64.b64decode(i["data"]),
            )
            for i in body["images"]
        ]


class TrailRoom(_Base):
    """Synchronous client. Use as a context manager, or call `close()`."""

    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float = 60.0,
        max_retries: int = 3,
        backoff_s: float = 0.5,
        http_client: httpx.Client | None = None,
    ) -> None:
        super().__init__(api_key, base_url, timeout=timeout, max_retries=max_retries, backoff_s=backoff_s)
        self._http = http_client or httpx.Client(timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> TrailRoom:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _send(self, request: _Request) -> httpx.Response:
        attempt = 0
        while True:
            response: httpx.Response | None = None
            try:
                response = self._http.request(
                    request.method,
                    self.base_url + request.path,
                    params=request.params,
                    json=request.json,
                    data=request.data,
                    files=request.files,
                    headers={**self._headers(), **request.headers},
                )
            except httpx.TransportError as exc:
                if not self._should_retry(request, attempt, None, exc):
                    raise APIConnectionError(f"could not reach {self.base_url}: {exc}") from exc
            else:
                if not self._should_retry(request, attempt, response, None):
                    if response.status_code >= 400:
                        raise error_from_response(response)
                    return response
            time.sleep(self._delay(attempt, response))
            attempt += 1

    # Try-ons

    def create_tryon(
        self,
        person_image: ImageInput,
        garment_image: ImageInput,
        mode: Mode = DEFAULT_MODE,
        bottom_image: ImageInput | None = None,
        samples: int = 1,
        seed: int | None = None,
        output_format: OutputFormat = DEFAULT_OUTPUT_FORMAT,
        quality: Quality = DEFAULT_QUALITY,
        garment_photo_type: GarmentPhotoType = DEFAULT_GARMENT_PHOTO_TYPE,
        idempotency_key: str | None = None,
        shopper_id: str | None = None,
        shopper_ip: str | None = None,
    ) -> TryOnJob:
        """Start a try-on. An idempotency key is made when none is given, so retries never charge twice."""
        return self._job(
            self._send(
                self._create_request(
                    person_image,
                    garment_image,
                    mode,
                    bottom_image,
                    samples,
                    seed,
                    output_format,
                    quality,
                    garment_photo_type,
                    idempotency_key,
                    shopper_id,
                    shopper_ip,
                )
            )
        )

    def batch_tryon(
        self,
        items: list[Mapping[str, Any]],
        person_image: ImageInput | None = None,
        mode: Mode = DEFAULT_MODE,
        samples: int = 1,
        seed: int | None = None,
        output_format: OutputFormat = DEFAULT_OUTPUT_FORMAT,
        quality: Quality = DEFAULT_QUALITY,
        garment_photo_type: GarmentPhotoType = DEFAULT_GARMENT_PHOTO_TYPE,
    ) -> Batch:
        """Many try-ons at once, all charged or none. Items: `garment_image`, optional `person_image`,
        `bottom_image`, `mode`."""
        request = self._batch_request(
            items, person_image, mode, samples, seed, output_format, quality, garment_photo_type
        )
        return Batch.from_json(self._body(self._send(request)))

    def get_tryon(self, job_id: str) -> TryOnJob:
        return self._job(self._send(_Request("GET", f"/api/v1/tryon/{job_id}")))

    def wait_for_tryon(self, job_id: str, timeout: float = 300.0, poll_interval: float = 1.0) -> TryOnJob:
        """Poll until the job is completed, failed or canceled; raises `TimeoutError` after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.get_tryon(job_id)
            if job.is_terminal:
                return job
            if time.monotonic() >= deadline:
                raise TimeoutError(f"try-on {job_id} is still {job.status} after {timeout} s")
            time.sleep(poll_interval)

    def get_tryon_images(self, job_id: str) -> list[ResultImage]:
        return self._images(self._body(self._send(_Request("GET", f"/api/v1/tryon/{job_id}/base64"))))

    def list_tryons(
        self,
        *,
        mode: str | None = None,
        status: str | None = None,
        since: str | None = None,
        until: str | None = None,
        cursor: str | None = None,
        limit: int = 20,
    ) -> TryOnPage:
        params = self._history_params(mode, status, since, until, cursor, limit)
        return TryOnPage.from_json(self._body(self._send(_Request("GET", "/api/v1/tryon/history", params=params))))

    def iter_tryons(
        self,
        *,
        mode: str | None = None,
        status: str | None = None,
        since: str | None = None,
        until: str | None = None,
        page_size: int = 50,
    ) -> Iterator[TryOnJob]:
        """Every try-on of the history, newest first, following the cursors."""
        cursor: str | None = None
        while True:
            page = self.list_tryons(mode=mode, status=status, since=since, until=until, cursor=cursor, limit=page_size)
            yield from page.data
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    def cancel_tryon(self, job_id: str) -> TryOnJob:
        return self._job(self._send(_Request("POST", f"/api/v1/tryon/{job_id}/cancel")))

    def delete_tryon(self, job_id: str) -> None:
        self._send(_Request("DELETE", f"/api/v1/tryon/{job_id}"))

    # Credits

    def get_credits(self) -> Credits:
        return Credits.from_json(self._body(self._send(_Request("GET", "/api/v1/credits"))))

    def list_credit_transactions(self, *, cursor: str | None = None, limit: int = 20) -> CreditTransactionPage:
        params: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        return CreditTransactionPage.from_json(
            self._body(self._send(_Request("GET", "/api/v1/credits/transactions", params=params)))
        )

    # Webhooks (a secret key manages its account's endpoints; a publishable key cannot)

    def create_webhook(self, url: str, events: list[str], description: str = "") -> Webhook:
        body = {"url": url, "events": events, "description": description}
        return Webhook.from_json(
            self._body(self._send(_Request("POST", "/api/v1/webhooks", json=body, idempotent=False)))
        )

    def list_webhooks(self) -> list[Webhook]:
        return [Webhook.from_json(w) for w in self._body(self._send(_Request("GET", "/api/v1/webhooks")))["data"]]

    def update_webhook(
        self,
        webhook_id: str,
        *,
        url: str | None = None,
        events: list[str] | None = None,
        description: str | None = None,
        enabled: bool | None = None,
    ) -> Webhook:
        """Change what is given; re-enabling an endpoint delivers what waited for it."""
        body = _webhook_changes(url=url, events=events, description=description, enabled=enabled)
        return Webhook.from_json(self._body(self._send(_Request("PUT", f"/api/v1/webhooks/{webhook_id}", json=body))))

    def delete_webhook(self, webhook_id: str) -> None:
        self._send(_Request("DELETE", f"/api/v1/webhooks/{webhook_id}"))

    def list_webhook_deliveries(
        self, webhook_id: str, *, cursor: str | None = None, limit: int = 20
    ) -> WebhookDeliveryPage:
        params: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        request = _Request("GET", f"/api/v1/webhooks/{webhook_id}/deliveries", params=params)
        return WebhookDeliveryPage.from_json(self._body(self._send(request)))

    def rotate_webhook_secret(self, webhook_id: str) -> Webhook:
        request = _Request("POST", f"/api/v1/webhooks/{webhook_id}/rotate-secret", idempotent=False)
        return Webhook.from_json(self._body(self._send(request)))

    def send_test_webhook(self, webhook_id: str) -> WebhookDelivery:
        request = _Request("POST", f"/api/v1/webhooks/{webhook_id}/test", idempotent=False)
        return WebhookDelivery.from_json(self._body(self._send(request)))


class AsyncTrailRoom(_Base):
    """Asynchronous client. Use as an async context manager, or call `await aclose()`."""

    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float = 60.0,
        max_retries: int = 3,
        backoff_s: float = 0.5,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(api_key, base_url, timeout=timeout, max_retries=max_retries, backoff_s=backoff_s)
        self._http = http_client or httpx.AsyncClient(timeout=timeout)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncTrailRoom:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def _send(self, request: _Request) -> httpx.Response:
        attempt = 0
        while True:
            response: httpx.Response | None = None
            try:
                response = await self._http.request(
                    request.method,
                    self.base_url + request.path,
                    params=request.params,
                    json=request.json,
                    data=request.data,
                    files=request.files,
                    headers={**self._headers(), **request.headers},
                )
            except httpx.TransportError as exc:
                if not self._should_retry(request, attempt, None, exc):
                    raise APIConnectionError(f"could not reach {self.base_url}: {exc}") from exc
            else:
                if not self._should_retry(request, attempt, response, None):
                    if response.status_code >= 400:
                        raise error_from_response(response)
                    return response
            await asyncio.sleep(self._delay(attempt, response))
            attempt += 1

    # Try-ons

    async def create_tryon(
        self,
        person_image: ImageInput,
        garment_image: ImageInput,
        mode: Mode = DEFAULT_MODE,
        bottom_image: ImageInput | None = None,
        samples: int = 1,
        seed: int | None = None,
        output_format: OutputFormat = DEFAULT_OUTPUT_FORMAT,
        quality: Quality = DEFAULT_QUALITY,
        garment_photo_type: GarmentPhotoType = DEFAULT_GARMENT_PHOTO_TYPE,
        idempotency_key: str | None = None,
        shopper_id: str | None = None,
        shopper_ip: str | None = None,
    ) -> TryOnJob:
        """Start a try-on. An idempotency key is made when none is given, so retries never charge twice."""
        return self._job(
            await self._send(
                self._create_request(
                    person_image,
                    garment_image,
                    mode,
                    bottom_image,
                    samples,
                    seed,
                    output_format,
                    quality,
                    garment_photo_type,
                    idempotency_key,
                    shopper_id,
                    shopper_ip,
                )
            )
        )

    async def batch_tryon(
        self,
        items: list[Mapping[str, Any]],
        person_image: ImageInput | None = None,
        mode: Mode = DEFAULT_MODE,
        samples: int = 1,
        seed: int | None = None,
        output_format: OutputFormat = DEFAULT_OUTPUT_FORMAT,
        quality: Quality = DEFAULT_QUALITY,
        garment_photo_type: GarmentPhotoType = DEFAULT_GARMENT_PHOTO_TYPE,
    ) -> Batch:
        """Many try-ons at once, all charged or none. Items: `garment_image`, optional `person_image`,
        `bottom_image`, `mode`."""
        request = self._batch_request(
            items, person_image, mode, samples, seed, output_format, quality, garment_photo_type
        )
        return Batch.from_json(self._body(await self._send(request)))

    async def get_tryon(self, job_id: str) -> TryOnJob:
        return self._job(await self._send(_Request("GET", f"/api/v1/tryon/{job_id}")))

    async def wait_for_tryon(
        self,
        job_id: str,
        timeout: float = 300.0,  # noqa: ASYNC109 - the same signature as the sync client
        poll_interval: float = 1.0,
    ) -> TryOnJob:
        """Poll until the job is completed, failed or canceled; raises `TimeoutError` after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            job = await self.get_tryon(job_id)
            if job.is_terminal:
                return job
            if time.monotonic() >= deadline:
                raise TimeoutError(f"try-on {job_id} is still {job.status} after {timeout} s")
            await asyncio.sleep(poll_interval)

    async def get_tryon_images(self, job_id: str) -> list[ResultImage]:
        return self._images(self._body(await self._send(_Request("GET", f"/api/v1/tryon/{job_id}/base64"))))

    async def list_tryons(
        self,
        *,
        mode: str | None = None,
        status: str | None = None,
        since: str | None = None,
        until: str | None = None,
        cursor: str | None = None,
        limit: int = 20,
    ) -> TryOnPage:
        params = self._history_params(mode, status, since, until, cursor, limit)
        return TryOnPage.from_json(
            self._body(await self._send(_Request("GET", "/api/v1/tryon/history", params=params)))
        )

    async def iter_tryons(
        self,
        *,
        mode: str | None = None,
        status: str | None = None,
        since: str | None = None,
        until: str | None = None,
        page_size: int = 50,
    ) -> AsyncIterator[TryOnJob]:
        """Every try-on of the history, newest first, following the cursors."""
        cursor: str | None = None
        while True:
            page = await self.list_tryons(
                mode=mode, status=status, since=since, until=until, cursor=cursor, limit=page_size
            )
            for job in page.data:
                yield job
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    async def cancel_tryon(self, job_id: str) -> TryOnJob:
        return self._job(await self._send(_Request("POST", f"/api/v1/tryon/{job_id}/cancel")))

    async def delete_tryon(self, job_id: str) -> None:
        await self._send(_Request("DELETE", f"/api/v1/tryon/{job_id}"))

    # Credits

    async def get_credits(self) -> Credits:
        return Credits.from_json(self._body(await self._send(_Request("GET", "/api/v1/credits"))))

    async def list_credit_transactions(self, *, cursor: str | None = None, limit: int = 20) -> CreditTransactionPage:
        params: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        body = self._body(await self._send(_Request("GET", "/api/v1/credits/transactions", params=params)))
        return CreditTransactionPage.from_json(body)

    # Webhooks (a secret key manages its account's endpoints; a publishable key cannot)

    async def create_webhook(self, url: str, events: list[str], description: str = "") -> Webhook:
        body = {"url": url, "events": events, "description": description}
        return Webhook.from_json(
            self._body(await self._send(_Request("POST", "/api/v1/webhooks", json=body, idempotent=False)))
        )

    async def list_webhooks(self) -> list[Webhook]:
        return [Webhook.from_json(w) for w in self._body(await self._send(_Request("GET", "/api/v1/webhooks")))["data"]]

    async def update_webhook(
        self,
        webhook_id: str,
        *,
        url: str | None = None,
        events: list[str] | None = None,
        description: str | None = None,
        enabled: bool | None = None,
    ) -> Webhook:
        """Change what is given; re-enabling an endpoint delivers what waited for it."""
        body = _webhook_changes(url=url, events=events, description=description, enabled=enabled)
        request = _Request("PUT", f"/api/v1/webhooks/{webhook_id}", json=body)
        return Webhook.from_json(self._body(await self._send(request)))

    async def delete_webhook(self, webhook_id: str) -> None:
        await self._send(_Request("DELETE", f"/api/v1/webhooks/{webhook_id}"))

    async def list_webhook_deliveries(
        self, webhook_id: str, *, cursor: str | None = None, limit: int = 20
    ) -> WebhookDeliveryPage:
        params: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        request = _Request("GET", f"/api/v1/webhooks/{webhook_id}/deliveries", params=params)
        return WebhookDeliveryPage.from_json(self._body(await self._send(request)))

    async def rotate_webhook_secret(self, webhook_id: str) -> Webhook:
        request = _Request("POST", f"/api/v1/webhooks/{webhook_id}/rotate-secret", idempotent=False)
        return Webhook.from_json(self._body(await self._send(request)))

    async def send_test_webhook(self, webhook_id: str) -> WebhookDelivery:
        request = _Request("POST", f"/api/v1/webhooks/{webhook_id}/test", idempotent=False)
        return WebhookDelivery.from_json(self._body(await self._send(request)))


def _webhook_changes(
    *, url: str | None, events: list[str] | None, description: str | None, enabled: bool | None
) -> dict[str, Any]:
    """The fields an update sends: only those given (the API leaves the others as they are)."""
    given = {"url": url, "events": events, "description": description, "enabled": enabled}
    return {name: value for name, value in given.items() if value is not None}
