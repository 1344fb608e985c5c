"""The image's HEALTHCHECK script (deploy/docker/healthcheck.py): which endpoint it asks for
each intake command, and its exit code against a real local server."""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "docker" / "healthcheck.py"


@pytest.fixture(scope="module")
def healthcheck() -> ModuleType:
    spec = importlib.util.spec_from_file_location("healthcheck", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("args", "env", "url"),
    [
        (["serve"], {}, "http://127.0.0.1:8080/healthz"),
        (
            ["serve", "--port", "9000"],
            {"INTAKE_API__PORT": "7000"},
            "http://127.0.0.1:9000/healthz",
        ),
        (["serve", "--port=9001"], {}, "http://127.0.0.1:9001/healthz"),
        (["serve"], {"INTAKE_API__PORT": "7000"}, "http://127.0.0.1:7000/healthz"),
        (["worker"], {"INTAKE_WORKER__HTTP_PORT": "9100"}, "http://127.0.0.1:9100/"),
        ([], {}, "http://127.0.0.1:8081/"),  # the image's default command
        (["deliver"], {}, None),
        (["deliver"], {"INTAKE_WEBHOOKS__HEALTH_PORT": "8082"}, "http://127.0.0.1:8082/healthz"),
        (["worker", "--check"], {}, None),
    ],
)
def test_the_endpoint_of_each_command(
    healthcheck: ModuleType, args: list[str], env: dict[str, str], url: str | None
) -> None:
    assert healthcheck.health_url(args, env) == url


class Answers(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    Answers.status = 200


def test_exit_code_follows_the_answer(
    healthcheck: ModuleType, server: ThreadingHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = str(server.server_address[1])
    monkeypatch.setattr(healthcheck, "intake_args", lambda: ["serve", "--port", port])
    assert healthcheck.main() == 0
    Answers.status = 503  # the worker's answer once LiveKit is lost
    assert healthcheck.main() == 1
    server.shutdown()
    server.server_close()
    assert healthcheck.main() == 1  # nothing listening
    monkeypatch.setattr(healthcheck, "intake_args", lambda: ["deliver"])
    assert healthcheck.main() == 0
