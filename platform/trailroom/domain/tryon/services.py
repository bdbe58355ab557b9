"""Try-ons, one module per part (`TryOnService` holds one of each, built once per process):

- `intake.py`: images, options, shopper caps, charging and creating jobs;
- `dispatch.py`: handing accepted attempts to the queue (outbox);
- `runner.py`: the worker's run of an attempt, retries;
- `lifecycle.py`: the allowed status changes and the one function that makes them (refunds, events);
- `access.py`: who reads which job, history, results and signed URLs, cancel and delete;
- `maintenance.py`: the sweeper and result retention.
"""

from __future__ import annotations

import httpx

from trailroom.core.blobs import BlobStore
from trailroom.domain.credits.services import CreditService
from trailroom.domain.prompts.services import PromptService
from trailroom.domain.runtime_config.services import RuntimeConfigService
from trailroom.domain.tryon.access import JobAccess
from trailroom.domain.tryon.dispatch import JobDispatch
from trailroom.domain.tryon.intake import TryOnIntake
from trailroom.domain.tryon.lifecycle import JobLifecycle
from trailroom.domain.tryon.maintenance import TryOnMaintenance
from trailroom.domain.tryon.runner import TryOnRunner
from trailroom.domain.tryon.shopper_ids import ShopperIds
from trailroom.resources import Resources


class TryOnService:
    def __init__(
        self,
        resources: Resources,
        credits: CreditService,
        config: RuntimeConfigService,
        prompts: PromptService,
        blobs: BlobStore,
        http: httpx.AsyncClient,
    ) -> None:
        self.resources = resources  # the status streams subscribe on its Redis
        secret = resources.settings.resolved_secret_key().encode()
        shopper_ids = ShopperIds(secret)
        self.blobs = blobs  # inputs and results
        self.lifecycle = JobLifecycle(resources, credits, blobs)
        self.dispatch = JobDispatch(resources, config)
        self.intake = TryOnIntake(resources, credits, config, blobs, http, self.lifecycle, self.dispatch, shopper_ids)
        self.jobs = JobAccess(blobs, self.lifecycle, shopper_ids, secret)
        self.runner = TryOnRunner(resources.settings, config, prompts, blobs, self.lifecycle, self.dispatch)
        self.maintenance = TryOnMaintenance(blobs, self.lifecycle, self.dispatch, self.runner)
