"""Paper and live trading sessions: records, guards, the node host, risk caps, kill switch and telemetry."""
