"""Market data: the Parquet catalog of instruments and bars, CSV import, and download from the IB gateway."""
