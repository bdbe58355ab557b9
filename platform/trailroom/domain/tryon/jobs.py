"""Background jobs of try-on: running an attempt, and the maintenance crons."""

from __future__ import annotations

from typing import Any


async def run_tryon(ctx: dict[str, Any], *, job_id: str) -> None:
    """One attempt of a try-on job (queued by the service; retries are new attempts)."""
    await ctx["services"].tryon.runner.process(job_id)


async def sweep_tryon_jobs(ctx: dict[str, Any]) -> dict[str, int]:
    """Cron: retry or fail-and-refund attempts whose worker died; requeue jobs whose queue entry was lost."""
    counts: dict[str, int] = await ctx["services"].tryon.maintenance.sweep()
    return counts


async def purge_expired_results(ctx: dict[str, Any]) -> int:
    """Cron: delete result images past their retention."""
    purged: int = await ctx["services"].tryon.maintenance.purge_expired_results()
    return purged
