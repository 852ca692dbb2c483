"""The strategy registry: names, where their code lives, and the code hash that go-live approvals bind to.

The hash covers the strategy module and every project module it imports, transitively, so a change to the
strategy or to project code it depends on invalidates an approval. It reads files; it imports nothing.
"""

from __future__ import annotations

import ast
import hashlib
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PROJECT_PACKAGES = ("trading", "approvals", "audit", "ats_site")


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


_REGISTRY: dict[str, StrategySpec] = {}


def register(spec: StrategySpec) -> StrategySpec:
    """Add a strategy to the registry (module import time)."""
    _REGISTRY[spec.name] = spec
    return spec


def strategy_names() -> list[str]:
    """All registered strategy names, sorted."""
    _load_builtin()
    return sorted(_REGISTRY)


def get_spec(name: str) -> StrategySpec:
    """The spec for a strategy name, or UnknownStrategy with the known names."""
    _load_builtin()
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
    base = PROJECT_ROOT.joinpath(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _project_imports(path: Path, dotted: str) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
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
        found.update(n for n in names if n.split(".")[0] in PROJECT_PACKAGES)
    return found


def dependency_files(module: str) -> list[Path]:
    """The strategy module's file and every project module file it imports, transitively, sorted."""
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
        pending.extend(_project_imports(path, dotted))
    if module not in seen:
        raise UnknownStrategy(f"strategy module {module!r} has no source file under {PROJECT_ROOT}")
    return sorted(set(seen.values()))


def code_hash(name: str) -> str:
    """SHA-256 over the strategy's module and its project dependencies (relative path and content of each)."""
    spec = get_spec(name)
    digest = hashlib.sha256()
    for path in dependency_files(spec.module):
        digest.update(str(path.relative_to(PROJECT_ROOT)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()
