"""No credit overspend: 500 concurrent submissions against an account holding 100 credits."""

from __future__ import annotations

import asyncio
import base64
from collections import Counter

import httpx

from tests.helpers import Account
from tests.test_credits import assert_ledger_matches
from tests.tryon.conftest import fund, small_png
from trailroom.domain.accounts.models import User
from trailroom.domain.credits.models import CreditTransaction, TransactionKind
from trailroom.domain.services import Services
from trailroom.domain.tryon.models import TryOnJob

SUBMISSIONS = 500
CREDITS = 100


async def test_500_concurrent_submissions_accept_exactly_100(
    client: httpx.AsyncClient, services: Services, account: Account
) -> None:
    user = await fund(services, account, CREDITS - 3)  # plus the 3 free credits of the day
    await User.find_one(User.id == user.id).update({"$set": {"max_jobs_in_flight": 10_000}})
    body = {
        "mode": "top",
        "person_image": base64.b64encode(small_png((80, 80, 80))).decode(),
        "garment_image": base64.b64encode(small_png((10, 20, 200))).decode(),
    }
    limits = httpx.Limits(max_connections=SUBMISSIONS, max_keepalive_connections=SUBMISSIONS)
    async with httpx.AsyncClient(base_url=str(client.base_url), limits=limits, timeout=300) as burst:
        responses = await asyncio.gather(
            *(burst.post("/api/v1/tryon", headers=account.auth, json=body) for _ in range(SUBMISSIONS))
        )
    codes = Counter(r.status_code for r in responses)
    assert codes == {202: CREDITS, 402: SUBMISSIONS - CREDITS}, codes
    assert {r.json()["code"] for r in responses if r.status_code == 402} == {"out_of_credits"}
    assert await TryOnJob.find(TryOnJob.account_id == user.id).count() == CREDITS
    usage = await CreditTransaction.find(
        CreditTransaction.account_id == user.id, CreditTransaction.kind == TransactionKind.USAGE
    ).count()
    assert usage == CREDITS
    assert await assert_ledger_matches(user.id) == 0  # type: ignore[arg-type]
    balance = (await client.get("/api/v1/credits", headers=account.auth)).json()
    assert balance["balance"] == 0
