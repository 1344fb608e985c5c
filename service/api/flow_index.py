"""The flows a call may name, kept in memory: checking a flow id costs no file access on
the hot path, while flows added to INTAKE_FLOWS_DIR show up within ``refresh_seconds``.
The catalog is made at first use: parsing the specs' models is no part of start-up."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from flows.errors import FlowError

if TYPE_CHECKING:
    from flows.spec.catalog import FlowCatalog
    from flows.spec.flow import FlowSpec


class FlowIndex:
    def __init__(
        self,
        catalog: Callable[[], FlowCatalog],
        *,
        refresh_seconds: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._make_catalog, self._refresh_seconds, self._monotonic = (
            catalog,
            refresh_seconds,
            monotonic,
        )
        self._catalog: FlowCatalog | None = None
        self._specs: dict[str, FlowSpec] = {}
        self._expires = float("-inf")

    def specs(self) -> dict[str, FlowSpec]:
        """Flow id -> its spec, for every flow whose spec is valid."""
        now = self._monotonic()
        if now >= self._expires:
            if self._catalog is None:
                self._catalog = self._make_catalog()
            specs = {}
            for flow_id in self._catalog.sources():
                try:
                    specs[flow_id] = self._catalog.load(flow_id)
                except FlowError:
                    continue  # an invalid spec is no flow to call with
            self._specs, self._expires = specs, now + self._refresh_seconds
        return self._specs

    def get(self, flow_id: str) -> FlowSpec | None:
        return self.specs().get(flow_id)
