"""Finding and loading flow specs: built-in ids, extra directories, or a file path."""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from flows.errors import SpecError, UnknownFlowError, os_reason
from flows.spec.documents import (
    MAX_DOCUMENT_BYTES,
    DocumentError,
    read_document,
    read_text,
    validate,
)
from flows.spec.flow import FlowSpec

_BUILTIN_PACKAGE = "flows.spec.builtin"


def parse_spec(text: str, source: str) -> FlowSpec:
    """Validate a spec, raising SpecError with every problem and its place in the file."""
    try:
        return validate(FlowSpec, read_document(text, source))
    except DocumentError as exc:
        raise SpecError(source, exc.problems) from None


def load_spec_file(path: Path, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> FlowSpec:
    try:
        text = read_text(path, max_bytes=max_bytes)
    except OSError as exc:
        raise UnknownFlowError(f"cannot read flow spec {path}: {os_reason(exc)}") from None
    except DocumentError as exc:
        raise SpecError(str(path), exc.problems) from None
    return parse_spec(text, str(path))


class FlowCatalog:
    """Built-in flows plus ``*.yaml`` specs in the configured directories (later dirs win).

    Parsed specs are kept, keyed by where they came from and, for files, their
    modification time: a worker loads a flow per call, and an edited file is re-read.
    """

    def __init__(
        self, extra_dirs: Iterable[Path] = (), *, max_document_bytes: int = MAX_DOCUMENT_BYTES
    ) -> None:
        self._extra_dirs = list(extra_dirs)
        # the limit for every document read through this catalog: specs and scenarios
        self.max_document_bytes = max_document_bytes
        self._parsed: dict[tuple[str, int], FlowSpec] = {}

    def sources(self) -> dict[str, str | Path]:
        """Flow id -> where its spec lives (a built-in resource name or a path)."""
        found: dict[str, str | Path] = {}
        for entry in sorted(resources.files(_BUILTIN_PACKAGE).iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".yaml"):
                found[entry.name.removesuffix(".yaml")] = f"builtin:{entry.name}"
        for directory in self._extra_dirs:
            for path in sorted(directory.glob("*.yaml")):
                found[path.stem] = path
        return found

    def load(self, ref: str) -> FlowSpec:
        """A flow id from the catalog, or a path to a spec file."""
        source = self.sources().get(ref)
        if source is None:
            path = Path(ref)
            if path.suffix in {".yaml", ".yml"} or path.exists():
                if not path.is_file():
                    raise UnknownFlowError(f"no flow spec file at {ref}")
                return self._file(path)
            known = ", ".join(sorted(self.sources()))
            raise UnknownFlowError(f"unknown flow {ref!r}; known flows: {known}")
        if isinstance(source, Path):
            return self._file(source)
        key = (source, 0)
        if key not in self._parsed:
            name = source.removeprefix("builtin:")
            text = resources.files(_BUILTIN_PACKAGE).joinpath(name).read_text(encoding="utf-8")
            self._parsed[key] = parse_spec(text, f"flows/spec/builtin/{name}")
        return self._parsed[key]

    def _file(self, path: Path) -> FlowSpec:
        try:
            key = (str(path.resolve()), path.stat().st_mtime_ns)
        except OSError:
            return load_spec_file(path, max_bytes=self.max_document_bytes)  # reports it
        if key not in self._parsed:
            self._parsed[key] = load_spec_file(path, max_bytes=self.max_document_bytes)
        return self._parsed[key]
