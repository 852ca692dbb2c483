"""Sortable tables: one rule for ?sort= and the column headings' links (the Research runs, a backtest's trades)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Column:
    """A table column: its ?sort= key, heading, whether it is a number (right-aligned), and whether its first click
    sorts largest first (P&L, returns: best first)."""

    key: str
    label: str
    numeric: bool = False
    best_first: bool = False


@dataclass(frozen=True)
class Sort:
    """The order a table is shown in, and the one-line note when the ?sort= asked for was not a column."""

    key: str
    descending: bool
    note: str = ""

    @property
    def param(self) -> str:
        """The ?sort= value of this order: 'pnl' or '-pnl'."""
        return f"-{self.key}" if self.descending else self.key


def parse_sort(text: str | None, columns: Sequence[Column], default: Sort) -> Sort:
    """?sort= as a Sort: 'key' ascending, '-key' descending; anything else is the default with a note."""
    if not text:
        return default
    key = text[1:] if text.startswith("-") else text
    if key in {c.key for c in columns}:
        return Sort(key, text.startswith("-"))
    known = ", ".join(sorted(c.key for c in columns))
    label = next(c.label for c in columns if c.key == default.key)
    return Sort(
        default.key, default.descending, f"Unknown sort {text[:40]!r}: sorted by {label} (sort by one of {known})."
    )


def headings(columns: Sequence[Column], sort: Sort, link: Callable[[str], str]) -> list[dict[str, Any]]:
    """Each column's heading with the link that sorts by it (a click on the sorted column flips it) and its
    aria-sort; link(param) makes the URL for a ?sort= value."""
    out = []
    for column in columns:
        active = column.key == sort.key
        if active:
            target = column.key if sort.descending else f"-{column.key}"
        else:
            target = f"-{column.key}" if column.best_first else column.key
        out.append(
            {
                "key": column.key,
                "label": column.label,
                "numeric": column.numeric,
                "url": link(target),
                "aria_sort": ("descending" if sort.descending else "ascending") if active else "none",
            }
        )
    return out
