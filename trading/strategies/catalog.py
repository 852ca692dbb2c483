"""The built-in strategies, declared by name. Declarations only: importing this pulls in no Nautilus code."""

from trading.strategies import lines
from trading.strategies.registry import StrategySpec, register

register(
    StrategySpec(
        name="ibs_reversion",
        module="trading.strategies.ibs_reversion",
        strategy_class="IBSReversion",
        config_class="IBSReversionConfig",
        summary="Internal Bar Strength mean reversion: buy weak closes, sell strength.",
        chart_lines=lines.ibs_reversion,
    )
)

register(
    StrategySpec(
        name="sma_cross",
        module="trading.strategies.sma_cross",
        strategy_class="SMACross",
        config_class="SMACrossConfig",
        summary="Moving-average cross: long while the fast SMA is above the slow SMA.",
        chart_lines=lines.sma_cross,
    )
)
