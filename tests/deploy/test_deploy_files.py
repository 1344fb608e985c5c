"""The deploy files (Dockerfile, deploy/compose, deploy/kubernetes, deploy/systemd) against
the code they run: every file parses, every variable they set is a setting the settings
model reads, every command they run is an ``intake`` command, secrets are referenced and
never written down, and the image installs the way the README says.

No Docker engine runs here: the image is read, not built.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import typer
import yaml
from pydantic import BaseModel

from service.cli.main import app
from service.settings import ENV_PREFIX, Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = DEPLOY / "compose" / "docker-compose.yaml"
ENV_EXAMPLE = DEPLOY / "compose" / ".env.example"
TELEPHONY = DEPLOY / "compose" / "telephony.example.yaml"
INTAKE_IMAGE = "intake:latest"
PYTHON_RUNTIME = {"PYTHONUNBUFFERED", "PATH", "PIP_NO_CACHE_DIR", "PIP_DISABLE_PIP_VERSION_CHECK"}
SECRET_NAME = re.compile(r"(API_KEY|API_SECRET|PASSWORD|DATABASE__URL|ENDPOINTS)$")


def setting_names() -> set[str]:
    """Every variable the settings model reads: INTAKE_ + field, nested sections with __."""
    names: set[str] = set()

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            kind = field.annotation
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                walk(kind, f"{prefix}{name.upper()}__")
            else:
                names.add(prefix + name.upper())

    walk(Settings, ENV_PREFIX)
    return names


def yaml_documents(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines, as Docker Compose reads .env; anything else is an error."""
    found: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = re.fullmatch(r"([A-Z_][A-Z0-9_]*)=(.*)", line)
        assert match, f"{path.name} line {number}: not KEY=VALUE"
        assert match[1] not in found, f"{path.name} line {number}: {match[1]} twice"
        found[match[1]] = match[2]
    return found


def systemd_unit(path: Path) -> dict[str, list[str]]:
    """[Section] and Key=value lines (a key may repeat); anything else is an error."""
    entries: dict[str, list[str]] = {}
    section = None
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        if re.fullmatch(r"\[(Unit|Service|Install)\]", line):
            section = line
            continue
        match = re.fullmatch(r"([A-Za-z]+)=(.*)", line)
        assert section and match, f"{path.name} line {number}: not a unit line"
        entries.setdefault(match[1], []).append(match[2])
    return entries


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return [(line.split(None, 1)[0], line.split(None, 1)[1]) for line in lines]


def compose_services() -> dict[str, dict[str, Any]]:
    [doc] = yaml_documents(COMPOSE)
    services: dict[str, dict[str, Any]] = doc["services"]
    return services


def intake_services() -> dict[str, dict[str, Any]]:
    return {n: s for n, s in compose_services().items() if s.get("image") == INTAKE_IMAGE}


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def kubernetes() -> list[dict[str, Any]]:
    return [
        doc
        for path in sorted((DEPLOY / "kubernetes").glob("*.yaml"))
        for doc in yaml_documents(path)
    ]


def containers(kind: str = "Deployment") -> Iterator[tuple[str, dict[str, Any]]]:
    for doc in kubernetes():
        if doc["kind"] == kind:
            for container in doc["spec"]["template"]["spec"]["containers"]:
                yield doc["metadata"]["name"], container


def commands() -> Iterator[tuple[str, list[str]]]:
    """Every intake command line a deploy file runs: (where, arguments after `intake`)."""
    [cmd] = [json.loads(args) for op, args in dockerfile() if op == "CMD"]
    yield "Dockerfile CMD", cmd
    for name, service in intake_services().items():
        yield f"compose {name}", list(service["command"])
    for name, container in containers():
        yield f"kubernetes {name}", list(container["args"])
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        for line in systemd_unit(unit)["ExecStart"]:
            words = shlex.split(line)
            assert Path(words[0]).name == "intake", unit.name
            yield unit.name, words[1:]


def test_every_file_in_deploy_parses() -> None:
    parsed = []
    for path in sorted(p for p in DEPLOY.rglob("*") if p.is_file()):
        if path.suffix in (".yaml", ".yml"):
            assert yaml_documents(path), path
        elif path.name.startswith(".env"):
            env_file(path)
        elif path.suffix == ".service":
            assert systemd_unit(path)["ExecStart"], path
        elif path.suffix == ".py":
            ast.parse(path.read_text(), str(path))
        else:
            raise AssertionError(f"{path}: no test reads this kind of file")
        parsed.append(path.relative_to(DEPLOY).as_posix())
    assert {"compose/docker-compose.yaml", "kubernetes/api.yaml", "docker/healthcheck.py"} <= set(
        parsed
    )


def test_the_dockerfile_is_multi_stage_non_root_with_a_volume_and_a_healthcheck() -> None:
    steps = dockerfile()
    ops = [op for op, _ in steps]
    stages = [args for op, args in steps if op == "FROM"]
    assert len(stages) >= 2 and all(" AS " in stage for stage in stages)
    assert any(op == "COPY" and args.startswith("--from=build ") for op, args in steps)
    [user] = [args for op, args in steps if op == "USER"]
    assert user not in ("root", "0")
    assert (
        ops.index("USER") > ops.index("VOLUME") > max(i for i, op in enumerate(ops) if op == "RUN")
    )
    [volume] = [json.loads(args) for op, args in steps if op == "VOLUME"]
    env = dict(re.findall(r"(\w+)=(\S+)", " ".join(a for op, a in steps if op == "ENV")))
    assert volume == [env["INTAKE_DATA_DIR"]]
    [health] = [args for op, args in steps if op == "HEALTHCHECK"]
    assert "/opt/intake/healthcheck.py" in health
    assert any(op == "COPY" and "deploy/docker/healthcheck.py" in args for op, args in steps)
    assert [json.loads(a) for op, a in steps if op == "ENTRYPOINT"] == [["intake"]]


def _install(text: str, where: str) -> tuple[str, frozenset[str]]:
    """The lock and the extras of the one `pip install -c LOCK ".[EXTRAS]"` line."""
    found = re.findall(r"pip install -c (\S+) [\"']?\.\[([\w,-]+)\][\"']?", text)
    assert len(found) == 1, f"{where}: {found}"
    lock, extras = found[0]
    return lock, frozenset(extras.split(","))


def test_the_image_installs_the_way_the_readme_says() -> None:
    readme = _install((ROOT / "README.md").read_text(), "README.md")
    image = _install(DOCKERFILE.read_text(), "Dockerfile")
    assert image == readme == ("constraints.txt", frozenset({"noise-cancellation"}))
    copied = " ".join(args for op, args in dockerfile() if op == "COPY")
    assert "constraints.txt" in copied and "pyproject.toml" in copied


def set_variables() -> Iterator[tuple[str, str]]:
    """(where, name) of every variable a deploy file gives an intake process."""
    for op, args in dockerfile():
        if op == "ENV":
            yield from (("Dockerfile", n) for n in re.findall(r"(\w+)=", args))
    for name, service in intake_services().items():
        yield from ((f"compose {name}", n) for n in environment(service))
    for name in env_file(ENV_EXAMPLE):
        yield ".env.example", name
    for name, container in containers():
        yield from ((f"kubernetes {name}", e["name"]) for e in container.get("env", []))
    for doc in kubernetes():
        if doc["kind"] == "ConfigMap":
            yield from (("kubernetes ConfigMap", n) for n in doc["data"])
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        for line in systemd_unit(unit).get("Environment", []):
            yield unit.name, line.split("=", 1)[0]


def test_every_variable_a_deploy_file_sets_is_a_real_setting() -> None:
    settings = setting_names()
    passwords = {
        trunk["auth"]["password_env"]
        for section in yaml_documents(TELEPHONY)[0].values()
        for trunk in section
        if "auth" in trunk
    }
    checked = 0
    for where, name in set_variables():
        if not name.startswith(ENV_PREFIX):
            if where == "Dockerfile":
                assert name in PYTHON_RUNTIME, name
            elif where == "compose provision":
                assert name in passwords, f"{where}: {name} is no telephony file's password_env"
            else:
                assert where == ".env.example", f"{where}: {name} is not a setting"
            continue  # .env.example's others: test_every_secret_compose_needs_is_in_env_example
        assert name in settings, f"{where}: {name} is not a setting"
        checked += 1
    assert checked > 40
    assert {"INTAKE_WORKER__DRAIN_TIMEOUT", "INTAKE_LIVEKIT__API_KEY"} <= settings


def test_every_secret_compose_needs_is_in_env_example() -> None:
    text = COMPOSE.read_text()
    used = set(re.findall(r"\$\{(\w+)", text))
    listed = set(env_file(ENV_EXAMPLE))
    assert used == listed, (used - listed, listed - used)


def test_compose_gives_each_intake_process_settings_that_load(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    values = dict.fromkeys(env_file(ENV_EXAMPLE), "x" * 40)  # a filled-in .env
    values |= {"INTAKE_WEBHOOKS__ENDPOINTS": "[]", "INTAKE_TRANSFER_TO": "+14155550999"}

    def interpolate(text: str) -> str:
        return re.sub(r"\$\{(\w+)[^}]*\}", lambda m: values[m[1]], text)

    services = intake_services()
    assert set(services) == {"worker", "serve", "deliver", "provision"}
    for name, service in services.items():
        for variable in [v for v in os.environ if v.startswith(ENV_PREFIX)]:
            monkeypatch.delenv(variable)
        for key, value in environment(service).items():
            monkeypatch.setenv(key, interpolate(value))
        settings = load_settings()
        assert settings.database.url.startswith("postgresql://intake:"), name
        assert settings.livekit.url == "ws://host.docker.internal:7880"


def test_every_command_a_deploy_file_runs_is_an_intake_command() -> None:
    group: Any = typer.main.get_command(app)
    seen = set()
    for where, args in commands():
        name, *rest = args
        command: click.Command | None = group.commands.get(name)
        assert command is not None, f"{where}: intake {name} is not a command"
        command.make_context(name, list(rest))  # unknown options raise a UsageError
        seen.add(name)
    assert {"worker", "serve", "deliver", "provision"} <= seen


def test_kubernetes_references_secrets_and_requires_postgresql() -> None:
    docs = kubernetes()
    assert not [d for d in docs if d["kind"] == "Secret"], "secrets are made with kubectl"
    for doc in docs:
        if doc["kind"] == "ConfigMap":
            assert not [k for k in doc["data"] if SECRET_NAME.search(k)]
    names = set()
    for name, container in containers():
        names.add(name)
        env = {e["name"]: e for e in container["env"]}
        for variable, entry in env.items():
            if SECRET_NAME.search(variable):
                ref = entry["valueFrom"]["secretKeyRef"]
                assert "value" not in entry and not ref.get("optional"), (name, variable)
        assert env["INTAKE_DATABASE__URL"]["valueFrom"]["secretKeyRef"]["name"]
        assert container["image"] == INTAKE_IMAGE
    assert names == {"intake-worker", "intake-api", "intake-deliver"}


def test_kubernetes_worker_drains_scales_and_survives_disruptions() -> None:
    by_kind: dict[tuple[str, str], dict[str, Any]] = {
        (d["kind"], d["metadata"]["name"]): d for d in kubernetes()
    }
    worker = by_kind["Deployment", "intake-worker"]["spec"]["template"]["spec"]
    [container] = worker["containers"]
    drain = int(
        {e["name"]: e.get("value") for e in container["env"]}["INTAKE_WORKER__DRAIN_TIMEOUT"]
    )
    assert worker["terminationGracePeriodSeconds"] >= max(600, drain)
    hpa = by_kind["HorizontalPodAutoscaler", "intake-worker"]["spec"]
    assert hpa["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "intake-worker",
    }
    pdb = by_kind["PodDisruptionBudget", "intake-worker"]["spec"]
    assert pdb["selector"]["matchLabels"] == {"app": "intake-worker"}
    api = by_kind["Deployment", "intake-api"]["spec"]["template"]
    [api_container] = api["spec"]["containers"]
    assert api_container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    service = by_kind["Service", "intake-api"]["spec"]
    assert service["selector"] == api["metadata"]["labels"]


def test_the_readme_links_both_deployment_paths_on_its_first_screen() -> None:
    first_screen = "\n".join((ROOT / "README.md").read_text().splitlines()[:25])
    assert "docs/deploy.md#livekit-cloud" in first_screen
    assert "docs/deploy.md#self-hosted" in first_screen
    deploy_doc = (ROOT / "docs" / "deploy.md").read_text()
    assert "\n## LiveKit Cloud\n" in deploy_doc and "\n## Self-hosted\n" in deploy_doc
