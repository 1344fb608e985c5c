"""The spool of final payloads: durable files, one per call, read back even when one is
corrupt, and imported into a store entry by entry."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

from flows.engine.payload import Payload
from service.settings import EndpointSettings
from service.store import CallStore
from service.store.spool import Spool, SpoolEntry, SpoolImport, import_spool

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MakePayload = Callable[..., Payload]


def files(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir() if path.is_file())


def test_an_entry_is_one_private_file_per_call_that_reads_back_whole(
    tmp_path: Path, make_payload: MakePayload
) -> None:
    spool = Spool(tmp_path / "spool")  # created on first write
    entry = SpoolEntry(payload=make_payload(), sip_status=486, retryable=True)
    spool.write(entry)
    name = f"{entry.payload.call_id}.json"
    assert files(spool.directory) == [name]  # no temporary file left behind
    assert stat.S_IMODE((spool.directory / name).stat().st_mode) == 0o600  # caller data
    assert spool.read().entries == [entry]
    assert spool.read().entries[0].payload.to_json_dict() == entry.payload.to_json_dict()


def test_a_second_write_of_a_call_replaces_the_first(
    tmp_path: Path, make_payload: MakePayload
) -> None:
    spool = Spool(tmp_path)
    first = SpoolEntry(payload=make_payload(status="incomplete", ended_reason="caller_hangup"))
    second = SpoolEntry(payload=make_payload(call_id=first.payload.call_id))
    spool.write(first)
    spool.write(second)
    assert files(tmp_path) == [f"{first.payload.call_id}.json"]
    assert spool.read().entries == [second]
    spool.remove(first.payload.call_id)
    spool.remove(first.payload.call_id)  # gone already: fine
    assert spool.read().entries == []


def test_a_corrupt_entry_is_set_aside_and_named_not_fatal(
    tmp_path: Path, make_payload: MakePayload
) -> None:
    spool = Spool(tmp_path)
    good = SpoolEntry(payload=make_payload())
    spool.write(good)
    (tmp_path / "call_01TRUNCATED.json").write_bytes(b'{"payload": {"call_id": "call_0')
    (tmp_path / "call_01NOTAPAYLOAD.json").write_text('{"payload": {"call_id": 7}}')
    (tmp_path / "call_01BINARY.json").write_bytes(b"\xff\xfe\x00")
    (tmp_path / "call_01CRASHED.json.4242.partial").write_text("{")  # a write cut short
    contents = spool.read()
    assert contents.entries == [good]
    assert sorted(contents.corrupt) == [
        "call_01BINARY.json",
        "call_01NOTAPAYLOAD.json",
        "call_01TRUNCATED.json",
    ]
    assert sorted(p.name.split(".json")[0] for p in (tmp_path / "corrupt").iterdir()) == [
        "call_01BINARY",
        "call_01NOTAPAYLOAD",
        "call_01TRUNCATED",
    ]
    assert spool.read().corrupt == []  # reported once


def test_a_call_id_that_is_no_safe_file_name_is_hashed(
    tmp_path: Path, make_payload: MakePayload
) -> None:
    spool = Spool(tmp_path / "spool")
    entry = SpoolEntry(payload=make_payload(call_id="../../etc/passwd"))
    spool.write(entry)
    [name] = files(spool.directory)
    assert name.startswith("call-sha256-") and spool.read().entries == [entry]
    spool.remove("../../etc/passwd")
    assert files(spool.directory) == []


class Refusing:
    """A store that takes every payload except one call's (not a retryable failure)."""

    def __init__(self, store: CallStore, refused: str) -> None:
        self.store, self.refused = store, refused

    async def call_finished(
        self, payload: Payload, *, sip_status: int | None = None, retryable: bool | None = None
    ) -> None:
        if payload.call_id == self.refused:
            raise ValueError("refused")
        await self.store.call_finished(payload, sip_status=sip_status, retryable=retryable)


async def test_import_removes_only_what_the_store_took(
    store_url: str, tmp_path: Path, make_payload: MakePayload
) -> None:
    spool = Spool(tmp_path)
    entries = [
        SpoolEntry(payload=make_payload()),
        SpoolEntry(payload=make_payload(status="busy", ended_reason="busy"), sip_status=486),
        SpoolEntry(payload=make_payload()),
    ]
    for entry in entries:
        spool.write(entry)
    (tmp_path / "call_01BROKEN.json").write_text("not json")

    down = CallStore.create("postgresql://intake@127.0.0.1:9/intake")  # nothing listens
    assert await import_spool(spool, down) == SpoolImport(imported=0, left=3, corrupt=1)
    assert len(spool.read().entries) == 3

    hook = EndpointSettings.model_validate({"url": "https://a.example/h", "secrets": [SECRET]})
    async with await CallStore.open(store_url, endpoints=[hook]) as store:
        refused = entries[1].payload.call_id
        counts = await import_spool(spool, Refusing(store, refused))
        assert counts == SpoolImport(imported=2, left=1, corrupt=0)
        assert [e.payload.call_id for e in spool.read().entries] == [refused]
        for entry in (entries[0], entries[2]):
            assert await store.get_payload(entry.payload.call_id) == entry.payload
            assert len(await store.outbox.of_call(entry.payload.call_id)) == 1

        assert await import_spool(spool, store) == SpoolImport(imported=1)
        assert spool.read().entries == []
        assert await store.get_payload(refused) == entries[1].payload
        assert await import_spool(spool, store) == SpoolImport()  # nothing: nothing logged
