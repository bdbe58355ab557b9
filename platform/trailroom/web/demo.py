"""The landing page's live demo: a real try-on by the local engine on bundled sample photos.

Each pair is rendered once and kept in the blob store under a key derived from the photos'
bytes, so every later visitor gets the stored result. Rendering is rate limited per IP (only a
miss costs), and a process renders a pair at most once at a time.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response, get
from litestar.params import FromPath

from trailroom.core.blobs import BlobStore
from trailroom.core.errors import NotFound, RateLimited, ServiceUnavailable
from trailroom.core.limits import DEMO_RENDERS_PER_IP
from trailroom.core.ratelimit import RateLimiter
from trailroom.core.vocabulary import OutputFormat, TryOnMode
from trailroom.domain.accounts.controllers import client_ip
from trailroom.engines.base import EngineError, TryOnEngine, TryOnInput
from trailroom.engines.registry import create_engine
from trailroom.web.assets import STATIC_DIR
from trailroom.web.base import PageController


@dataclass(frozen=True)
class DemoPair:
    slug: str
    title: str
    person: str  # path under /static of the person photo
    garment: str  # path under /static of the garment photo

    @property
    def result_url(self) -> str:
        return f"/demo/{self.slug}.jpg"


DEMO_PAIRS: tuple[DemoPair, ...] = (
    DemoPair("paisley-shirt", "Paisley shirt", "app/demo/studio_2.jpg", "app/demo/top_2.jpg"),
    DemoPair("denim-jacket", "Denim jacket", "app/demo/studio_1.jpg", "app/demo/jacket_1.jpg"),
    DemoPair("white-tee", "White T-shirt", "app/demo/studio_2.jpg", "app/demo/top_3.jpg"),
)
_BY_SLUG = {pair.slug: pair for pair in DEMO_PAIRS}


def _photos(pair: DemoPair) -> tuple[bytes, bytes]:
    return (STATIC_DIR / pair.person).read_bytes(), (STATIC_DIR / pair.garment).read_bytes()


class LiveDemo:
    def __init__(self, blobs: BlobStore, limiter: RateLimiter, engine_name: str = "local") -> None:
        self.blobs = blobs
        self.limiter = limiter
        self.engine_name = engine_name
        self._engine: TryOnEngine | None = None
        self._locks: dict[str, asyncio.Lock] = {}
        self._blob_keys: dict[str, str] = {}

    @staticmethod
    def pair(slug: str) -> DemoPair:
        pair = _BY_SLUG.get(slug)
        if pair is None:
            raise NotFound("There is no such demo.", code="demo_not_found")
        return pair

    def _blob_key(self, pair: DemoPair) -> str:
        """Where the pair's result is stored: named by its photos and engine, so a new photo renders
        anew. Worked out once per process, not on every page view."""
        key = self._blob_keys.get(pair.slug)
        if key is None:
            person, garment = _photos(pair)
            digest = hashlib.sha256(person + b"|" + garment + self.engine_name.encode()).hexdigest()[:16]
            key = self._blob_keys[pair.slug] = f"demo/{pair.slug}-{digest}.jpg"
        return key

    async def result(self, pair: DemoPair, *, ip: str) -> bytes:
        """The stored result of `pair`, rendering it first when there is none yet."""
        key = self._blob_key(pair)
        async with self._locks.setdefault(pair.slug, asyncio.Lock()):
            if await self.blobs.exists(key):
                return await self.blobs.get(key)
            # Engine runs are limited per IP; stored results are not.
            decision = await self.limiter.take(DEMO_RENDERS_PER_IP.key(ip), DEMO_RENDERS_PER_IP.limit)
            if not decision.allowed:
                raise RateLimited(
                    f"The demo is busy for your network; try again in {decision.retry_after_s} s.",
                    retry_after=decision.retry_after_s,
                )
            person, garment = _photos(pair)
            try:
                output = await self._engine_instance().generate(
                    TryOnInput(mode=TryOnMode.TOP, person=person, garment=garment, output_format=OutputFormat.JPEG)
                )
            except EngineError as exc:
                raise ServiceUnavailable("The demo could not render this pair right now.", code="demo_failed") from exc
            await self.blobs.put(key, output.image, "image/jpeg")
            return output.image

    def _engine_instance(self) -> TryOnEngine:
        if self._engine is None:
            self._engine = create_engine(self.engine_name)
        return self._engine


def live_demo(request: Request[Any, Any, Any]) -> LiveDemo:
    state = request.app.state
    demo: LiveDemo | None = state.get("live_demo")
    if demo is None:
        services = state.services
        demo = state.live_demo = LiveDemo(services.tryon.blobs, RateLimiter(services.resources.redis))
    return demo


class DemoController(PageController):
    path = "/demo"

    @get("/{name:str}", summary="The live demo's try-on result for a sample pair (JPEG)")
    async def result(self, request: Request[Any, Any, Any], name: FromPath[str]) -> Response[bytes]:
        pair = LiveDemo.pair(name.removesuffix(".jpg"))
        image = await live_demo(request).result(pair, ip=client_ip(request))
        # The same photos give the same result: browsers and proxies may keep it for a day.
        return Response(image, media_type="image/jpeg", headers={"Cache-Control": "public, max-age=86400"})
