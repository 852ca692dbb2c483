"""The research ladder: the gauntlet of robustness rungs, the paper rung and the ladder that gates go-live."""
