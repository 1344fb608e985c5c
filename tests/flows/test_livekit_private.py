"""Each livekit private API of flows/agent/livekit_private.py that is not pinned elsewhere
(the warm transfer's are, in tests/sip/test_warm_transfer.py): an upgrade that renames or
drops one fails here first."""

from __future__ import annotations

import inspect
from pathlib import Path

from livekit.agents import JobContext

from flows.testing.harness import fake_job


def test_job_cleanup_is_still_a_coroutine_method() -> None:
    assert inspect.iscoroutinefunction(JobContext._on_cleanup)
    assert "self._tempdir.cleanup()" in inspect.getsource(JobContext._on_cleanup)


async def test_the_fake_job_removes_its_temporary_directory_as_the_worker_would() -> None:
    async with fake_job(job_id="AJ_private") as job:
        assert job.job.id == "AJ_private"
        temporary = Path(job._tempdir.name)
        assert temporary.is_dir()
    assert not temporary.exists()
