"""Responses as small frozen dataclasses, built from the API's snake_case JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

TERMINAL_STATUSES = frozenset({"completed", "failed", "canceled"})


def _dt(value: Any) -> datetime | None:
    if value is None:
        return None
    text = str(value)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text)


def _req_dt(value: Any) -> datetime:
    parsed = _dt(value)
    if parsed is None:
        raise ValueError("a timestamp is missing from the response")
    return parsed


@dataclass(frozen=True, slots=True)
class JobError:
    code: str
    detail: str


@dataclass(frozen=True, slots=True)
class JobLinks:
    status: str
    events: str
    base64: str
    results: tuple[str, ...]  # signed image URLs (relative to the API), valid for an hour


@dataclass(frozen=True, slots=True)
class TryOnJob:
    id: str
    status: str  # queued, processing, completed, failed, canceled
    mode: str
    samples: int
    credits_charged: int
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    error: JobError | None
    batch_id: str | None
    attempts: int
    links: JobLinks
    replayed: bool = False  # True when an idempotency key returned an existing job

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    def for_shopper(self, status_url: str, public_url: str) -> dict[str, Any]:
        """The job as a shopper's browser sees it through a merchant's proxy (the plugins): its status
        link points at the proxy, result images at the platform's public URL (signed, no key needed)."""
        return {
            "id": self.id,
            "status": self.status,
            "mode": self.mode,
            "samples": self.samples,
            "credits_charged": self.credits_charged,
            "created_at": self.created_at.isoformat(),
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "completed_at": self.completed_at.isoformat() if self.completed_at else None,
            "error": {"code": self.error.code, "detail": self.error.detail} if self.error else None,
            "replayed": self.replayed,
            "links": {
                "status": status_url,
                "results": [url if url.startswith("http") else public_url + url for url in self.links.results],
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], *, replayed: bool = False) -> TryOnJob:
        links = data.get("links") or {}
        error = data.get("error")
        return cls(
            id=str(data["id"]),
            status=str(data["status"]),
            mode=str(data["mode"]),
            samples=int(data["samples"]),
            credits_charged=int(data["credits_charged"]),
            created_at=_req_dt(data["created_at"]),
            started_at=_dt(data.get("started_at")),
            completed_at=_dt(data.get("completed_at")),
            error=JobError(code=str(error["code"]), detail=str(error["detail"])) if error else None,
            batch_id=data.get("batch_id"),
            attempts=int(data.get("attempts", 0)),
            links=JobLinks(
                status=str(links.get("status", "")),
                events=str(links.get("events", "")),
                base64=str(links.get("base64", "")),
                results=tuple(str(u) for u in links.get("results", ())),
            ),
            replayed=replayed,
        )


@dataclass(frozen=True, slots=True)
class Batch:
    batch_id: str | None
    jobs: tuple[TryOnJob, ...]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Batch:
        return cls(batch_id=data.get("batch_id"), jobs=tuple(TryOnJob.from_json(j) for j in data["jobs"]))


@dataclass(frozen=True, slots=True)
class TryOnPage:
    data: tuple[TryOnJob, ...]
    next_cursor: str | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TryOnPage:
        return cls(data=tuple(TryOnJob.from_json(j) for j in data["data"]), next_cursor=data.get("next_cursor"))


@dataclass(frozen=True, slots=True)
class ResultImage:
    media_type: str
    width: int
    height: int
    data: bytes  # decoded from the API's base64


@dataclass(frozen=True, slots=True)
class Credits:
    balance: int
    free_daily_remaining: int
    free_daily_allowance: int
    purchased: int
    free_resets_at: datetime
    costs: dict[str, int] = field(default_factory=dict)  # credits per sample, by mode

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Credits:
        return cls(
            balance=int(data["balance"]),
            free_daily_remaining=int(data["free_daily_remaining"]),
            free_daily_allowance=int(data["free_daily_allowance"]),
            purchased=int(data["purchased"]),
            free_resets_at=_req_dt(data["free_resets_at"]),
            costs={str(k): int(v) for k, v in (data.get("costs") or {}).items()},
        )


@dataclass(frozen=True, slots=True)
class CreditTransaction:
    id: str
    kind: str
    amount: int
    balance_after: int
    free_delta: int
    purchased_delta: int
    description: str
    job_ids: tuple[str, ...]
    created_at: datetime

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CreditTransaction:
        return cls(
            id=str(data["id"]),
            kind=str(data["kind"]),
            amount=int(data["amount"]),
            balance_after=int(data["balance_after"]),
            free_delta=int(data.get("free_delta", 0)),
            purchased_delta=int(data.get("purchased_delta", 0)),
            description=str(data.get("description", "")),
            job_ids=tuple(str(j) for j in data.get("job_ids", ())),
            created_at=_req_dt(data["created_at"]),
        )


@dataclass(frozen=True, slots=True)
class CreditTransactionPage:
    data: tuple[CreditTransaction, ...]
    next_cursor: str | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CreditTransactionPage:
        return cls(
            data=tuple(CreditTransaction.from_json(t) for t in data["data"]), next_cursor=data.get("next_cursor")
        )


@dataclass(frozen=True, slots=True)
class Webhook:
    id: str
    url: str
    events: tuple[str, ...]
    description: str
    enabled: bool
    created_at: datetime
    updated_at: datetime
    secret_rotated_at: datetime | None
    failing_since: datetime | None
    disabled_at: datetime | None
    disabled_reason: str | None
    secret: str | None = None  # only on creation and rotation

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Webhook:
        return cls(
            id=str(data["id"]),
            url=str(data["url"]),
            events=tuple(str(e) for e in data.get("events", ())),
            description=str(data.get("description", "")),
            enabled=bool(data.get("enabled", True)),
            created_at=_req_dt(data["created_at"]),
            updated_at=_req_dt(data["updated_at"]),
            secret_rotated_at=_dt(data.get("secret_rotated_at")),
            failing_since=_dt(data.get("failing_since")),
            disabled_at=_dt(data.get("disabled_at")),
            disabled_reason=data.get("disabled_reason"),
            secret=data.get("secret"),
        )


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None
    response_body: str | None


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    id: str
    webhook_id: str
    event_id: str | None
    event_type: str
    status: str
    attempts: tuple[DeliveryAttempt, ...]
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
    payload: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WebhookDelivery:
        return cls(
            id=str(data["id"]),
            webhook_id=str(data["webhook_id"]),
            event_id=data.get("event_id"),
            event_type=str(data["event_type"]),
            status=str(data["status"]),
            attempts=tuple(
                DeliveryAttempt(
                    at=_req_dt(a["at"]),
                    status_code=a.get("status_code"),
                    latency_ms=int(a.get("latency_ms", 0)),
                    error=a.get("error"),
                    response_body=a.get("response_body"),
                )
                for a in data.get("attempts", ())
            ),
            next_attempt_at=_dt(data.get("next_attempt_at")),
            created_at=_req_dt(data["created_at"]),
            delivered_at=_dt(data.get("delivered_at")),
            payload=str(data.get("payload", "")),
        )


@dataclass(frozen=True, slots=True)
class WebhookDeliveryPage:
    data: tuple[WebhookDelivery, ...]
    next_cursor: str | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WebhookDeliveryPage:
        return cls(data=tuple(WebhookDelivery.from_json(d) for d in data["data"]), next_cursor=data.get("next_cursor"))
