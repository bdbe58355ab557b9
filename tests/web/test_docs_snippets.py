"""The guides' code examples run as shown.

Fences marked `run` (```` ```bash run expect="…" ````) are executed in order, as subprocesses
(bash with curl and jq, the project's Python, Node.js), against the live test server with a real
secret key, a worker and the scripted engine; each must exit 0 and print its `expect` text. The
only changes are the server's address (the guides say http://127.0.0.1:8000) and the key, given
as `$TRAILROOM_KEY` exactly as the guides tell readers to export it. The webhook verification
examples are checked against deliveries signed the way the platform signs them.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import running_workers
from tests.fakes.engines import ScriptedEngine
from tests.helpers import new_key, signed_up
from tests.tryon.conftest import fund, scripted, use_scripted  # noqa: F401 - fixtures for these tests
from trailroom.domain.services import Services
from trailroom.domain.webhooks.messages import new_secret, new_webhook_id, sign
from trailroom.web.docs import Snippet, default_library

REPO = Path(__file__).resolve().parents[2]
DOCS_BASE_URL = "http://127.0.0.1:8000"
RUNNERS = {
    "bash": ["bash", "-eo", "pipefail", "-c"],
    "python": [sys.executable, "-c"],
    "javascript": ["node", "--input-type=module", "-e"],
}
SNIPPET_TIMEOUT_S = 90
PNG = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A folder like the repository's top, as the guides assume: `tests/data/` holds the sample photos."""
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "data").symlink_to(REPO / "tests" / "data", target_is_directory=True)
    return tmp_path


async def run(command: list[str], code: str, *, cwd: Path, env: dict[str, str]) -> Ran:
    process = await asyncio.create_subprocess_exec(
        *command,
        code,
        cwd=cwd,
        env={"PATH": os.environ["PATH"], "HOME": str(cwd), "LANG": "C.UTF-8", **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), SNIPPET_TIMEOUT_S)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    return Ran(process.returncode or 0, stdout.decode(), stderr.decode())


async def run_snippet(snippet: Snippet, *, base_url: str, key: str, cwd: Path) -> Ran:
    code = snippet.code.replace(DOCS_BASE_URL, base_url)
    return await run(RUNNERS[snippet.language], code, cwd=cwd, env={"TRAILROOM_KEY": key})


def runnable(slug: str) -> list[Snippet]:
    guide = default_library().get(slug)
    assert guide is not None
    return [snippet for snippet in guide.snippets if snippet.runnable]


@pytest.mark.parametrize("slug", ["getting-started", "authentication", "try-on", "credits", "errors"])
async def test_the_guides_runnable_examples_run_as_shown(
    slug: str,
    client: httpx.AsyncClient,
    services: Services,
    base_url: str,
    workdir: Path,
    use_scripted: ScriptedEngine,  # noqa: F811 - the fixture imported above
) -> None:
    snippets = runnable(slug)
    assert snippets, f"{slug} has no runnable examples"
    account = await signed_up(client, "snippets@example.com")
    await fund(services, account, 50)
    key = (await new_key(client, account))["key"]
    async with running_workers(services):
        for snippet in snippets:
            assert snippet.language in RUNNERS, snippet.language
            expect = snippet.flags.get("expect")
            assert expect, f"a runnable example in {slug} says nothing about its output:\n{snippet.code}"
            ran = await run_snippet(snippet, base_url=base_url, key=key, cwd=workdir)
            failure = (
                f"{slug} example failed ({ran.returncode}):\n{snippet.code}\n"
                f"--- stdout\n{ran.stdout}\n--- stderr\n{ran.stderr}"
            )
            assert ran.returncode == 0, failure
            assert expect.lower() in ran.stdout.lower(), failure
    if slug == "getting-started":
        # The curl example saved the result image; the client example wrote result-0.png.
        assert (workdir / "result.png").read_bytes().startswith(PNG)
        assert (workdir / "result-0.png").read_bytes().startswith(PNG)


def signed_delivery(secret: str, payload: dict[str, Any], *, at: int | None = None) -> tuple[str, dict[str, str]]:
    body = json.dumps(payload, separators=(",", ":"))
    webhook_id, timestamp = new_webhook_id(), at or int(time.time())
    headers = {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, webhook_id, timestamp, body),
    }
    return body, headers


def example(slug: str, check: str) -> Snippet:
    guide = default_library().get(slug)
    assert guide is not None
    return next(snippet for snippet in guide.snippets if snippet.flags.get("check") == check)


EVENT = {
    "type": "tryon.completed",
    "timestamp": "2026-11-25T10:15:04Z",
    "data": {"tryon_id": "6744d1f0c2a4b81d9e0f1234"},
}


async def test_the_node_webhook_verifier_accepts_signed_deliveries_and_refuses_others(tmp_path: Path) -> None:
    (tmp_path / "verify-webhook.mjs").write_text(example("webhooks", "webhook-verify").code)
    secret = new_secret()
    body, headers = signed_delivery(secret, EVENT)
    _, stale = signed_delivery(secret, EVENT, at=int(time.time()) - 600)
    cases = {
        "signed": (body, headers),
        "tampered": (body.replace("6744", "9999"), headers),
        "other secret": (body, signed_delivery(new_secret(), EVENT)[1] | {"webhook-id": headers["webhook-id"]}),
        "stale": (body, stale),
        "unsigned": (body, {k: v for k, v in headers.items() if k != "webhook-signature"}),
    }
    harness = """
import { verifyWebhook } from "./verify-webhook.mjs";
const cases = JSON.parse(process.env.CASES);
for (const [name, [body, headers]] of Object.entries(cases)) {
  try {
    const event = verifyWebhook(body, headers, process.env.SECRET);
    console.log(`${name}: ok ${event.type} ${event.data.tryon_id}`);
  } catch (error) {
    console.log(`${name}: refused (${error.message})`);
  }
}
"""
    ran = await run(RUNNERS["javascript"], harness, cwd=tmp_path, env={"CASES": json.dumps(cases), "SECRET": secret})
    assert ran.returncode == 0, ran.stderr
    lines = dict(line.split(": ", 1) for line in ran.stdout.strip().splitlines())
    assert lines["signed"] == "ok tryon.completed 6744d1f0c2a4b81d9e0f1234"
    assert lines["tampered"] == "refused (invalid signature)"
    assert lines["other secret"] == "refused (invalid signature)"
    assert lines["stale"] == "refused (timestamp too old or new)"
    assert lines["unsigned"] == "refused (missing webhook headers)"


async def test_the_flask_webhook_example_answers_204_signed_and_400_forged(tmp_path: Path) -> None:
    secret = new_secret()
    code = example("webhooks", "flask-webhook").code.replace('"whsec_..."', repr(secret))
    namespace: dict[str, Any] = {"__name__": "flask_webhook_example"}
    exec(compile(code, "webhooks.md (Flask example)", "exec"), namespace)  # the guide's own example, as printed
    http = namespace["app"].test_client()
    body, headers = signed_delivery(secret, EVENT)
    answer = http.post("/hooks/trailroom", data=body, headers=headers, content_type="application/json")
    assert answer.status_code == 204
    forged = http.post(
        "/hooks/trailroom", data=body.replace("completed", "failed"), headers=headers, content_type="application/json"
    )
    assert forged.status_code == 400
