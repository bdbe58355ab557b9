"""The `trailroom` command end to end: real subprocesses, real SecantusDB and redis-server, real HTTP.

Each test runs the CLI as a child process with its own data folder and API port, in a clean
environment (no TRAILROOM_* variables, no PYTHONUNBUFFERED, cwd without a `.env`), and always stops
every process it caused to start, whatever happens.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from pymongo import MongoClient

from trailroom.embedded.process import free_port
from trailroom.embedded.services import EmbeddedMongo, EmbeddedRedis
from trailroom.seed import DEMO_STARTER_CREDITS

CHILDREN = ("api", "worker", "mongo", "redis")
START_TIMEOUT = 60.0


def cli_env(data_dir: Path, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAILROOM_") and k != "PYTHONUNBUFFERED"}
    env["TRAILROOM_DATA_DIR"] = str(data_dir)
    env["TRAILROOM_PORT"] = str(port)
    env.update(extra)
    return env


@dataclass(frozen=True)
class Proc:
    """A process identified by pid and start time, so a reused pid is never mistaken for it."""

    pid: int
    start_time: str

    @classmethod
    def of(cls, pid: int) -> Proc:
        return cls(pid, _stat(pid)[19])

    @property
    def alive(self) -> bool:
        try:
            fields = _stat(self.pid)
        except OSError:
            return False
        # A zombie has exited; whether anyone has reaped it yet is not ours to judge.
        return fields[19] == self.start_time and fields[0] != "Z"

    @property
    def cmdline(self) -> list[str]:
        raw = Path(f"/proc/{self.pid}/cmdline").read_bytes()
        return [part.decode() for part in raw.split(b"\0") if part]

    @property
    def ppid(self) -> int:
        return int(_stat(self.pid)[1])


def _stat(pid: int) -> list[str]:
    # Fields after "pid (comm)": state is [0], ppid [1], starttime [19].
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def wait_gone(procs: list[Proc], timeout: float) -> list[Proc]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = [proc for proc in procs if proc.alive]
        if not left:
            return []
        time.sleep(0.1)
    return [proc for proc in procs if proc.alive]


@dataclass
class Dev:
    """One `trailroom dev` supervisor started by a test, with its output in files."""

    data_dir: Path
    port: int
    logs: Path
    popen: subprocess.Popen[bytes] | None = None
    seen: set[Proc] = field(default_factory=set)

    def start(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        with (self.logs / "out.txt").open("wb") as out, (self.logs / "err.txt").open("wb") as err:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "trailroom", "dev"],
                cwd=self.logs,
                env=cli_env(self.data_dir, self.port),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )

    @property
    def stdout(self) -> str:
        return (self.logs / "out.txt").read_text(errors="replace")

    @property
    def stderr(self) -> str:
        return (self.logs / "err.txt").read_text(errors="replace")

    @property
    def proc(self) -> subprocess.Popen[bytes]:
        assert self.popen is not None
        return self.popen

    def wait_banner(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if "Press Ctrl-C to stop." in self.stdout:
                return self.stdout
            if self.proc.poll() is not None:
                pytest.fail(f"trailroom dev exited with {self.proc.returncode}:\n{self.stdout}\n{self.stderr}")
            time.sleep(0.1)
        pytest.fail(f"no banner within {START_TIMEOUT:.0f} s:\n{self.stdout}\n{self.stderr[-3000:]}")

    def children(self) -> dict[str, Proc]:
        """The API, worker, database and Redis processes, from the pid files of this data folder."""
        found = {}
        for name in CHILDREN:
            pid = int((self.data_dir / "run" / f"{name}.pid").read_text())
            found[name] = Proc.of(pid)
        self.seen.update(found.values())
        return found

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def cleanup(self) -> None:
        """Stop the supervisor (Ctrl-C, then SIGKILL) and anything it left behind."""
        # Children never looked at (a test that failed early) still go, if this data folder is theirs.
        marks = {f"TRAILROOM_DATA_DIR={path}".encode() for path in (self.data_dir, self.data_dir.resolve())}
        for pid_file in (self.data_dir / "run").glob("*.pid"):
            with contextlib.suppress(OSError, ValueError):
                pid = int(pid_file.read_text())
                environ = set(Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"))
                # redis-server overwrites its environment with its title, but works in its --dir.
                cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
                if marks & environ or cwd.is_relative_to(self.data_dir.resolve()):
                    self.seen.add(Proc.of(pid))
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGINT)
            try:
                self.popen.wait(30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        for proc in wait_gone(list(self.seen), timeout=5):
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)


@pytest.fixture
def dev_factory() -> Iterator[list[Dev]]:
    started: list[Dev] = []
    try:
        yield started
    finally:
        for dev in reversed(started):
            dev.cleanup()


def new_dev(started: list[Dev], data_dir: Path, port: int, logs: Path) -> Dev:
    dev = Dev(data_dir=data_dir, port=port, logs=logs)
    started.append(dev)
    dev.start()
    return dev


def mongo_port(proc: Proc) -> int:
    argv = proc.cmdline
    return int(argv[argv.index("--port") + 1])


def redis_port(proc: Proc) -> int:
    # redis-server rewrites its title to "redis-server 127.0.0.1:<port>".
    match = re.search(r"127\.0\.0\.1:(\d+)", " ".join(proc.cmdline))
    assert match, proc.cmdline
    return int(match.group(1))


def port_listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def assert_is_child_of(children: dict[str, Proc], supervisor: int, data_dir: Path) -> None:
    for name, proc in children.items():
        assert proc.alive, name
        assert proc.ppid == supervisor, (name, proc.ppid)
    assert children["api"].cmdline[-3:] == ["-m", "trailroom", "api"]
    assert children["worker"].cmdline[-3:] == ["-m", "trailroom", "worker"]
    mongo_argv = children["mongo"].cmdline
    assert any(part.endswith("secantusd-py") for part in mongo_argv), mongo_argv
    assert str((data_dir / "mongo").resolve()) in mongo_argv
    assert "redis-server" in " ".join(children["redis"].cmdline)


def test_dev_runs_everything_refuses_a_second_and_stops_on_ctrl_c(tmp_path: Path, dev_factory: list[Dev]) -> None:
    data_dir = tmp_path / "data"
    dev = new_dev(dev_factory, data_dir, free_port(), tmp_path / "first")

    banner = dev.wait_banner()
    # The banner is flushed at once, even when stdout is a file or a pipe.
    assert "TrailRoom is running" in banner
    assert f"http://127.0.0.1:{dev.port}/schema" in banner
    assert f"http://127.0.0.1:{dev.port}/docs" in banner
    assert f"http://127.0.0.1:{dev.port}/app" in banner
    assert f"http://127.0.0.1:{dev.port}/healthz" in banner
    assert f"http://127.0.0.1:{dev.port}/readyz" in banner
    assert str(data_dir.resolve()) in banner

    assert httpx.get(dev.url("/healthz"), timeout=5).status_code == 200
    ready = httpx.get(dev.url("/readyz"), timeout=5)
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"mongodb": "ok", "redis": "ok"}

    children = dev.children()
    assert_is_child_of(children, dev.proc.pid, data_dir)
    assert port_listening(mongo_port(children["mongo"]))
    with redis.Redis(port=redis_port(children["redis"]), socket_timeout=5) as cache:
        assert cache.ping()

    # The demo secret key the banner prints works against the running API.
    try_it = re.search(r"Bearer (\S+)' (http://\S+)", banner)
    assert try_it, banner
    me = httpx.get(try_it.group(2), headers={"Authorization": f"Bearer {try_it.group(1)}"}, timeout=10)
    assert me.status_code == 200, me.text
    assert me.json()["purchased"] == DEMO_STARTER_CREDITS  # the demo account starts with some credits

    # The demo store the banner names embeds the widget with the seeded publishable key.
    assert f"http://127.0.0.1:{dev.port}/demo/store" in banner
    product = httpx.get(dev.url("/demo/store/oxford-shirt"), timeout=10)
    assert product.status_code == 200
    key = re.search(r'publishable-key="(tr_pk_[^"]+)"', product.text)
    assert key, product.text
    assert (data_dir / "demo.json").stat().st_mode & 0o777 == 0o600

    # A second `trailroom dev` on the same data folder is refused at once, in one line.
    started = time.monotonic()
    second = subprocess.run(
        [sys.executable, "-m", "trailroom", "dev"],
        cwd=tmp_path,
        env=cli_env(data_dir, free_port()),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert time.monotonic() - started < 20
    assert second.returncode != 0
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1, second.stderr
    assert lines[0].startswith("trailroom:")
    assert "already running" in lines[0]
    assert f"pid {dev.proc.pid}" in lines[0]
    assert "Traceback" not in second.stderr + second.stdout

    # ...and the first one is untouched.
    assert dev.proc.poll() is None
    assert all(proc.alive for proc in children.values())
    assert httpx.get(dev.url("/readyz"), timeout=5).status_code == 200

    # Ctrl-C stops everything.
    dev.proc.send_signal(signal.SIGINT)
    assert dev.proc.wait(timeout=30) == 0
    assert wait_gone(list(children.values()), timeout=2) == []
    assert not port_listening(dev.port)
    assert sorted(path.name for path in (data_dir / "run").glob("*.pid")) == []


def test_dev_recovers_from_a_killed_supervisor_and_keeps_data(tmp_path: Path, dev_factory: list[Dev]) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    first = new_dev(dev_factory, data_dir, port, tmp_path / "first")
    first.wait_banner()
    children = first.children()
    token = secrets.token_hex(8)

    mongo_uri = f"mongodb://127.0.0.1:{mongo_port(children['mongo'])}/?directConnection=true"
    with MongoClient[dict[str, Any]](mongo_uri, serverSelectionTimeoutMS=5000) as mongo:
        mongo.e2e_probe.crash.insert_one({"_id": "before-crash", "token": token})
    with redis.Redis(port=redis_port(children["redis"]), socket_timeout=5) as cache:
        cache.set("e2e:before-crash", token)

    first.proc.kill()
    first.proc.wait(timeout=10)
    # The kernel's parent-death signal takes the children down with the supervisor.
    assert wait_gone(list(children.values()), timeout=20) == [], "children outlived a killed supervisor"

    second = new_dev(dev_factory, data_dir, port, tmp_path / "second")
    second.wait_banner()
    assert httpx.get(second.url("/readyz"), timeout=5).status_code == 200
    again = second.children()
    assert_is_child_of(again, second.proc.pid, data_dir)
    assert set(again.values()).isdisjoint(children.values())

    mongo_uri = f"mongodb://127.0.0.1:{mongo_port(again['mongo'])}/?directConnection=true"
    with MongoClient[dict[str, Any]](mongo_uri, serverSelectionTimeoutMS=5000) as mongo:
        assert mongo.e2e_probe.crash.find_one({"_id": "before-crash"}) == {"_id": "before-crash", "token": token}
    with redis.Redis(port=redis_port(again["redis"]), socket_timeout=5) as cache:
        assert cache.get("e2e:before-crash") == token.encode()
    # The demo's starter credits were granted once, not again on the second start.
    try_it = re.search(r"Bearer (\S+)' (http://\S+)", second.wait_banner())
    assert try_it
    balance = httpx.get(try_it.group(2), headers={"Authorization": f"Bearer {try_it.group(1)}"}, timeout=10)
    assert balance.json()["purchased"] == DEMO_STARTER_CREDITS

    second.proc.send_signal(signal.SIGINT)
    assert second.proc.wait(timeout=30) == 0
    assert wait_gone(list(again.values()), timeout=2) == []


@dataclass
class Case:
    """One misconfiguration: the command, its extra environment and what its one-line message must say."""

    name: str
    command: str
    env: dict[str, str]
    needles: tuple[str, ...]
    port: int | None = None


@dataclass
class Outcome:
    result: subprocess.CompletedProcess[str]
    elapsed: float


def run_case(case: Case, folder: Path) -> Outcome:
    folder.mkdir()
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "trailroom", case.command],
        cwd=folder,
        env=cli_env(folder / "data", case.port or free_port(), **case.env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return Outcome(result, time.monotonic() - started)


def one_line_problems(case: Case, outcome: Outcome) -> list[str]:
    result, problems = outcome.result, []
    output = result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    if result.returncode == 0:
        problems.append("exited 0")
    # About 6 s alone on an idle 2-core machine (imports, then the CLI's 3 s server-selection timeout).
    # The bound leaves room for two at once on a loaded machine, and still fails if the check falls
    # back to pymongo's 30 s server-selection default; a hang hits the subprocess timeout.
    if outcome.elapsed > 25:
        problems.append(f"took {outcome.elapsed:.1f} s")
    if "Traceback" in output:
        problems.append("printed a traceback")
    if len(lines) != 1:
        problems.append(f"{len(lines)} lines on stderr")
    elif not lines[0].startswith("trailroom:"):
        problems.append("the line does not start with 'trailroom:'")
    problems += [f"no {needle!r}" for needle in case.needles if needle not in result.stderr]
    return [f"trailroom {case.command} ({case.name}): {problem}\n{output}" for problem in problems]


def test_misconfigured_commands_fail_fast_in_one_line(
    tmp_path: Path, embedded_mongo: EmbeddedMongo, embedded_redis: EmbeddedRedis
) -> None:
    closed_mongo = f"mongodb://127.0.0.1:{free_port()}/?directConnection=true"
    closed_redis = f"redis://127.0.0.1:{free_port()}/0"
    real = {"TRAILROOM_MONGODB_URI": embedded_mongo.uri, "TRAILROOM_REDIS_URL": embedded_redis.url}
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        busy_port = busy.getsockname()[1]
        cases = [
            *(
                Case(
                    "MongoDB unreachable",
                    command,
                    {"TRAILROOM_MONGODB_URI": closed_mongo, "TRAILROOM_REDIS_URL": closed_redis},
                    ("MongoDB", "TRAILROOM_MONGODB_URI", closed_mongo),
                )
                for command in ("api", "worker")
            ),
            *(
                Case(
                    "Redis unreachable",
                    command,
                    {**real, "TRAILROOM_REDIS_URL": closed_redis},
                    ("Redis", "TRAILROOM_REDIS_URL"),
                )
                for command in ("api", "worker")
            ),
            *(
                Case("no URLs", command, {}, ("TRAILROOM_MONGODB_URI", "TRAILROOM_REDIS_URL", "trailroom dev"))
                for command in ("api", "worker")
            ),
            Case("busy port", "dev", {}, ("already in use", str(busy_port), "TRAILROOM_PORT"), busy_port),
            Case("busy port", "api", real, ("already in use", str(busy_port), "TRAILROOM_PORT"), busy_port),
        ]
        with ThreadPoolExecutor(max_workers=2) as pool:
            outcomes = list(pool.map(run_case, cases, [tmp_path / f"case{index}" for index in range(len(cases))]))

    problems = [
        problem for case, outcome in zip(cases, outcomes, strict=True) for problem in one_line_problems(case, outcome)
    ]
    assert problems == []
    # `trailroom dev` gave up on the busy port before starting any embedded server.
    dev_case = next(index for index, case in enumerate(cases) if case.command == "dev")
    assert list((tmp_path / f"case{dev_case}" / "data" / "run").glob("*.pid")) == []
