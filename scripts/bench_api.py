"""Benchmark: API-key authenticated `GET /api/v1/credits` against a bare Litestar JSON route.

Both are served the same way (uvicorn + uvloop + httptools, one process) and loaded by `wrk`
(Debian package) with 50 connections on loopback. Targets from the brief: at least 40% of the bare
route's requests/s, and p99 under 25 ms. Uses the embedded SecantusDB and redis-server.

It also prints each server's CPU time per request (from /proc): on a machine shared with other work
requests/s swing with the load, while CPU per request stays put, so the CPU ratio is the steadier
estimate of the requests/s ratio on a dedicated core.

Usage: .venv/bin/python scripts/bench_api.py [--seconds 10] [--connections 50]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from trailroom.core.config import Settings
from trailroom.domain.accounts.models import ApiKeyKind
from trailroom.domain.services import open_services
from trailroom.embedded.process import free_port
from trailroom.embedded.services import start_mongo, start_redis
from trailroom.resources import open_resources

BARE_APP = """
from litestar import Litestar, get

@get("/api/v1/credits")
async def credits() -> dict[str, object]:
    return {"balance": 3, "free_daily_remaining": 3, "free_daily_allowance": 3, "purchased": 0,
            "free_resets_at": "2026-11-25T00:00:00Z", "costs": {"top": 1, "bottom": 1, "dress": 1, "full": 2}}

app = Litestar([credits])
"""


async def seed(settings: Settings) -> str:
    async with open_resources(settings) as resources, open_services(resources) as services:
        user = await services.accounts.create_user(email="bench@example.com", password=None, name="Bench")
        _, key = await services.api_keys.generate(user, name="bench", kind=ApiKeyKind.SECRET, allowed_origins=[])
        return key


def wait_for(url: str, headers: dict[str, str] | None = None) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, headers=headers, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer")


def run_wrk(url: str, seconds: int, connections: int, headers: dict[str, str]) -> tuple[float, float, float]:
    """requests/s, median and p99 latency in ms."""
    args = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    for name, value in headers.items():
        args[1:1] = ["-H", f"{name}: {value}"]
    output = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]

    def percentile(name: str) -> float:
        value, unit = re.search(rf"\s{name}%\s+([\d.]+)(us|ms|s)", output).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    if "Non-2xx" in output:
        raise SystemExit(f"wrk saw errors:\n{output}")
    return rps, percentile("50"), percentile("99")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(pid: int, url: str, seconds: int, connections: int, headers: dict[str, str]) -> tuple[float, ...]:
    """requests/s, p50 ms, p99 ms, and the server's CPU microseconds per request."""
    before = cpu_seconds(pid)
    rps, p50, p99 = run_wrk(url, seconds, connections, headers)
    return rps, p50, p99, (cpu_seconds(pid) - before) / (rps * seconds) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    with tempfile.TemporaryDirectory(prefix="trailroom-bench-") as tmp:
        data = Path(tmp)
        mongo, redis = start_mongo(data), start_redis(data, persist=False)
        children: list[subprocess.Popen[bytes]] = []
        try:
            env = {
                **os.environ,
                "TRAILROOM_MONGODB_URI": mongo.uri,
                "TRAILROOM_REDIS_URL": redis.url,
                "TRAILROOM_DATA_DIR": str(data),
                "TRAILROOM_LOG_LEVEL": "WARNING",
                "TRAILROOM_SECRET_KEY": "bench-secret-key-long-enough-for-hs256-signing-ok",
                "TRAILROOM_API_KEY_REQUESTS_PER_MINUTE": "100000000",
            }
            key = asyncio.run(
                seed(
                    Settings(
                        _env_file=None,
                        mongodb_uri=mongo.uri,
                        redis_url=redis.url,
                        data_dir=data,
                        secret_key=env["TRAILROOM_SECRET_KEY"],
                    )
                )
            )
            (data / "bare_app.py").write_text(BARE_APP)
            bare_port, api_port = free_port(), free_port()
            children.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "uvicorn",
                        "bare_app:app",
                        "--port",
                        str(bare_port),
                        "--loop",
                        "uvloop",
                        "--http",
                        "httptools",
                        "--no-access-log",
                        "--log-level",
                        "warning",
                    ],
                    cwd=data,
                )
            )
            children.append(
                subprocess.Popen(
                    [sys.executable, "-m", "trailroom", "api"], env={**env, "TRAILROOM_PORT": str(api_port)}
                )
            )
            auth = {"Authorization": f"Bearer {key}"}
            wait_for(f"http://127.0.0.1:{bare_port}/api/v1/credits")
            wait_for(f"http://127.0.0.1:{api_port}/api/v1/credits", auth)
            bare_pid, api_pid = children[0].pid, children[1].pid
            load = (args.seconds, args.connections)
            bare = measured(bare_pid, f"http://127.0.0.1:{bare_port}/api/v1/credits", *load, {})
            ours = measured(api_pid, f"http://127.0.0.1:{api_port}/api/v1/credits", *load, auth)
        finally:
            for child in children:
                child.terminate()
                child.wait(10)
            redis.stop()
            mongo.stop()
    line = "{:<22}{:8.0f} req/s   p50 {:6.2f} ms   p99 {:6.2f} ms   CPU {:6.0f} us/request"
    print(line.format("bare Litestar route", *bare))
    print(line.format("GET /api/v1/credits", *ours) + f"   (API key, {args.connections} connections)")
    print(f"ratio by requests/s    {ours[0] / bare[0]:8.0%}   (target >= 40%, p99 < 25 ms)")
    print(f"ratio by CPU/request   {bare[3] / ours[3]:8.0%}   (the same ratio on a dedicated core)")


if __name__ == "__main__":
    main()
