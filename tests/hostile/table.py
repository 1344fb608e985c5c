"""The hostile-input table: files, settings and command-line arguments, each with the
exit code and the words its one stderr line must hold. HTTP bodies are in
``tests/service/api/test_api_hostile.py`` (they run against the app, not a process)."""

from __future__ import annotations

import json

from hostile.files import CONTENT, NAMES, path_of
from hostile.runner import CliCase

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
LIVEKIT = {
    "INTAKE_LIVEKIT__URL": "ws://127.0.0.1:9",
    "INTAKE_LIVEKIT__API_KEY": "key",
    "INTAKE_LIVEKIT__API_SECRET": "secret-that-is-long-enough-for-livekit",
}
# How a file reaches each loader: a flow spec, a scenario, a telephony file.
LOADERS: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
    "spec": (("flows", "show"), {}),
    "scenario": (("simulate", "patient_intake"), {}),
    "telephony": (("provision", "--dry-run"), LIVEKIT),
}
# A flow spec given by path that is not a regular file is "no flow spec file at" it.
LINE_NAMED = {n for n in CONTENT if n not in {"empty", "blank", "over_the_limit", "long_scalar"}}


def file_cases() -> list[CliCase]:
    cases = []
    for loader, (command, env) in LOADERS.items():
        for name in NAMES:
            args = (*command, path_of(name))
            needle = f"{name}.yaml"
            cases.append(CliCase(f"{loader}-{name}", args, env, 2, needle))
        cases.append(
            CliCase(f"{loader}-dev-zero-path", (*command, "/dev/zero"), env, 2, "/dev/zero")
        )
    return cases


def _endpoint(url: str, secret: str = SECRET) -> str:
    return json.dumps([{"url": url, "secrets": [secret]}])


BAD_JSON = "{bad"
SETTINGS: list[tuple[str, str, str]] = [
    # (variable, value, what the line names)
    *(
        (f"INTAKE_{name}", BAD_JSON, f"INTAKE_{name}")
        for name in (
            "ROUTES",
            "LIVEKIT",
            "OPENAI",
            "DEEPGRAM",
            "VOICE",
            "WORKER",
            "DATABASE",
            "WEBHOOKS",
            "API",
            "WEBHOOKS__ENDPOINTS",
            "WEBHOOKS__SCHEDULE",
        )
    ),
    ("INTAKE_ROUTES", "[1]", "INTAKE_ROUTES"),
    ("INTAKE_ROUTES", '{"+14155550123": 5}', "INTAKE_ROUTES"),
    ("INTAKE_ROUTES", '{"not a number": "patient_intake"}', "INTAKE_ROUTES"),
    ("INTAKE_LIVEKIT", "[]", "INTAKE_LIVEKIT"),
    ("INTAKE_WEBHOOKS__ENDPOINTS", "{}", "INTAKE_WEBHOOKS__ENDPOINTS"),
    ("INTAKE_WEBHOOKS__ENDPOINTS", "[1]", "INTAKE_WEBHOOKS__ENDPOINTS"),
    ("INTAKE_WEBHOOKS__ENDPOINTS", "[{}]", "INTAKE_WEBHOOKS__ENDPOINTS"),
    ("INTAKE_WEBHOOKS__ENDPOINTS", '[{"url": "https://a.example"}]', "secrets"),
    ("INTAKE_WEBHOOKS__ENDPOINTS", _endpoint("https://a.example", "whsec_AAAA"), "24-64 bytes"),
    ("INTAKE_WEBHOOKS__ENDPOINTS", _endpoint("https://a.example", "whsec_" + "A" * 200), "24-64"),
    ("INTAKE_WEBHOOKS__ENDPOINTS", _endpoint("https://a.example", "whsec_!!!!"), "base64"),
    ("INTAKE_WEBHOOKS__ENDPOINTS", _endpoint("https://a.example", "hunter2"), "whsec_"),
    ("INTAKE_WEBHOOKS__ENDPOINTS", _endpoint("https://10.1.2.3/x?token=T"), "private"),
    ("INTAKE_WEBHOOKS__ENDPOINTS", _endpoint("https://169.254.169.254/x"), "metadata"),
    ("INTAKE_WEBHOOKS__ENDPOINTS", _endpoint("https://[fd00:ec2::254]/x"), "metadata"),
    ("INTAKE_WEBHOOKS__ENDPOINTS", _endpoint("https://[fc00::1]/x"), "private"),
    ("INTAKE_WEBHOOKS__ENDPOINTS", _endpoint("https://224.0.0.1/x"), "multicast"),
    ("INTAKE_WEBHOOKS__ENDPOINTS", _endpoint("https://0.0.0.0/x"), "unspecified"),
    ("INTAKE_WEBHOOKS__ENDPOINTS", _endpoint("http://hooks.example.com/x"), "https://"),
    ("INTAKE_WEBHOOKS__ENDPOINTS", _endpoint("ftp://hooks.example.com/x"), "https://"),
    ("INTAKE_WEBHOOKS__ENDPOINTS", _endpoint("https://[::1"), "INTAKE_WEBHOOKS__ENDPOINTS"),
    *(
        (f"INTAKE_{name}", value, f"INTAKE_{name}")
        for name in (
            "WEBHOOKS__ATTEMPT_TIMEOUT",
            "WEBHOOKS__POLL_INTERVAL",
            "WEBHOOKS__HEARTBEAT_INTERVAL",
            "WEBHOOKS__SWEEP_INTERVAL",
            "VOICE__NO_INPUT_TIMEOUT",
            "API__POLL_INTERVAL",
        )
        for value in ("NaN", "inf", "-1", "1e308")
    ),
    ("INTAKE_WEBHOOKS__ORPHAN_AFTER", "-inf", "INTAKE_WEBHOOKS__ORPHAN_AFTER"),
    ("INTAKE_WEBHOOKS__JITTER", "nan", "INTAKE_WEBHOOKS__JITTER"),
    ("INTAKE_VOICE__MAX_CALL_DURATION", "1e9", "INTAKE_VOICE__MAX_CALL_DURATION"),
    ("INTAKE_VOICE__INTER_DIGIT_TIMEOUT", "0", "INTAKE_VOICE__INTER_DIGIT_TIMEOUT"),
    ("INTAKE_WORKER__DRAIN_TIMEOUT", "99999999999", "INTAKE_WORKER__DRAIN_TIMEOUT"),
    ("INTAKE_WORKER__MAX_CALLS", "0", "INTAKE_WORKER__MAX_CALLS"),
    ("INTAKE_WORKER__HTTP_PORT", "70000", "INTAKE_WORKER__HTTP_PORT"),
    ("INTAKE_API__PORT", "-1", "INTAKE_API__PORT"),
    ("INTAKE_WEBHOOKS__SCHEDULE", "[0, NaN]", "INTAKE_WEBHOOKS__SCHEDULE[1]"),
    ("INTAKE_WEBHOOKS__SCHEDULE", "[0, Infinity]", "INTAKE_WEBHOOKS__SCHEDULE[1]"),
    ("INTAKE_WEBHOOKS__SCHEDULE", "[0, -5]", "INTAKE_WEBHOOKS__SCHEDULE"),
    ("INTAKE_WEBHOOKS__SCHEDULE", "[0, 1e12]", "INTAKE_WEBHOOKS__SCHEDULE"),
    ("INTAKE_WEBHOOKS__SCHEDULE", "[]", "INTAKE_WEBHOOKS__SCHEDULE"),
    ("INTAKE_WEBHOOKS__SCHEDULE", "[5]", "INTAKE_WEBHOOKS__SCHEDULE"),
    ("INTAKE_WEBHOOKS__SCHEDULE", json.dumps([0] * 101), "INTAKE_WEBHOOKS__SCHEDULE"),
    ("INTAKE_WEBHOOKS__SCHEDULE", '"soon"', "INTAKE_WEBHOOKS__SCHEDULE"),
    ("INTAKE_LIVEKIT__URL", "foo", "INTAKE_LIVEKIT__URL"),
    ("INTAKE_LIVEKIT__URL", "ws://", "INTAKE_LIVEKIT__URL"),
    ("INTAKE_LIVEKIT__URL", "ftp://livekit.example.com", "INTAKE_LIVEKIT__URL"),
    ("INTAKE_LIVEKIT__URL", "wss://x.livekit.cloud:99999", "INTAKE_LIVEKIT__URL"),
    ("INTAKE_LIVEKIT__URL", "   ", "INTAKE_LIVEKIT__URL"),
    ("INTAKE_LIVEKIT__RINGING_TIMEOUT", "inf", "INTAKE_LIVEKIT__RINGING_TIMEOUT"),
    ("INTAKE_DATABASE__URL", "mysql://db/intake", "INTAKE_DATABASE__URL"),
    ("INTAKE_DATABASE__URL", "postgresql://db/intake?sslmode=bogus", "sslmode"),
    ("INTAKE_DATABASE__URL", "postgresql://db/intake?foo=1", "'foo'"),
    ("INTAKE_DATABASE__URL", "postgresql://db/intake?connect_timeout=abc", "connect_timeout"),
    ("INTAKE_DATABASE__URL", "postgresql://db:port/intake", "INTAKE_DATABASE__URL"),
    ("INTAKE_DATABASE__URL", "not a url", "INTAKE_DATABASE__URL"),
    ("INTAKE_LOG_LEVEL", "verbose", "INTAKE_LOG_LEVEL"),
    ("INTAKE_LOG_FORMAT", "xml", "INTAKE_LOG_FORMAT"),
    ("INTAKE_LOG_PII", "maybe", "INTAKE_LOG_PII"),
    ("INTAKE_DEFAULT_REGION", "ZZ", "INTAKE_DEFAULT_REGION"),
    ("INTAKE_TRANSFER_TO", "call me maybe", "INTAKE_TRANSFER_TO"),
    ("INTAKE_DATA_DIR", "   ", "INTAKE_DATA_DIR"),
    ("INTAKE_FLOWS_DIR", "/nonexistent/flows", "INTAKE_FLOWS_DIR"),
    ("INTAKE_MAX_DOCUMENT_BYTES", "-1", "INTAKE_MAX_DOCUMENT_BYTES"),
    ("INTAKE_MAX_DOCUMENT_BYTES", "1e9", "INTAKE_MAX_DOCUMENT_BYTES"),
    ("INTAKE_VOICE__TRANSFER_TIMEOUT", "30", "INTAKE_VOICE__TRANSFER_TIMEOUT"),
]
# Settings that must be accepted (exit 0): the exceptions the rules name.
ACCEPTED: list[tuple[str, dict[str, str]]] = [
    ("localhost-endpoint", {"INTAKE_WEBHOOKS__ENDPOINTS": _endpoint("http://localhost:9/x")}),
    ("loopback-endpoint", {"INTAKE_WEBHOOKS__ENDPOINTS": _endpoint("http://[::1]:9/x")}),
    (
        "private-endpoint-allowed",
        {
            "INTAKE_WEBHOOKS__ENDPOINTS": _endpoint("https://10.1.2.3/x"),
            "INTAKE_WEBHOOKS__ALLOW_PRIVATE": "true",
        },
    ),
    (
        "libpq-options",
        {"INTAKE_DATABASE__URL": "postgresql://db/x?sslmode=require&connect_timeout=5"},
    ),
    ("livekit-https", {"INTAKE_LIVEKIT__URL": "https://example.livekit.cloud"}),
]


def settings_cases() -> list[CliCase]:
    cases = [
        CliCase(
            f"setting-{number:02d}-{variable.lower()}",
            ("flows", "list"),
            {variable: value},
            2,
            needle,
        )
        for number, (variable, value, needle) in enumerate(SETTINGS)
    ]
    cases += [CliCase(f"accepted-{name}", ("flows", "list"), env, 0) for name, env in ACCEPTED]
    return cases


DATA = {"INTAKE_DATA_DIR": "{case}/data"}
ARGUMENTS: list[tuple[str, tuple[str, ...], dict[str, str], str]] = [
    ("unknown-command", ("nonsense",), {}, "nonsense"),
    ("flows-show-nothing", ("flows", "show"), {}, "'flow'"),
    ("flows-show-unknown", ("flows", "show", "nope"), {}, "nope"),
    ("flows-show-traversal", ("flows", "show", "../../../etc/passwd"), {}, "passwd"),
    ("simulate-nothing", ("simulate",), {}, "'flow'"),
    ("simulate-no-scenario", ("simulate", "patient_intake"), {}, "'scenario'"),
    ("simulate-unknown-flow", ("simulate", "nope", "{files}/empty.yaml"), {}, "nope"),
    ("simulate-bad-option", ("simulate", "patient_intake", "x.yaml", "--loud"), {}, "--loud"),
    ("test-missing", ("test", "{files}/nowhere"), {}, "nowhere"),
    ("test-no-paths", ("test",), {}, "'paths'"),
    ("deliveries-limit-zero", ("deliveries", "list", "--limit", "0"), DATA, "--limit"),
    ("deliveries-limit-text", ("deliveries", "list", "--limit", "many"), DATA, "--limit"),
    ("deliveries-limit-huge", ("deliveries", "list", "--limit", "9" * 40), DATA, "--limit"),
    ("replay-neither", ("deliveries", "replay"), DATA, "--failed"),
    ("replay-both", ("deliveries", "replay", "1", "--failed"), DATA, "--failed"),
    ("replay-text-id", ("deliveries", "replay", "one"), DATA, "'delivery_id'"),
    ("replay-unknown", ("deliveries", "replay", "999"), DATA, "999"),
    ("replay-huge-id", ("deliveries", "replay", "9" * 40), DATA, "'delivery_id'"),
    ("replay-negative-id", ("deliveries", "replay", "--", "-5"), DATA, "'delivery_id'"),
    ("calls-show-injection", ("calls", "show", "'; DROP TABLE calls;--"), DATA, "no stored"),
    ("calls-show-long", ("calls", "show", "call_" + "x" * 20_000), DATA, "no stored"),
    ("keys-revoke-unknown", ("keys", "revoke", "nope"), DATA, "nope"),
    ("keys-create-no-name", ("keys", "create"), DATA, "'name'"),
    ("provision-no-credentials", ("provision", "--export"), {}, "INTAKE_LIVEKIT__URL"),
    ("provision-export-and-file", ("provision", "--export", "x.yaml"), LIVEKIT, "--export"),
    ("provision-export-dry-run", ("provision", "--export", "--dry-run"), LIVEKIT, "--dry-run"),
    ("console-unknown-flow", ("console", "nope"), {}, "nope"),
    ("console-bad-direction", ("console", "patient_intake", "--direction", "up"), {}, ""),
    ("serve-bad-port", ("serve", "--port", "http"), DATA, "--port"),
    ("serve-port-range", ("serve", "--port", "70000"), DATA, "--port"),
    ("serve-bad-now", ("serve", "--simulate", "--now", "yesterday"), DATA, "--now"),
    ("serve-bad-speed", ("serve", "--simulate", "--speed", "nan"), DATA, "--speed"),
    ("worker-bad-option", ("worker", "--bogus"), {}, "--bogus"),
    (
        "data-dir-is-a-file",
        ("deliveries", "list"),
        {"INTAKE_DATA_DIR": "{files}/empty.yaml"},
        "INTAKE_DATA_DIR",
    ),
    (
        "database-is-a-directory",
        ("deliveries", "list"),
        {"INTAKE_DATABASE__URL": "sqlite:///{files}/directory.yaml"},
        "cannot open",
    ),
    (
        "database-corrupt",
        ("deliveries", "list"),
        {"INTAKE_DATABASE__URL": "sqlite:///{files}/random_binary.yaml"},
        "not a SQLite database",
    ),
    (
        "database-read-only",
        ("calls", "show", "call_x"),
        {"INTAKE_DATABASE__URL": "sqlite:///file:{case}/none.db?mode=ro&uri=true", **DATA},
        "cannot open",
    ),
]


def argument_cases() -> list[CliCase]:
    return [
        CliCase(f"args-{name}", args, env, 2, needle) for name, args, env, needle in ARGUMENTS
    ] + [
        CliCase("args-help", ("--help",), {}, 0),
        CliCase("args-flows-help", ("flows", "--help"), {}, 0),
    ]


def all_cases() -> list[CliCase]:
    return [*file_cases(), *settings_cases(), *argument_cases()]
