"""Registers the test-only strategies (loaded through ATS_STRATEGY_CATALOGS in the session tests)."""

from trading.strategies.registry import StrategySpec, register

register(
    StrategySpec(
        name="order_probe",
        module="tests.sessions.probe_strategy",
        strategy_class="OrderProbe",
        config_class="OrderProbeConfig",
        summary="Test probe: places market, working or burst orders on the first quote.",
    )
)
register(
    StrategySpec(
        name="adversary",
        module="tests.sessions.adversary_strategy",
        strategy_class="Adversary",
        config_class="AdversaryConfig",
        summary="Test adversary: tries every known way around the order gate, one step at a time.",
    )
)
