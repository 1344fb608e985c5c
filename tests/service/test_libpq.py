"""libpq's URL options become asyncpg's arguments (asyncpg takes ssl, not sslmode)."""

from __future__ import annotations

import ssl

import pytest
from sqlalchemy.engine import make_url

from service.libpq import libpq_options
from service.store.engine import create_engine


def test_sslmode_and_friends_become_asyncpg_arguments() -> None:
    url = make_url("postgresql://u@db/x?sslmode=require&connect_timeout=5&application_name=intake")
    args = libpq_options(url.query).connect_args()
    assert args == {
        "ssl": "require",
        "timeout": 5.0,
        "server_settings": {"application_name": "intake"},
    }


def test_a_root_certificate_makes_a_verifying_context(tmp_path: object) -> None:
    import certifi

    options = libpq_options({"sslmode": "verify-full", "sslrootcert": certifi.where()})
    context = options.connect_args()["ssl"]
    assert isinstance(context, ssl.SSLContext)
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
    ca_only = libpq_options({"sslmode": "verify-ca", "sslrootcert": certifi.where()})
    assert not ca_only.connect_args()["ssl"].check_hostname


def test_the_engine_takes_the_options_out_of_the_url() -> None:
    engine = create_engine("postgresql://u@db/x?sslmode=require")
    assert dict(engine.url.query) == {}


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ({"sslmode": "sometimes"}, "sslmode must be one of"),
        ({"gssencmode": "disable"}, "not supported"),
        ({"connect_timeout": "0"}, "connect_timeout"),
        ({"sslmode": ("require", "disable")}, "more than once"),
    ],
)
def test_wrong_options_are_named(query: dict[str, str], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        libpq_options(query)


async def test_a_postgres_url_with_libpq_options_opens(request: pytest.FixtureRequest) -> None:
    import os

    from service.store import CallStore

    url = os.environ.get("INTAKE_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("INTAKE_TEST_POSTGRES_URL is not set (CI sets it; .ci/run)")
    separator = "&" if "?" in url else "?"
    store = await CallStore.open(
        f"{url}{separator}sslmode=prefer&connect_timeout=5&application_name=t"
    )
    await store.close()
