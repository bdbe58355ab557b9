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
from trailroom.embedded.services import EmbeddedMongo, EmbeddedRedis, start_redis
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


def demo_key(banner: str) -> str:
    found = re.search(r"Bearer (tr_sk_\S+)'", banner)
    assert found, banner
    return found.group(1)


def wait_for_line(dev: Dev, needle: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in dev.stdout.splitlines():
            if needle in line:
                return line
        time.sleep(0.1)
    pytest.fail(f"no line with {needle!r} within {timeout:.0f} s:\n{dev.stdout[-3000:]}\n{dev.stderr[-3000:]}")


def restarted(dev: Dev, name: str, old: Proc, timeout: float = 30) -> Proc:
    """The new process of `name` once the supervisor has started it again in place of `old`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError, IndexError):
            new = Proc.of(int((dev.data_dir / "run" / f"{name}.pid").read_text()))
            if new != old and new.alive:
                dev.seen.add(new)
                return new
        time.sleep(0.1)
    pytest.fail(f"{name} was not restarted within {timeout:.0f} s:\n{dev.stdout[-3000:]}")


def try_on_finishes(dev: Dev, key: str, timeout: float = 60) -> dict[str, Any]:
    """Submit a try-on with the demo key (retrying while the platform says 503) and wait until it ends."""
    files = {
        "person_image": ("studio_1.png", (REPO_DATA / "people" / "studio_1.png").read_bytes()),
        "garment_image": ("top_1.jpg", (REPO_DATA / "garments" / "top_1.jpg").read_bytes()),
    }
    auth = {"Authorization": f"Bearer {key}"}
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.post(dev.url("/api/v1/tryon"), headers=auth, data={"mode": "top"}, files=files, timeout=30)
        if response.status_code != 503 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    while time.monotonic() < deadline:
        job = httpx.get(dev.url(f"/api/v1/tryon/{job_id}"), headers=auth, timeout=10)
        if job.status_code == 200 and job.json()["status"] in ("completed", "failed"):
            body: dict[str, Any] = job.json()
            return body
        time.sleep(0.3)
    pytest.fail(f"try-on {job_id} did not finish within {timeout:.0f} s:\n{dev.stdout[-3000:]}")


REPO_DATA = Path(__file__).resolve().parent / "data"


def test_dev_restarts_a_killed_worker_and_redis_and_the_product_answers_again(
    tmp_path: Path, dev_factory: list[Dev]
) -> None:
    dev = new_dev(dev_factory, tmp_path / "data", free_port(), tmp_path / "logs")
    key = demo_key(dev.wait_banner())
    children = dev.children()

    # kill -9 of the worker: the supervisor says so, starts another, and try-ons run again.
    os.kill(children["worker"].pid, signal.SIGKILL)
    line = wait_for_line(dev, "trailroom worker exited")
    assert "SIGKILL" in line
    assert "restarting it in" in line
    worker = restarted(dev, "worker", children["worker"])
    assert worker.ppid == dev.proc.pid
    assert try_on_finishes(dev, key)["status"] == "completed"

    # kill -9 of redis-server: reaped (no zombie), started again on its port, the API answers again.
    old_redis = children["redis"]
    old_port = redis_port(old_redis)
    os.kill(old_redis.pid, signal.SIGKILL)
    line = wait_for_line(dev, "redis-server exited")
    assert "SIGKILL" in line
    new_redis = restarted(dev, "redis", old_redis)
    wait_for_line(dev, "redis-server restarted")
    assert redis_port(new_redis) == old_port
    assert not Path(f"/proc/{old_redis.pid}").exists() or Proc.of(old_redis.pid) != old_redis, "zombie left"
    auth = {"Authorization": f"Bearer {key}"}
    deadline = time.monotonic() + 20
    while httpx.get(dev.url("/api/v1/credits"), headers=auth, timeout=10).status_code != 200:
        assert time.monotonic() < deadline, "the API did not answer again after Redis came back"
        time.sleep(0.3)
    assert try_on_finishes(dev, key)["status"] == "completed"
    # Nothing else was restarted, and the supervisor still runs.
    assert dev.proc.poll() is None
    assert dev.children()["api"] == children["api"]
    assert dev.children()["mongo"] == children["mongo"]


def write_long_aof(redis_dir: Path, commands: int = 300_000) -> int:
    """An append-only file as a crashed Redis without rewrites leaves it: long, never compacted."""
    redis_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server = subprocess.Popen(
        [
            *[str(Path(sys.executable).parent / "redis-server")],
            *("--port", str(port), "--bind", "127.0.0.1", "--dir", str(redis_dir), "--save", ""),
            *("--appendonly", "yes", "--auto-aof-rewrite-percentage", "0", "--aof-use-rdb-preamble", "no"),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not port_listening(port):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        with redis.Redis(port=port) as cache:
            for batch in range(commands // 10_000):
                pipe = cache.pipeline(transaction=False)
                for index in range(10_000):
                    pipe.hset(f"crash:{index}", f"f{batch}", "x" * 20)
                pipe.execute()
        time.sleep(1.5)  # appendfsync everysec
    finally:
        server.kill()  # a crash: no shutdown, no rewrite
        server.wait()
    return (redis_dir / "appendonly.aof").stat().st_size


def raw_ping(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(64)


def test_redis_is_ready_only_once_its_data_is_loaded_and_a_long_aof_is_compacted(tmp_path: Path) -> None:
    size = write_long_aof(tmp_path / "redis")
    assert size > 10 * 1024 * 1024
    started = start_redis(tmp_path)
    try:
        # Ready means PING answers PONG, not "LOADING Redis is loading the dataset in memory".
        assert raw_ping(started.port) == b"+PONG\r\n"
        with redis.Redis(port=started.port, socket_timeout=5) as cache:
            assert cache.hlen("crash:7") == 30
            config = cache.config_get("auto-aof-rewrite-*") | cache.config_get("aof-use-rdb-preamble")
            assert config["auto-aof-rewrite-percentage"] == "100"
            assert int(config["auto-aof-rewrite-min-size"]) <= 16 * 1024 * 1024
            assert config["aof-use-rdb-preamble"] == "yes"
            deadline = time.monotonic() + 30
            while started.aof_bytes >= size / 4:
                assert time.monotonic() < deadline, "the long AOF was not compacted at start"
                time.sleep(0.2)
    finally:
        started.stop()


def test_dev_starts_after_a_crash_with_a_long_aof_and_stale_pid_files(tmp_path: Path, dev_factory: list[Dev]) -> None:
    data_dir = tmp_path / "data"
    write_long_aof(data_dir / "redis")
    run = data_dir / "run"
    run.mkdir(parents=True, exist_ok=True)
    # What a crash of everything leaves: pid files of dead processes, a services file, the lock file.
    gone = subprocess.Popen(["true"])
    gone.wait()
    for name in CHILDREN:
        (run / f"{name}.pid").write_text(str(gone.pid))
    (run / "services.json").write_text(
        f'{{"pid": {gone.pid}, "mongodb_uri": "mongodb://127.0.0.1:1", "redis_url": "redis://127.0.0.1:1"}}'
    )
    (run / "dev.lock").write_text(str(gone.pid))

    dev = new_dev(dev_factory, data_dir, free_port(), tmp_path / "logs")
    dev.wait_banner()
    assert httpx.get(dev.url("/readyz"), timeout=5).status_code == 200
    assert "exited" not in dev.stdout  # nothing crashed on the way up
    children = dev.children()
    with redis.Redis(port=redis_port(children["redis"]), socket_timeout=5) as cache:
        assert cache.hlen("crash:7") == 30  # the data survived
