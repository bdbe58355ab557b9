"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import msgspec
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from trailroom.core.errors import ServiceUnavailable
from trailroom.core.mongo import ping_mongo
from trailroom.core.redis import ping_redis
from trailroom.domain.system.heartbeat import heartbeat_age
from trailroom.resources import Resources

PROBE_TIMEOUT_S = 2.0


class Health(msgspec.Struct):
    status: str


class Readiness(msgspec.Struct):
    status: str
    checks: dict[str, str]
    worker_heartbeat_age_s: float | None


async def _check(probe: Any) -> str:
    try:
        await asyncio.wait_for(probe, PROBE_TIMEOUT_S)
    except ServiceUnavailable as exc:
        return exc.detail
    except TimeoutError:
        return f"no answer within {PROBE_TIMEOUT_S:.0f} s"
    return "ok"


class HealthController(Controller):
    tags = ["System"]
    include_in_schema = True

    @get("/healthz", summary="Liveness: the process is up")
    async def healthz(self) -> Health:
        return Health(status="ok")

    @get(
        "/readyz",
        summary="Readiness: MongoDB and Redis answer",
        responses={503: ResponseSpec(data_container=Readiness, description="A backing service does not answer")},
    )
    async def readyz(self, resources: NamedDependency[Resources]) -> Response[Readiness]:
        mongodb, redis = await asyncio.gather(_check(ping_mongo(resources.mongo)), _check(ping_redis(resources.redis)))
        ready = mongodb == "ok" and redis == "ok"
        age = await heartbeat_age(resources.redis, now=time.time()) if redis == "ok" else None
        body = Readiness(
            status="ready" if ready else "unavailable",
            checks={"mongodb": mongodb, "redis": redis},
            worker_heartbeat_age_s=age,
        )
        return Response(body, status_code=HTTP_200_OK if ready else HTTP_503_SERVICE_UNAVAILABLE)
