"""History: the account's try-ons as a filtered, paged grid; one try-on's page; delete; generate again.

Pages go forward with the service's cursor; the cursors of the pages before travel in the `back`
query parameter so "Newer" works without any state on the server.

Generate again: a try-on's input photos are deleted when it ends (privacy, see TryOnService), so
"generate again" from history opens Generate with the same options and asks for the photos again.
On the Generate page itself the photos are still in the browser, and "Generate again" re-sends them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from trailroom.core.errors import Conflict, TrailRoomError
from trailroom.core.vocabulary import FILE_EXTENSIONS, MODE_LABELS, OutputFormat, TryOnMode
from trailroom.domain.tryon.access import HistoryFilter
from trailroom.domain.tryon.models import TERMINAL, JobStatus, TryOnJob
from trailroom.domain.tryon.services import TryOnService
from trailroom.web.base import DashboardController
from trailroom.web.context import PageContext
from trailroom.web.signed_in import account_id

PAGE_SIZE = 12
MAX_BACK = 50  # cursors remembered for "Newer"
REFRESH_S = 2
MODES = tuple((mode.value, MODE_LABELS[mode]) for mode in TryOnMode)
STATUSES = tuple((s.value, s.value.capitalize()) for s in JobStatus)


def job_view(tryon: TryOnService, job: TryOnJob) -> dict[str, Any]:
    """What a template shows of one job: status, timing, error and signed result URLs."""
    completed = job.status == JobStatus.COMPLETED
    results = [tryon.jobs.result_url(job, i) for i in range(len(job.results))] if completed else []
    ext = FILE_EXTENSIONS.get(job.output_format, FILE_EXTENSIONS[OutputFormat.PNG])
    again = urlencode(
        {
            "mode": job.mode,
            "samples": job.samples,
            "quality": job.quality,
            "garment_photo_type": job.garment_photo_type,
            "again": str(job.id),
        }
    )
    return {
        "id": str(job.id),
        "job": job,
        "status": job.status.value,
        "ended": job.status in TERMINAL,
        "deletable": job.status != JobStatus.PROCESSING,
        "results": results,
        "downloads": [f"tryon-{job.id}-{i + 1}.{ext}" for i in range(len(results))],
        "thumbnail": results[0] if results else None,
        "expired": completed and not job.results,
        "seconds": round((job.completed_at - job.started_at).total_seconds(), 1)
        if job.completed_at and job.started_at
        else None,
        "again_url": f"/app/generate?{again}",
    }


@dataclass(frozen=True)
class Filters:
    mode: str = ""
    status: str = ""
    since: str = ""  # YYYY-MM-DD, the first day shown (UTC)
    until: str = ""  # YYYY-MM-DD, the last day shown (UTC)

    def query(self) -> dict[str, str]:
        return {k: v for k, v in self.__dict__.items() if v}

    @property
    def active(self) -> bool:
        return bool(self.query())


def _day(text: str, field: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{field} must be a date like 2026-11-25.") from exc


def history_filter(filters: Filters) -> HistoryFilter:
    """The service's filter; raises ValueError with a message for people on bad input."""
    if filters.mode and filters.mode not in {m for m, _ in MODES}:
        raise ValueError("Choose a mode from the list.")
    if filters.status and filters.status not in {s for s, _ in STATUSES}:
        raise ValueError("Choose a status from the list.")
    since, until = _day(filters.since, "From"), _day(filters.until, "To")
    if since and until and since > until:
        raise ValueError("The From date must not be after the To date.")
    return HistoryFilter(
        mode=filters.mode or None,
        status=filters.status or None,
        since=datetime(since.year, since.month, since.day, tzinfo=UTC) if since else None,
        until=datetime(until.year, until.month, until.day, tzinfo=UTC) + timedelta(days=1) if until else None,
    )


Text = Annotated[str, QueryParameter(max_length=20)]


class HistoryPages(DashboardController):
    path = "/app/history"

    @get("/", name="app:history")
    async def grid(
        self,
        ctx: NamedDependency[PageContext],
        mode: Text = "",
        status: Text = "",
        since: Text = "",
        until: Text = "",
        cursor: Annotated[str, QueryParameter(max_length=200)] = "",
        back: Annotated[str, QueryParameter(max_length=12_000)] = "",
    ) -> Template:
        filters = Filters(mode=mode, status=status, since=since, until=until)
        tryon = ctx.services.tryon
        error = None
        jobs: list[TryOnJob] = []
        next_cursor = None
        try:
            jobs, next_cursor = await tryon.jobs.history(
                account_id(ctx), history_filter(filters), cursor=cursor or None, limit=PAGE_SIZE
            )
        except ValueError as exc:
            error = str(exc)
        except TrailRoomError as exc:  # a cursor that is not ours
            error = exc.detail
        trail = [c for c in back.split(",") if c][-MAX_BACK:]
        base = filters.query()
        newer = None
        if cursor:
            previous = trail[-1] if trail else ""
            newer = "?" + urlencode(
                {**base, **({"cursor": previous} if previous else {}), "back": ",".join(trail[:-1])}
            )
        older = None
        if next_cursor:
            older = "?" + urlencode({**base, "cursor": next_cursor, "back": ",".join([*trail, cursor])})
        return ctx.render(
            "pages/app/history.html",
            filters=filters,
            modes=MODES,
            statuses=STATUSES,
            items=[job_view(tryon, job) for job in jobs],
            error=error,
            newer_url=newer,
            older_url=older,
            first_page=not cursor,
        )

    @get("/{job_id:str}", name="app:tryon")
    async def show(self, ctx: NamedDependency[PageContext], job_id: FromPath[str]) -> Template:
        """One try-on; until it has ended the page refreshes itself (meta refresh: no script needed)."""
        tryon = ctx.services.tryon
        view = job_view(tryon, await tryon.jobs.get(account_id(ctx), job_id))
        return ctx.render("pages/app/tryon.html", tryon=view, refresh_s=None if view["ended"] else REFRESH_S)

    @post("/{job_id:str}/delete")
    async def delete(self, ctx: NamedDependency[PageContext], job_id: FromPath[str]) -> Template | Redirect:
        asking = await ctx.confirmed(
            title="Delete the try-on?",
            question="The try-on and its images are deleted for good.",
            button="Delete try-on",
            back=f"/app/history/{job_id}",
        )
        if asking is not None:
            return asking
        try:
            await ctx.services.tryon.jobs.delete(account_id(ctx), job_id)
        except Conflict as exc:  # still being generated
            return ctx.redirect(f"/app/history/{job_id}", flash=exc.detail, kind="warning")
        return ctx.redirect("/app/history", flash="The try-on and its images were deleted.")
