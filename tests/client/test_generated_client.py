"""A client generated from `/schema/openapi.json` (openapi-python-client, as a developer would make
one) calls the API as the document describes it: a try-on started with an uploaded multipart form
and one with JSON, each read back to completion; a refusal parsed as the documented Problem."""

from __future__ import annotations

import asyncio
import base64
import importlib
import io
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx

from tests.client.conftest import Merchant
from tests.conftest import running_workers
from tests.fakes.engines import ScriptedEngine
from trailroom.domain.services import Services

PACKAGE = "generated_trailroom"


def generate_client(spec: str, into: Path) -> None:
    (into / "openapi.json").write_text(spec)
    (into / "config.yaml").write_text("post_hooks: []\n")  # no formatter run over the generated code
    generator = Path(sys.executable).parent / "openapi-python-client"
    command = ["generate", "--path", "openapi.json", "--output-path", PACKAGE, "--meta", "none"]
    subprocess.run(
        [generator, *command, "--config", "config.yaml"],
        cwd=into,
        check=True,
        capture_output=True,
        timeout=180,
    )


def generated(name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.{name}")


async def test_a_client_generated_from_the_schema_starts_try_ons_and_reads_them(
    client: httpx.AsyncClient,
    base_url: str,
    merchant: Merchant,
    services: Services,
    use_scripted: ScriptedEngine,
    person_png: bytes,
    garment_png: bytes,
    tmp_path: Path,
) -> None:
    spec = (await client.get("/schema/openapi.json")).text
    await asyncio.to_thread(generate_client, spec, tmp_path)
    sys.path.insert(0, str(tmp_path))
    try:
        api_client = generated("client").AuthenticatedClient(base_url=base_url, token=merchant.secret_key)
        create = generated("api.try_on.api_v1_tryon_create")
        status = generated("api.try_on.api_v1_tryon_job_id_status")
        models = generated("models")
        file_type = generated("types").File

        form = models.ApiV1TryonCreateFilesTryOnRequestMultipart(
            mode=models.ApiV1TryonCreateFilesTryOnRequestMultipartMode.TOP,
            person_image=file_type(payload=io.BytesIO(person_png), file_name="person.png", mime_type="image/png"),
            garment_image=file_type(payload=io.BytesIO(garment_png), file_name="garment.png", mime_type="image/png"),
            samples=2,
        )
        uploaded = await create.asyncio_detailed(client=api_client, body=form)
        assert uploaded.status_code == 202, uploaded.content
        assert isinstance(uploaded.parsed, models.TryOnJobResponse)
        assert (uploaded.parsed.status, uploaded.parsed.samples, uploaded.parsed.credits_charged) == ("queued", 2, 2)

        as_json = models.TryOnRequest(
            mode=models.TryOnRequestMode.TOP,
            person_image="data:image/png;base64," + base64.b64encode(person_png).decode(),
            garment_image=base64.b64encode(garment_png).decode(),
        )
        sent_json = await create.asyncio_detailed(client=api_client, body=as_json, idempotency_key="generated-1")
        assert sent_json.status_code == 202, sent_json.content
        assert sent_json.parsed.mode == "top"

        async with running_workers(services):
            for job in (uploaded.parsed, sent_json.parsed):
                done: Any = None
                for _ in range(600):
                    done = (await status.asyncio_detailed(job.id, client=api_client)).parsed
                    if done.status in ("completed", "failed"):
                        break
                    await asyncio.sleep(0.05)
                assert done.status == "completed"
                assert len(done.links.results) == job.samples

        # A refusal is the documented Problem, with its code and request id.
        refused = await create.asyncio_detailed(
            client=api_client,
            body=models.TryOnRequest(mode=models.TryOnRequestMode.FULL, person_image="x", garment_image="y"),
        )
        assert refused.status_code == 422
        assert isinstance(refused.parsed, models.Problem)
        assert refused.parsed.code in ("missing_image", "image_not_decodable", "unsupported_image_type")
        assert refused.parsed.request_id == refused.headers["x-request-id"]
    finally:
        sys.path.remove(str(tmp_path))
        for module in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[module]
