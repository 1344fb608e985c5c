"""Finding and loading flow specs: built-in ids, extra directories, or a file path."""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from flows.documents import DocumentError, read_document, validate
from flows.errors import SpecError, UnknownFlowError
from flows.spec import FlowSpec

_BUILTIN_PACKAGE = "flows.builtin"


def parse_spec(text: str, source: str) -> FlowSpec:
    """Validate a spec, raising SpecError with every problem and its place in the file."""
    try:
        return validate(FlowSpec, read_document(text, source))
    except DocumentError as exc:
        raise SpecError(source, exc.problems) from None


def load_spec_file(path: Path) -> FlowSpec:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UnknownFlowError(f"cannot read flow spec {path}: {exc.__class__.__name__}") from None
    return parse_spec(text, str(path))


class FlowCatalog:
    """Built-in flows plus ``*.yaml`` specs in the configured directories (later dirs win)."""

    def __init__(self, extra_dirs: Iterable[Path] = ()) -> None:
        self._extra_dirs = list(extra_dirs)

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
                return load_spec_file(path)
            known = ", ".join(sorted(self.sources()))
            raise UnknownFlowError(f"unknown flow {ref!r}; known flows: {known}")
        if isinstance(source, Path):
            return load_spec_file(source)
        name = source.removeprefix("builtin:")
        text = resources.files(_BUILTIN_PACKAGE).joinpath(name).read_text(encoding="utf-8")
        return parse_spec(text, f"flows/builtin/{name}")
