"""The wheel is the whole platform: built from the repository, installed in a fresh virtual
environment outside the checkout, and started there, it serves its pages, guides, static files
and the widget. Nothing may come from the checkout: the process runs with its working directory
elsewhere, the installed package is imported from the new environment, and the checkout's copies
are never read.

The wheel is built (straight from the tree as the Dockerfile does, and through the sdist as a bare
`uv build` does) and the environment made once for the module: builds and installs from uv's cache
(the versions of uv.lock, as the Dockerfile installs them) take a few seconds.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from trailroom.embedded.process import free_port
from trailroom.embedded.services import EmbeddedMongo, EmbeddedRedis

REPO = Path(__file__).resolve().parent.parent
START_TIMEOUT = 60.0


def uv() -> str:
    """The repository's pinned uv (the Makefile's `UV`), else one on PATH."""
    pinned = REPO / ".cache" / "tools" / "bin" / "uv"
    found = str(pinned) if pinned.is_file() else shutil.which("uv")
    if found is None:
        pytest.fail("uv not found: run `make install` (it installs the pinned uv under .cache/tools)")
    return found


def run(*args: str | Path, cwd: Path) -> str:
    # No VIRTUAL_ENV: uv must act on the environment named on its command line, not the test run's.
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    done = subprocess.run([str(arg) for arg in args], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(map(str, args))} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


@dataclass(frozen=True)
class Installed:
    wheel: Path
    wheel_from_sdist: Path
    venv: Path
    workdir: Path  # outside the checkout: the installed app's working directory

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("wheel")
    assert not root.resolve().is_relative_to(REPO)
    # As the Dockerfile builds it: straight from the source tree.
    run(uv(), "build", "--wheel", "--out-dir", root / "dist", REPO, cwd=REPO)
    (wheel,) = (root / "dist").glob("trailroom-*.whl")
    # `uv build` without `--wheel` builds it from the sdist: that must come out the same.
    run(uv(), "build", "--out-dir", root / "dist-sdist", REPO, cwd=REPO)
    (wheel_from_sdist,) = (root / "dist-sdist").glob("trailroom-*.whl")
    requirements = root / "requirements.txt"
    # The platform's locked runtime dependencies, without the development group (as in production).
    run(
        uv(), "export", "--frozen", "--no-default-groups", "--no-emit-project", "--no-emit-workspace",
        "--no-header", "--quiet", "--output-file", requirements, cwd=REPO,
    )  # fmt: skip
    venv = root / "venv"
    run(uv(), "venv", "--quiet", "--python", sys.executable, venv, cwd=root)
    python = venv / "bin" / "python"
    run(uv(), "pip", "install", "--quiet", "--python", python, "--requirement", requirements, cwd=root)
    run(uv(), "pip", "install", "--quiet", "--python", python, "--no-deps", wheel, cwd=root)
    workdir = root / "work"
    workdir.mkdir()
    return Installed(wheel=wheel, wheel_from_sdist=wheel_from_sdist, venv=venv, workdir=workdir)


def test_the_wheel_carries_templates_guides_static_files_and_the_widget(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    built = {"trailroom/static/vendor/swagger-ui/swagger-ui-bundle.js", "trailroom/static/widget/v1/trailroom.js"}
    assert built <= names, f"missing {sorted(built - names)}: the wheel was built before `make assets`?"
    # Every template, guide and static file of the repository.
    for folder, prefix in (
        (REPO / "templates", "trailroom/templates/"),
        (REPO / "docs" / "guides", "trailroom/guides/"),
        (REPO / "platform" / "trailroom" / "static" / "app", "trailroom/static/app/"),
    ):
        shipped = {prefix + path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()}
        assert shipped <= names, sorted(shipped - names)


def test_the_wheel_built_from_the_sdist_has_the_same_files(installed: Installed) -> None:
    direct = zipfile.ZipFile(installed.wheel).namelist()
    from_sdist = zipfile.ZipFile(installed.wheel_from_sdist).namelist()
    assert sorted(from_sdist) == sorted(direct)


def test_the_installed_package_is_imported_from_the_new_environment(installed: Installed) -> None:
    out = run(
        installed.python, "-c",
        "import trailroom.web.assets as a; print(a.PACKAGE_DIR); print(a.TEMPLATES_DIR.resolve())",
        cwd=installed.workdir,
    )  # fmt: skip
    package_dir, templates_dir = (Path(line) for line in out.splitlines())
    assert package_dir.is_relative_to(installed.venv), package_dir
    assert templates_dir.is_relative_to(installed.venv), templates_dir


@dataclass
class Served:
    base_url: str
    popen: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@pytest.fixture(scope="module")
def served(installed: Installed, embedded_mongo: EmbeddedMongo, embedded_redis: EmbeddedRedis) -> Iterator[Served]:
    """`trailroom api` from the new environment, as the Docker image runs it (production settings),
    on the test session's SecantusDB (its own database) and Redis (its own logical database)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRAILROOM_", "VIRTUAL_ENV", "PYTHON"))}
    env.update(
        PATH=f"{installed.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        TRAILROOM_ENV="production",
        TRAILROOM_HOST="127.0.0.1",
        TRAILROOM_PORT=str(port),
        TRAILROOM_SECRET_KEY="wheel-test-secret-key-that-is-long-enough-for-hs256",
        TRAILROOM_MONGODB_URI=embedded_mongo.uri,
        TRAILROOM_MONGODB_DATABASE="trailroom_wheel",
        TRAILROOM_REDIS_URL=re.sub(r"/\d+$", "/1", embedded_redis.url),
        TRAILROOM_DATA_DIR=str(installed.workdir / "data"),
    )
    log = installed.workdir / "api.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(
            [str(installed.venv / "bin" / "trailroom"), "api"],
            cwd=installed.workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    served = Served(base_url=f"http://127.0.0.1:{port}", popen=popen, log=log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if popen.poll() is not None:
                pytest.fail(f"trailroom api exited with {popen.returncode}:\n{served.output()}")
            try:
                if httpx.get(f"{served.base_url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"trailroom api not up within {START_TIMEOUT:.0f} s:\n{served.output()}")
            time.sleep(0.2)
        yield served
    finally:
        if popen.poll() is None:
            popen.terminate()
            try:
                popen.wait(20)
            except subprocess.TimeoutExpired:
                popen.kill()
                popen.wait()


@pytest.fixture
def http(served: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.base_url, timeout=30) as client:
        yield client


def test_the_installed_app_renders_pages_with_their_static_files(http: httpx.Client) -> None:
    landing = http.get("/")
    assert landing.status_code == 200, landing.text[:500]
    assert "text/html" in landing.headers["content-type"]
    assert "Let shoppers see it on" in landing.text
    login = http.get("/login")
    assert login.status_code == 200
    assert "Welcome back" in login.text
    # static_url() fingerprints each file it finds in the installed package ("missing" if not).
    stylesheets = re.findall(r'href="(/static/app/app\.css\?v=([^"]+))"', landing.text)
    assert stylesheets, landing.text[:1000]
    url, version = stylesheets[0]
    assert version != "missing"
    css = http.get(url)
    assert css.status_code == 200
    assert "--primary" in css.text


def test_the_installed_app_serves_the_guides(http: httpx.Client) -> None:
    index = http.get("/docs")
    assert index.status_code == 200
    assert 'href="/docs/getting-started"' in index.text
    guide = http.get("/docs/getting-started")
    assert guide.status_code == 200
    assert "<h1" in guide.text
    assert "Getting started" in guide.text


def test_the_installed_app_serves_the_widget_and_the_api_reference(http: httpx.Client) -> None:
    widget = http.get("/widget/v1/trailroom.js")
    assert widget.status_code == 200, widget.text[:500]
    assert widget.headers["content-type"].startswith("text/javascript")
    assert '"trailroom-try-on"' in widget.text
    assert "attachShadow" in widget.text
    swagger = http.get("/static/vendor/swagger-ui/swagger-ui-bundle.js")
    assert swagger.status_code == 200
    assert len(swagger.content) > 100_000
