"""Registers the gauntlet's test strategies in worker processes (through ATS_STRATEGY_CATALOGS)."""

from tests.research.strategies import specs
from trading.strategies.registry import register

for spec in specs():
    register(spec)
