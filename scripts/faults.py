"""Fault injection: a batch of try-ons through the real `trailroom dev`, with a fault per batch.

    .venv/bin/python scripts/faults.py            # the long form (bigger batches)
    .venv/bin/python scripts/faults.py --short    # the form `make test` runs (about a minute or two)

Starts the real supervisor (`trailroom dev`: SecantusDB, redis-server, the API and the worker as
processes, on free ports, with a temporary data folder) and, in turn:

- kills the worker (SIGKILL) while try-ons run,
- kills redis-server (SIGKILL),
- restarts the database server (SIGTERM; the supervisor starts it again),
- makes the engine time out (an engine that never answers, chosen in the AI settings),
- makes the engine fail (an engine that refuses every try-on).

Half of each batch is submitted before the fault, half while it lasts; a submission refused with 503
is retried with the same Idempotency-Key, as a client should. Nothing is done by hand after a fault:
the script only waits. Per fault it prints jobs submitted / completed / failed+refunded / lost,
credits charged twice and the seconds until every job had ended and the API answered again, from
the database's ledger. It exits non-zero unless nothing was lost or charged twice and every fault
was recovered from on its own within the deadline.

"Lost": a job accepted (202) that is not terminal at the deadline, a failed or canceled one whose
credits did not come back, or a job charged for a request that was never answered with its id.
"Charged twice": more than one charge for a job, or refunds above its charge.

The misbehaving engines come from `scripts/fault_engine.py`, loaded through TRAILROOM_ENGINE_MODULES
like any extra provider; the product has no test-only code path for them.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from beanie import PydanticObjectId
from PIL import Image

from trailroom.core.mongo import init_documents, mongo_client
from trailroom.domain.accounts.models import User
from trailroom.domain.credits.models import CreditTransaction, TransactionKind
from trailroom.domain.credits.services import CreditService
from trailroom.domain.registry import document_models
from trailroom.domain.runtime_config.services import CACHE_S, RuntimeConfigService
from trailroom.domain.tryon.models import TERMINAL, JobStatus, TryOnJob
from trailroom.embedded.process import free_port
from trailroom.engines.registry import load_engine_modules

SCRIPTS = Path(__file__).resolve().parent
DATABASE = "trailroom"
START_TIMEOUT_S = 120.0


@dataclass
class Fault:
    name: str
    engine: str = "fault-ok"
    # What the fault does to the running platform (None: the engine is the fault).
    inject: Callable[[Platform], Awaitable[None]] | None = None
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass
class Outcome:
    fault: str
    submitted: int = 0
    refused: int = 0
    completed: int = 0
    failed_refunded: int = 0
    lost: int = 0
    charged_twice: int = 0
    recover_s: float | None = None  # None: not recovered within the deadline
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.charged_twice == 0 and self.recover_s is not None


class Platform:
    """One `trailroom dev` in a temporary data folder, and a client for its API and database."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data_dir = root / "data"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.popen: subprocess.Popen[bytes] | None = None
        self.key = ""
        self.mongo: Any = None

    # -- processes ----------------------------------------------------------------------------------

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRAILROOM_")}
        env.update(
            TRAILROOM_DATA_DIR=str(self.data_dir),
            TRAILROOM_PORT=str(self.port),
            TRAILROOM_ENGINE_MODULES="fault_engine",
            TRAILROOM_LOG_LEVEL="WARNING",
            TRAILROOM_API_KEY_REQUESTS_PER_MINUTE="100000",
            PYTHONPATH=os.pathsep.join(filter(None, [str(SCRIPTS), env.get("PYTHONPATH", "")])),
        )
        self.log = (self.root / "dev.log").open("wb")
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "trailroom", "dev"],
            cwd=self.root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while "Press Ctrl-C to stop." not in self.output():
            if self.popen.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"trailroom dev did not start:\n{self.output()[-4000:]}")
            time.sleep(0.2)
        self.key = json.loads((self.data_dir / "demo.json").read_text())["secret_key"]
        services = json.loads((self.data_dir / "run" / "services.json").read_text())
        self.mongo_uri = services["mongodb_uri"]

    def output(self) -> str:
        return (self.root / "dev.log").read_text(errors="replace")

    def pid(self, name: str) -> int:
        return int((self.data_dir / "run" / f"{name}.pid").read_text())

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGINT)
            try:
                self.popen.wait(60)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()

    # -- database -----------------------------------------------------------------------------------

    async def connect(self) -> None:
        self.mongo = mongo_client(self.mongo_uri, timeout_ms=3000)
        await init_documents(self.mongo, DATABASE, document_models())
        user = await User.find_one(User.email == "demo@trailroom.dev")
        assert user is not None
        self.account_id: PydanticObjectId = user.id  # type: ignore[assignment]
        self.config = RuntimeConfigService()
        self.credits = CreditService(self.mongo, self.config, free_daily=3)

    async def db(self, work: Callable[[], Awaitable[Any]], within_s: float = 60) -> Any:
        """Run a read or write, waiting while the database restarts."""
        deadline = time.monotonic() + within_s
        while True:
            try:
                return await work()
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)

    async def configure(self, engine: str, settings: dict[str, Any]) -> None:
        """The admins' AI settings, then long enough for every process's cache to expire."""
        await self.config.update(
            {"engine": engine, "timeout_s": 30, "max_attempts": 3, "max_jobs_in_flight": 1000, **settings},
            by="faults.py",
        )
        await asyncio.sleep(CACHE_S + 0.5)


def png(color: tuple[int, int, int], size: tuple[int, int]) -> str:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


PERSON = png((90, 90, 90), (320, 400))
GARMENT = png((10, 60, 200), (300, 300))


async def submit(http: httpx.AsyncClient, platform: Platform, deadline: float) -> tuple[str | None, int]:
    """One try-on, retried with the same Idempotency-Key while the platform is unavailable.
    Returns the accepted id (or None) and the last status."""
    headers = {"Authorization": f"Bearer {platform.key}", "Idempotency-Key": uuid.uuid4().hex}
    body = {"mode": "top", "person_image": PERSON, "garment_image": GARMENT}
    status = 0
    while time.monotonic() < deadline:
        try:
            response = await http.post("/api/v1/tryon", headers=headers, json=body)
        except httpx.HTTPError:  # the API is restarting
            await asyncio.sleep(0.5)
            continue
        status = response.status_code
        if status == 202:
            return str(response.json()["id"]), status
        if status not in (429, 503):
            return None, status
        await asyncio.sleep(float(response.headers.get("retry-after", "1")))
    return None, status


async def api_answers(http: httpx.AsyncClient, platform: Platform) -> bool:
    try:
        response = await http.get("/api/v1/credits", headers={"Authorization": f"Bearer {platform.key}"})
    except httpx.HTTPError:
        return False
    return response.status_code == 200


async def kill(platform: Platform, name: str, signum: signal.Signals) -> None:
    os.kill(platform.pid(name), signum)


async def wait_processing(within_s: float = 10) -> None:
    """Until some job of the batch runs, so that the fault hits work in progress."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if await TryOnJob.find({"status": JobStatus.PROCESSING}).count():
            return
        await asyncio.sleep(0.05)


async def run_fault(platform: Platform, fault: Fault, jobs: int, deadline_s: float) -> Outcome:
    outcome = Outcome(fault.name)
    await platform.configure(fault.engine, fault.settings)
    started = time.time()
    accepted: list[str] = []
    async with httpx.AsyncClient(base_url=platform.base, timeout=30) as http:
        deadline = time.monotonic() + deadline_s
        first = await asyncio.gather(*(submit(http, platform, deadline) for _ in range(jobs // 2)))
        injected = time.monotonic()
        if fault.inject is not None:
            await wait_processing()
            injected = time.monotonic()
            await fault.inject(platform)
        second = await asyncio.gather(*(submit(http, platform, deadline) for _ in range(jobs - jobs // 2)))
        for job_id, status in [*first, *second]:
            if job_id is None:
                outcome.refused += 1
                outcome.notes.append(f"a submission ended with {status}")
            else:
                accepted.append(job_id)
        outcome.submitted = len(accepted)

        async def all_ended() -> bool:
            ids = [PydanticObjectId(i) for i in accepted]
            ended = await TryOnJob.find({"_id": {"$in": ids}, "status": {"$in": list(TERMINAL)}}).count()
            return bool(ended == len(ids))

        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):  # the database may still be restarting
                if await all_ended() and await api_answers(http, platform):
                    outcome.recover_s = round(time.monotonic() - injected, 1)
                    break
            await asyncio.sleep(0.5)
    await platform.db(lambda: audit(outcome, accepted, started))
    return outcome


async def audit(outcome: Outcome, accepted: list[str], since: float) -> None:
    """Count from the database: what ended how, and what the ledger says about each job."""
    outcome.completed = outcome.failed_refunded = outcome.lost = outcome.charged_twice = 0
    batch = await TryOnJob.find({"created_at": {"$gte": _utc(since - 1)}}).to_list()
    known = set(accepted)
    for job in batch:
        charges = await CreditTransaction.find({"kind": TransactionKind.USAGE, "job_ids": job.id}).to_list()
        refunds = await CreditTransaction.find({"reference": f"refund:{job.id}"}).to_list()
        charged = -sum(entry.amount for entry in charges)
        refunded = sum(entry.amount for entry in refunds)
        if len(charges) > 1 or refunded > charged:
            outcome.charged_twice += 1
            outcome.notes.append(f"job {job.id}: {len(charges)} charges, refunded {refunded} of {charged}")
        if str(job.id) not in known:
            # A job the caller never got the id of: it must not have cost anything.
            if charged > refunded:
                outcome.lost += 1
                outcome.notes.append(f"job {job.id} was charged but its request was never accepted")
            continue
        if job.status == JobStatus.COMPLETED:
            outcome.completed += 1
        elif job.status in (JobStatus.FAILED, JobStatus.CANCELED) and refunded == charged == job.credits_charged:
            outcome.failed_refunded += 1
        else:
            outcome.lost += 1
            outcome.notes.append(f"job {job.id} is {job.status.value}, refunded {refunded} of {charged}")
    missing = known - {str(job.id) for job in batch}
    outcome.lost += len(missing)
    outcome.notes += [f"accepted job {job_id} is not in the database" for job_id in sorted(missing)]


def _utc(epoch: float) -> Any:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC)


async def ledger_balanced(platform: Platform) -> bool:
    """The stored balance equals the sum of the ledger (credits are neither lost nor invented)."""
    user = await User.get(platform.account_id)
    assert user is not None
    entries = await CreditTransaction.find(CreditTransaction.account_id == platform.account_id).to_list()
    return sum(e.amount for e in entries) == user.free_daily_credits + user.purchased_credits


FAULTS = [
    Fault("worker killed (SIGKILL)", inject=lambda p: kill(p, "worker", signal.SIGKILL)),
    Fault("redis-server killed (SIGKILL)", inject=lambda p: kill(p, "redis", signal.SIGKILL)),
    Fault("database server restarted", inject=lambda p: kill(p, "mongo", signal.SIGTERM)),
    Fault("engine times out", engine="fault-hang", settings={"timeout_s": 5, "max_attempts": 2}),
    Fault("engine fails", engine="fault-fail"),
]


def report(outcomes: list[Outcome], balanced: bool) -> str:
    header = (
        f"{'fault':<32}{'submitted':>10}{'completed':>10}{'failed+refunded':>17}{'lost':>6}"
        f"{'charged twice':>15}{'recover s':>11}"
    )
    lines = ["", "Fault injection report (trailroom dev, real processes)", header, "-" * len(header)]
    for o in outcomes:
        recover = f"{o.recover_s:.1f}" if o.recover_s is not None else "NEVER"
        lines.append(
            f"{o.fault:<32}{o.submitted:>10}{o.completed:>10}{o.failed_refunded:>17}{o.lost:>6}"
            f"{o.charged_twice:>15}{recover:>11}"
        )
    lines.append(f"ledger balanced (balance = sum of entries): {'yes' if balanced else 'NO'}")
    for o in outcomes:
        lines += [f"  {o.fault}: {note}" for note in o.notes[:10]]
    ok = balanced and all(o.ok for o in outcomes)
    lines.append(
        "RESULT: PASS (nothing lost, nothing charged twice, every fault recovered without a person)"
        if ok
        else "RESULT: FAIL"
    )
    return "\n".join(lines)


async def main_async(platform: Platform, jobs: int, deadline_s: float) -> bool:
    load_engine_modules("fault_engine")  # the AI settings accept only engines this process knows
    await platform.connect()
    await platform.credits.add(
        platform.account_id, jobs * len(FAULTS) * 2, kind=TransactionKind.PURCHASE, description="faults.py batch"
    )
    outcomes = []
    for fault in FAULTS:
        outcome = await run_fault(platform, fault, jobs, deadline_s)
        print(
            f"{fault.name}: submitted {outcome.submitted}, completed {outcome.completed}, "
            f"failed+refunded {outcome.failed_refunded}, lost {outcome.lost}, "
            f"charged twice {outcome.charged_twice}, recovered in "
            f"{outcome.recover_s if outcome.recover_s is not None else 'NEVER'} s",
            flush=True,
        )
        outcomes.append(outcome)
    balanced = bool(await platform.db(lambda: ledger_balanced(platform)))
    print(report(outcomes, balanced), flush=True)
    await platform.mongo.close()
    return balanced and all(o.ok for o in outcomes)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", action="store_true", help="small batches (the form `make test` runs)")
    parser.add_argument("--jobs", type=int, help="try-ons per fault (default: 6 short, 30 long)")
    parser.add_argument("--deadline", type=float, default=90.0, help="seconds each fault may take to recover")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data folder and logs")
    args = parser.parse_args()
    jobs = args.jobs or (6 if args.short else 30)
    root = Path(tempfile.mkdtemp(prefix="trailroom-faults-"))
    platform = Platform(root)
    ok = False
    try:
        platform.start()
        print(
            f"trailroom dev is up at {platform.base} (data in {platform.data_dir}); {jobs} try-ons per fault",
            flush=True,
        )
        ok = asyncio.run(main_async(platform, jobs, args.deadline))
    finally:
        platform.stop()
        supervisor_lines = [line for line in platform.output().splitlines() if line.startswith("trailroom:")]
        if supervisor_lines:
            print("supervisor:\n  " + "\n  ".join(supervisor_lines[-20:]), flush=True)
        if args.keep or not ok:
            print(f"logs and data kept in {root}", flush=True)
        else:
            shutil.rmtree(root, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
