"""The log lines of the whole test run, searched for secrets when it ends (a pytest plugin, loaded by
tests/conftest.py).

Every record of the run, structlog's and the standard library's (ours at every level), is rendered the
way production renders it, in both formats (console and JSON), into one file. When the run ends the
file is searched for credentials by their shape (API keys, webhook secrets, JWTs) and for the literal
secrets the tests use (their passwords and tokens, the test settings' secrets); any find fails the run.
"""

from __future__ import annotations

import ast
import logging
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

import pytest
from litestar import Litestar

from trailroom.core.config import Settings
from trailroom.core.logging import TrailRoomLogHandler, log_formatter

TESTS = Path(__file__).resolve().parent
SHAPES = {
    "API key": re.compile(r"tr_[sp]k_[A-Za-z0-9_\-]{8,}"),
    "webhook secret": re.compile(r"whsec_[A-Za-z0-9+/=_\-]{8,}"),
    "account token": re.compile(r"tr_(?:pr|ev)_[A-Za-z0-9_\-]{8,}"),  # password reset, email verification
    "JWT": re.compile(r"eyJ[A-Za-z0-9_\-]{4,}\.eyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*"),
}
_SECRET_NAME = re.compile(r"password|secret|token|api_?key", re.IGNORECASE)
_sink_key = pytest.StashKey["LogSink"]()
OUR_LOGGERS = ("trailroom", "trailroom_client", "trailroom_flask", "trailroom_django", "trailroom_saleor")


def _looks_secret(value: str) -> bool:
    """A literal worth searching for: long, with letters and something else (not a field name)."""
    return (
        len(value) >= 8
        and any(c.isalpha() for c in value)
        and any(not c.isalpha() for c in value)
        and not re.fullmatch(r"[a-z_]+|[A-Za-z-]+|[a-z_./:]+", value)
        and " " not in value
    )


def literal_secrets(settings: Settings | None = None) -> set[str]:
    """The secrets the tests write down: string constants given to a name, key or argument that says
    password, secret, token or api key, in every test module; and the secrets of the test settings."""
    found: set[str] = set()
    for path in TESTS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            pairs: list[tuple[object, object]] = []
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                pairs += [(getattr(t, "id", getattr(t, "attr", None)), node.value) for t in targets]
            elif isinstance(node, ast.Dict):
                pairs += [(getattr(k, "value", None), v) for k, v in zip(node.keys, node.values, strict=True)]
            elif isinstance(node, ast.Call):
                pairs += [(kw.arg, kw.value) for kw in node.keywords]
            for name, value in pairs:
                if (
                    isinstance(name, str)
                    and _SECRET_NAME.search(name)
                    and isinstance(value, ast.Constant)
                    and isinstance(value.value, str)
                    and _looks_secret(value.value)
                ):
                    found.add(value.value)
    if settings is not None:
        for name, value in settings.model_dump().items():
            if _SECRET_NAME.search(name) and isinstance(value, str) and value:
                found.add(value)
    return found


def find_secrets(lines: Iterable[str], literals: Iterable[str]) -> list[str]:
    """Where secrets appear: `line N: what` for each find (the secret itself is not repeated)."""
    literal_list = sorted(set(literals))
    finds = []
    for number, line in enumerate(lines, 1):
        finds += [f"line {number}: {what}" for what, shape in SHAPES.items() if shape.search(line)]
        finds += [f"line {number}: literal secret {s[:2]}…" for s in literal_list if s in line]
    return finds


class LogSink(logging.Handler):
    """Renders every record with both of production's formatters into a file."""

    def __init__(self, path: Path) -> None:
        super().__init__(level=logging.NOTSET)
        self.path = path
        self.renderers = [log_formatter("console", colors=False), log_formatter("json")]
        self.file = path.open("a", encoding="utf-8")
        self.settings: Settings | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            for renderer in self.renderers:
                self.file.write(renderer.format(record) + "\n")
        except Exception:
            self.handleError(record)

    def close(self) -> None:
        # `logging.config.dictConfig` (Django's setup in the plugin tests) closes every handler it
        # finds; the sink must outlive that, so only `finish` at the end of the run closes the file.
        self.flush()

    def flush(self) -> None:
        self.file.flush()

    def finish(self) -> None:
        self.file.close()
        super().close()


def sink_of(config: pytest.Config) -> LogSink:
    return config.stash[_sink_key]


def pytest_configure(config: pytest.Config) -> None:
    handle, name = tempfile.mkstemp(prefix="trailroom-test-logs-", suffix=".log")
    os.close(handle)
    sink = LogSink(Path(name))
    config.stash[_sink_key] = sink
    logging.getLogger().addHandler(sink)  # `configure_logging` keeps handlers it did not install


@pytest.fixture(scope="session", autouse=True)
def log_every_level(app: Litestar, settings: Settings, pytestconfig: pytest.Config) -> None:
    """Every level of our own loggers reaches the sink (other libraries' from the configured level on);
    the console still shows only the configured level."""
    sink_of(pytestconfig).settings = settings
    for handler in logging.getLogger().handlers:
        if isinstance(handler, TrailRoomLogHandler):
            handler.setLevel(settings.log_level)
    for name in OUR_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)


@pytest.fixture(autouse=True)
def sink_attached(pytestconfig: pytest.Config) -> None:
    """Stand-in Litestar apps of some tests configure logging their own way (Litestar's default
    config replaces the root logger's handlers): put the sink back so every test's lines are searched."""
    sink = sink_of(pytestconfig)
    root = logging.getLogger()
    if sink not in root.handlers:
        root.addHandler(sink)


def pytest_sessionfinish(session: pytest.Session) -> None:
    sink = session.config.stash.get(_sink_key, None)
    if sink is None:
        return
    logging.getLogger().removeHandler(sink)
    sink.finish()
    with sink.path.open(encoding="utf-8") as lines:
        finds = find_secrets(lines, literal_secrets(sink.settings))
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if finds:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if reporter is not None:
            reporter.ensure_newline()
            reporter.write_sep("=", "secrets in the log lines of this run", red=True)
            for find in finds[:50]:
                reporter.write_line(f"{sink.path} {find}")
    else:
        sink.path.unlink(missing_ok=True)
