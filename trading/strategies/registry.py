"""The strategy registry: names, where their code lives, and the code hash that go-live approvals bind to.

The hash covers everything that runs: the strategy module, every module it imports (transitively) that is not
from the standard library or a distribution pinned in requirements.txt (project apps and a user's catalogue
package, inside the project tree or not), the `__init__` of every package on the way, and the versions of
nautilus_trader and the IB adapter. It reads files; it imports nothing.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.machinery
import importlib.metadata
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nautilus_trader.model.data import Bar

PROJECT_ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = Path(__file__).resolve().parents[2] / "requirements.txt"
# The engine and the IB adapter: pinned, not hashed file by file, but an upgrade changes what runs, so their
# versions enter the hash.
PINNED_RUNTIME = ("nautilus_trader", "nautilus_ibapi")


# A strategy's indicator lines for the price chart: label -> one value per bar (None before it has warmed up).
ChartLines = dict[str, list[float | None]]
ChartLinesHook = Callable[[dict[str, Any], Sequence["Bar"]], ChartLines]


class UnknownStrategy(LookupError):
    """No strategy is registered under that name."""


@dataclass(frozen=True)
class StrategySpec:
    """Where a registered strategy's code lives."""

    name: str
    module: str  # dotted module path holding the Strategy subclass and its StrategyConfig
    strategy_class: str
    config_class: str
    summary: str
    # A strategy built from data (a Studio version) loads its (Strategy, StrategyConfig) classes through this
    # instead of module attributes, and adds that data to its code hash as (label, content) pairs.
    loader: Callable[[], tuple[Any, Any]] | None = None
    data_hash_inputs: tuple[tuple[str, bytes], ...] = ()
    # The indicator lines drawn over the price on the backtest page, from a run's params and bars (the page calls
    # it; nothing that trades does). Kept out of the strategy module, so declaring lines leaves its code hash alone.
    chart_lines: ChartLinesHook | None = None


@dataclass(frozen=True)
class StrategySource:
    """Strategies named '<prefix>:...' that live outside the code (e.g. the Studio's versions, in the database)."""

    prefix: str
    resolve: Callable[[str], StrategySpec]  # raises UnknownStrategy
    names: Callable[[], list[str]]


_REGISTRY: dict[str, StrategySpec] = {}
_SOURCES: dict[str, StrategySource] = {}


def register_source(source: StrategySource) -> None:
    """Add a source of named strategies (an app's ready())."""
    _SOURCES[source.prefix] = source


def register(spec: StrategySpec) -> StrategySpec:
    """Add a strategy to the registry (module import time)."""
    _REGISTRY[spec.name] = spec
    return spec


def builtin_names() -> list[str]:
    """The strategies declared in code (the built-in catalogue and ATS_STRATEGY_CATALOGS), sorted; no database."""
    _load_builtin()
    return sorted(_REGISTRY)


def strategy_names() -> list[str]:
    """All registered strategy names: those declared in code, then those of each source (e.g. Studio versions)."""
    _load_builtin()
    return builtin_names() + [name for source in _SOURCES.values() for name in source.names()]


def get_spec(name: str) -> StrategySpec:
    """The spec for a strategy name, or UnknownStrategy with the known names."""
    if not isinstance(name, str):
        raise UnknownStrategy(f"a strategy is given by name, not as {type(name).__name__}")
    _load_builtin()
    prefix, colon, _ = name.partition(":")
    if colon and prefix in _SOURCES:
        return _SOURCES[prefix].resolve(name)
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise UnknownStrategy(f"unknown strategy {name!r}; known strategies: {known}") from None


def _load_builtin() -> None:
    # The built-in catalogue lives in trading.strategies.catalog (declarations only, no Nautilus import); more
    # catalogues (a user's own strategies) come from ATS_STRATEGY_CATALOGS, a comma-separated list of modules.
    import importlib
    import os

    from trading.strategies import catalog  # noqa: F401

    for module in filter(None, (m.strip() for m in os.environ.get("ATS_STRATEGY_CATALOGS", "").split(","))):
        importlib.import_module(module)


def _module_file(dotted: str) -> Path | None:
    """The source file of a module, found without importing it: under the project root first, then on sys.path."""
    base = PROJECT_ROOT.joinpath(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    search: list[str] | None = None
    spec = None
    parts = dotted.split(".")
    for depth in range(1, len(parts) + 1):
        if depth > 1 and search is None:
            return None  # a plain module has no submodules
        try:
            spec = importlib.machinery.PathFinder.find_spec(".".join(parts[:depth]), search)
        except (ImportError, ValueError):
            return None
        if spec is None:
            return None
        search = list(spec.submodule_search_locations) if spec.submodule_search_locations is not None else None
    origin = spec.origin if spec is not None else None
    return Path(origin) if origin and origin.endswith(".py") and Path(origin).is_file() else None


@functools.cache
def _third_party_packages() -> frozenset[str]:
    """Top-level import names of the distributions pinned in requirements.txt: their versions are pinned, so
    their code is not hashed (nautilus_trader's and the IB adapter's versions are, see PINNED_RUNTIME)."""
    pinned = set()
    for line in REQUIREMENTS.read_text().splitlines():
        name = re.split(r"[=<>~!;\[ ]", line.strip(), maxsplit=1)[0]
        if name and not name.startswith("#"):
            pinned.add(_canonical(name))
    provided = importlib.metadata.packages_distributions()
    return frozenset(top for top, dists in provided.items() if any(_canonical(d) in pinned for d in dists))


def _canonical(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def _followed(dotted: str) -> bool:
    """Whether an imported module's code is hashed: anything not from the standard library or a pinned
    third-party distribution (project apps, user catalogue packages, installed or on the Python path)."""
    top = dotted.split(".")[0]
    return bool(top) and top not in sys.stdlib_module_names and top not in _third_party_packages()


def _imports(path: Path, dotted: str) -> set[str]:
    """Every module a file imports (absolute names; relative imports resolved) that the hash follows."""
    tree = ast.parse(path.read_bytes(), filename=str(path))
    package = dotted if path.name == "__init__.py" else dotted.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            # `from pkg import name` may name a submodule: consider both.
            names = [module] + [f"{module}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(n for n in names if _followed(n))
    return found


def _parents(dotted: str) -> list[str]:
    """The packages whose __init__ runs before a module does: a.b.c -> a, a.b."""
    parts = dotted.split(".")
    return [".".join(parts[:depth]) for depth in range(1, len(parts))]


def dependency_modules(module: str) -> dict[str, Path]:
    """The strategy module, every module it imports that the hash follows, transitively, and every package
    __init__ on the way, by dotted name."""
    seen: dict[str, Path] = {}
    pending = [module]
    while pending:
        dotted = pending.pop()
        if dotted in seen:
            continue
        path = _module_file(dotted)
        if path is None:
            continue
        seen[dotted] = path
        pending.extend(_parents(dotted))
        pending.extend(_imports(path, dotted))
    if module not in seen:
        raise UnknownStrategy(
            f"strategy module {module!r} has no Python source file (under {PROJECT_ROOT} or on sys.path)"
        )
    return seen


def dependency_files(module: str) -> list[Path]:
    """The strategy module's file and every file the code hash covers, sorted."""
    return sorted(set(dependency_modules(module).values()))


def code_hash_inputs(name: str) -> list[tuple[str, bytes]]:
    """What the code hash covers, as (label, content): each source file, then the pinned runtime versions."""
    spec = get_spec(name)
    inputs = []
    for dotted, path in sorted(dependency_modules(spec.module).items()):
        label = str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else f"module:{dotted}"
        inputs.append((label, path.read_bytes()))
    inputs.extend(spec.data_hash_inputs)
    for distribution in PINNED_RUNTIME:
        try:
            version = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            version = "absent"
        inputs.append((f"version:{distribution}", version.encode()))
    return inputs


def code_hash(name: str) -> str:
    """SHA-256 over the strategy's code, every module it runs that is not pinned third-party code, and the
    versions of nautilus_trader and the IB adapter (label and content of each)."""
    digest = hashlib.sha256()
    for label, content in code_hash_inputs(name):
        digest.update(label.encode() + b"\0")
        digest.update(content + b"\0")
    return digest.hexdigest()
