"""The production shape: docker-compose.yml and the Dockerfile agree with the code they run.

No Docker here: the files are parsed and every name they rely on is checked against the real
Settings, the real `trailroom` command and the real app.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from typing import Any
from urllib.parse import parse_qs, urlparse

import click
import httpx
import pytest
import yaml
from click.testing import CliRunner

from trailroom.cli import main
from trailroom.core.config import ConfigError, Settings

from .conftest import REPO

PREFIX = "TRAILROOM_"
# Values a deployer supplies for the variables compose requires (`${VAR:?message}`).
DEPLOYER_ENV = {"TRAILROOM_SECRET_KEY": "compose-test-secret-that-is-long-enough-for-signing"}

_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's variable substitution: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, ${VAR?err}, $$."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name"), match.group("op"), match.group("arg")
        present = name in env and (env[name] != "" or not (op or "").startswith(":"))
        if present:
            return env[name]
        if op in (":-", "-"):
            return arg
        if op in (":?", "?"):
            raise AssertionError(f"compose requires {name} ({arg}); add a test value to DEPLOYER_ENV")
        return ""

    return _VARIABLE.sub(replace, value)


def resolve(node: Any, env: dict[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [resolve(item, env) for item in node]
    if isinstance(node, dict):
        return {key: resolve(value, env) for key, value in node.items()}
    return node


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    resolved: dict[str, Any] = resolve(document, DEPLOYER_ENV)
    return resolved


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(key): str(value) for key, value in env.items()}


def trailroom_env(service: dict[str, Any]) -> dict[str, str]:
    return {key: value for key, value in environment(service).items() if key.startswith(PREFIX)}


def settings_from(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings built the way a container builds them: from exactly these environment variables."""
    for key in [key for key in os.environ if key.startswith(PREFIX)]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return Settings(_env_file=None)


def assert_real_subcommand(argv: list[str]) -> None:
    """`argv` runs a leaf command of the `trailroom` console script, with options it accepts."""
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert argv[0] == "trailroom", argv
    assert scripts["trailroom"] == "trailroom.cli:main"
    assert len(argv) >= 2, argv
    context = main.make_context("trailroom", list(argv[1:]), resilient_parsing=True)
    name, command, _ = main.resolve_command(context, list(argv[1:]))
    assert command is not None, argv
    assert not isinstance(command, click.Group), f"{name} is a group, not a command that serves"
    result = CliRunner().invoke(main, [*argv[1:], "--help"])
    assert result.exit_code == 0, result.output


def test_services_exist_with_health_checks(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"api", "worker", "mongo", "redis"} <= set(services)
    for name in ("api", "mongo", "redis"):
        test = services[name]["healthcheck"]["test"]
        assert isinstance(test, list), name
        assert test[0] in ("CMD", "CMD-SHELL"), name
        assert len(test) > 1, name
    # The worker serves no port; what it needs is that its dependencies are healthy first.
    for name in ("api", "worker"):
        depends = services[name]["depends_on"]
        assert set(depends) == {"mongo", "redis"}, name
        for dependency, condition in depends.items():
            assert condition["condition"] == "service_healthy", (name, dependency)
            assert "healthcheck" in services[dependency], dependency
        assert services[name]["build"] == "."
    assert (REPO / "Dockerfile").is_file()


def test_volumes_are_declared_and_mounted_where_data_lives(compose: dict[str, Any]) -> None:
    declared = set(compose["volumes"])
    services = compose["services"]
    for name, service in services.items():
        for mount in service.get("volumes", []):
            source = mount.split(":", 1)[0]
            if not source.startswith(("/", ".", "~")):
                assert source in declared, f"{name} mounts undeclared volume {source}"

    def targets(name: str) -> set[str]:
        return {mount.split(":")[1] for mount in services[name].get("volumes", [])}

    assert "/data/db" in targets("mongo")
    assert "/data" in targets("redis")
    assert "--appendonly" in services["redis"]["command"]
    for name in ("api", "worker"):
        assert trailroom_env(services[name])["TRAILROOM_DATA_DIR"] in targets(name), name


def test_every_trailroom_variable_is_a_setting(compose: dict[str, Any]) -> None:
    fields = set(Settings.model_fields)
    for name in ("api", "worker"):
        env = trailroom_env(compose["services"][name])
        assert env, name
        unknown = {key for key in env if key[len(PREFIX) :].lower() not in fields}
        assert not unknown, f"{name} passes variables that no setting reads: {sorted(unknown)}"


@pytest.mark.parametrize("name", ["api", "worker"])
def test_compose_environment_builds_production_settings(
    name: str, compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    services = compose["services"]
    settings = settings_from(trailroom_env(services[name]), monkeypatch)

    assert settings.env == "production"
    assert settings.is_production
    assert settings.resolved_secret_key() == DEPLOYER_ENV["TRAILROOM_SECRET_KEY"]
    assert settings.host == "0.0.0.0"
    assert settings.public_url == "http://localhost:8000"  # the ${TRAILROOM_PUBLIC_URL:-…} default

    mongo = urlparse(settings.mongodb_uri or "")
    assert mongo.scheme == "mongodb"
    assert mongo.hostname == "mongo"
    assert mongo.hostname in services
    assert (mongo.port or 27017) == 27017
    # The replica set the API asks for is the one the mongo service runs and initiates.
    replica_set = parse_qs(mongo.query)["replicaSet"][0]
    mongo_command = services["mongo"]["command"]
    assert mongo_command[mongo_command.index("--replSet") + 1] == replica_set
    assert f"_id: '{replica_set}'" in " ".join(services["mongo"]["healthcheck"]["test"])
    assert "mongo:27017" in " ".join(services["mongo"]["healthcheck"]["test"])

    redis = urlparse(settings.redis_url or "")
    assert redis.scheme == "redis"
    assert redis.hostname == "redis"
    assert redis.hostname in services
    assert (redis.port or 6379) == 6379


def test_production_refuses_to_run_without_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    # What `${TRAILROOM_SECRET_KEY:?…}` guards in compose, the settings guard too.
    settings = settings_from({"TRAILROOM_ENV": "production"}, monkeypatch)
    with pytest.raises(ConfigError, match="TRAILROOM_SECRET_KEY"):
        settings.resolved_secret_key()
    with pytest.raises(AssertionError, match="TRAILROOM_SECRET_KEY"):
        resolve(yaml.safe_load((REPO / "docker-compose.yml").read_text()), {})


@pytest.mark.parametrize("name", ["api", "worker"])
def test_compose_commands_are_real_subcommands(name: str, compose: dict[str, Any]) -> None:
    assert_real_subcommand(compose["services"][name]["command"])


def test_dockerfile_cmd_and_env(compose: dict[str, Any]) -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    commands = re.findall(r"^CMD\s+(\[.*\])\s*$", dockerfile, flags=re.MULTILINE)
    assert commands, "the Dockerfile has no exec-form CMD"
    cmd = json.loads(commands[-1])
    assert_real_subcommand(cmd)
    assert cmd == compose["services"]["api"]["command"]
    assert "ENTRYPOINT" not in dockerfile
    fields = set(Settings.model_fields)
    for line in re.findall(r"^ENV\s+(.*)$", dockerfile, flags=re.MULTILINE):
        for key in re.findall(r"(TRAILROOM_[A-Z0-9_]+)=", line):
            assert key[len(PREFIX) :].lower() in fields, key
    # The api health check runs curl inside this image.
    assert re.search(r"apt-get install[^&]*\bcurl\b", dockerfile)


async def test_api_health_check_probes_a_real_endpoint(compose: dict[str, Any], client: httpx.AsyncClient) -> None:
    api = compose["services"]["api"]
    test = api["healthcheck"]["test"]
    assert test[:2] == ["CMD", "curl"]
    assert "-f" in test[2] or "--fail" in test, test  # curl must fail on an error status
    probe = urlparse(test[-1])
    assert probe.hostname in ("127.0.0.1", "localhost")
    container_port = int(trailroom_env(api)["TRAILROOM_PORT"])
    assert probe.port == container_port
    assert any(mapping.endswith(f":{container_port}") for mapping in api["ports"])
    response = await client.get(probe.path)
    assert response.status_code == 200, probe.path
