"""What the ladder's evidence is measured against now: the content hash of the catalog's bars."""

from __future__ import annotations


def current_data_hash(instrument_id: str, bar_spec: str, start: str | None = None, end: str | None = None) -> str:
    """sha256 (trading.marketdata.integrity.data_hash) of the catalog's bars now, over the dates given (inclusive);
    the hash of no bars when the catalog has none."""
    from trading.marketdata.catalog import day_end_ns, day_start_ns, load_bars, open_catalog
    from trading.marketdata.integrity import data_hash
    from trading.strategies.params import bar_type_for

    bars = load_bars(
        open_catalog(),
        bar_type_for(instrument_id, bar_spec),
        day_start_ns(start) if start else None,
        day_end_ns(end) if end else None,
    )
    return data_hash(bars)
