"""Studio spec validation: every refusal is one line, '<path>: <problem>', naming where in the spec it is; parameter
values given at run time are checked the same way (build_config names the spec path); saved versions are immutable
in the database and every save is audited."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import Any

import msgspec
import pytest
from django.db import DatabaseError, IntegrityError, transaction

from audit.models import AuditEntry
from studio import spec as studio_spec
from studio.models import StudioVersion
from studio.services import StudioError, do_save_version
from trading.strategies.params import StrategyParamsError, build_config

REFUSED = (DatabaseError, IntegrityError)


def refusal(spec: Any) -> str:
    """The one-line message validate() refuses the spec with."""
    with pytest.raises(studio_spec.SpecError) as info:
        studio_spec.validate(spec)
    message = str(info.value)
    assert "\n" not in message
    assert message == (f"{info.value.path}: {info.value.problem}" if info.value.path else info.value.problem)
    return message


def nested(depth: int) -> dict:
    """A condition with `depth` all-groups around one comparison."""
    cond: dict = {"left": "close", "op": ">", "right": 0}
    for _ in range(depth):
        cond = {"all": [cond]}
    return cond


def _set(path: tuple, value: Any) -> Callable[[dict], None]:
    def change(spec: dict) -> None:
        target = spec
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def _drop(*keys: str) -> Callable[[dict], None]:
    def change(spec: dict) -> None:
        for key in keys:
            spec.pop(key)

    return change


def _without(keys: tuple, key: str) -> Callable[[dict], None]:
    def change(spec: dict) -> None:
        target = spec
        for k in keys:
            target = target[k]
        target.pop(key)

    return change


def _both(*changes: Callable[[dict], None]) -> Callable[[dict], None]:
    def change(spec: dict) -> None:
        for c in changes:
            c(spec)

    return change


ENTRY0, ENTRY1 = ("entry", "all", 0), ("entry", "all", 1)
DEEP_PATH = "entry" + ".all[0]" * 9  # where a tenth level of nesting starts
MACD = {"type": "macd", "fast_period": 12, "slow_period": 26, "signal_period": 9}

# id: (change to the RSI(2) spec, the whole message, or a regex for the whole message when it lists long choices)
CASES: dict[str, tuple[Callable[[dict], None], str]] = {
    # unknown names
    "unknown-indicator": (
        _set((*ENTRY1, "right"), "rsii"),
        "entry.all[1].right: unknown indicator 'rsii' (bar fields: open, high, low, close, volume, ibs; "
        "indicators: rsi, trend)",
    ),
    "unknown-indicator-in-exit": (
        _set(("exit", "any", 0, "left"), "rsi2"),
        r"re:exit\.any\[0\]\.left: unknown indicator 'rsi2' .*",
    ),
    "unknown-top-level-key": (
        _set(("exits",), {}),
        "exits: unknown key (known: schema, instrument_id, bar_spec, direction, params, indicators, entry, exit, "
        "stops, sizing)",
    ),
    "unknown-condition-key": (
        _set((*ENTRY0, "rigth"), "trend"),
        "entry.all[0].rigth: unknown key (a condition has left, op, right; a group all or any)",
    ),
    "group-with-other-keys": (_set(("entry", "op"), ">"), "entry: a group holds only 'all', got also 'op'"),
    "empty-group": (_set(("exit", "any"), []), "exit.any: expected a non-empty list of conditions"),
    "unknown-indicator-type": (
        _set(("indicators", "rsi", "type"), "rsii"),
        "indicators.rsi.type: unknown indicator type 'rsii' (known: sma, ema, rsi, bbands, atr, macd, donchian, roc, "
        "stoch)",
    ),
    "unknown-indicator-argument": (
        _set(("indicators", "rsi", "length"), 3),
        "indicators.rsi.length: unknown argument of rsi (arguments: period)",
    ),
    "missing-indicator-argument": (
        _set(("indicators", "trend"), {"type": "sma"}),
        "indicators.trend.period: required (bars in the window)",
    ),
    "indicator-named-as-a-bar-field": (
        _set(("indicators", "close"), {"type": "sma", "period": 5}),
        "indicators.close: 'close' is a bar field; name the indicator otherwise",
    ),
    "indicator-id-shape": (
        _set(("indicators", "Trend"), {"type": "sma", "period": 5}),
        "indicators.Trend: an indicator id is lowercase letters, digits and _",
    ),
    "unknown-operator": (
        _set((*ENTRY0, "op"), "=="),
        "entry.all[0].op: unknown operator '==' (operators: >, <, >=, <=, crosses_above, crosses_below, between)",
    ),
    "missing-operator": (
        _without(ENTRY0, "op"),
        "entry.all[0].op: unknown operator None (operators: >, <, >=, <=, crosses_above, crosses_below, between)",
    ),
    "missing-left": (_without(ENTRY0, "left"), "entry.all[0].left: required"),
    "unknown-stop": (
        _set(("stops", "stop_loss"), 5),
        "stops.stop_loss: unknown stop (stops: stop_loss_pct, take_profit_pct, trailing_stop_pct, max_bars_held)",
    ),
    # wrong types
    "param-a-string": (_set(("params", "oversold"), "ten"), "params.oversold: expected a number, got a string 'ten'"),
    "param-a-boolean": (_set(("params", "oversold"), True), "params.oversold: expected a number, got true/false"),
    "params-a-list": (_set(("params",), [10]), "params: expected an object of named numbers, got a list"),
    "indicators-a-list": (_set(("indicators",), []), "indicators: expected an object of named indicators, got a list"),
    "indicator-a-number": (
        _set(("indicators", "trend"), 200),
        'indicators.trend: expected an object like {"type": "sma", "period": 20}, got a number',
    ),
    "period-a-string": (
        _set(("indicators", "trend", "period"), "200"),
        "indicators.trend.period: expected a number, got a string '200'",
    ),
    "entry-a-list": (
        _set(("entry",), []),
        'entry: expected a condition like {"left": "close", "op": ">", "right": "sma"}, got a list',
    ),
    "threshold-null": (_set((*ENTRY1, "right"), None), "entry.all[1].right: expected a number, got null"),
    "stops-a-list": (_set(("stops",), []), "stops: expected an object, got a list"),
    "instrument-a-number": (_set(("instrument_id",), 5), "instrument_id: required, a string, got a number"),
    "instrument-missing": (_drop("instrument_id"), "instrument_id: required, a string, got null"),
    "direction": (_set(("direction",), "sideways"), "direction: expected 'long' or 'short', got 'sideways'"),
    # operands
    "not-an-operand": (
        _set((*ENTRY0, "left"), "close + 1"),
        "entry.all[0].left: not an operand: 'close + 1' (e.g. close, rsi, bbands.lower, close[1], $param)",
    ),
    "output-on-a-bar-field": (
        _set((*ENTRY0, "left"), "close.value"),
        "entry.all[0].left: close has no output 'value' (outputs: none, it is a bar field)",
    ),
    "multi-output-without-output": (
        _both(_set(("indicators", "bb"), {"type": "bbands"}), _set((*ENTRY0, "right"), "bb")),
        "entry.all[0].right: bb has several outputs: say which (bb.upper, bb.middle, bb.lower)",
    ),
    "unknown-output": (
        _both(_set(("indicators", "bb"), {"type": "bbands"}), _set((*ENTRY0, "right"), "bb.mid[1]")),
        "entry.all[0].right: bb has no output 'mid' (outputs: upper, middle, lower)",
    ),
    "too-many-bars-ago": (_set((*ENTRY0, "left"), "close[101]"), "entry.all[0].left: at most 100 bars ago, got 101"),
    # between
    "between-a-number": (
        _set(ENTRY1[:-1] + (1,), {"left": "rsi", "op": "between", "right": 5}),
        "entry.all[1].right: between takes [low, high], got a number",
    ),
    "between-three-bounds": (
        _set(ENTRY1[:-1] + (1,), {"left": "rsi", "op": "between", "right": [1, 2, 3]}),
        "entry.all[1].right: between takes [low, high], got a list",
    ),
    "between-unknown-bound": (
        _set(ENTRY1[:-1] + (1,), {"left": "rsi", "op": "between", "right": [1, "$hi"]}),
        "entry.all[1].right[1]: unknown parameter '$hi' (params: $overbought, $oversold, $rsi_period)",
    ),
    # exits
    "no-way-out": (
        _drop("exit", "stops"),
        "exit: a position needs a way out: an exit condition, a stop or max_bars_held",
    ),
    "no-way-out-null-stops": (
        lambda s: (s.pop("exit"), s.update(stops={"stop_loss_pct": None})),
        "exit: a position needs a way out: an exit condition, a stop or max_bars_held",
    ),
    "no-entry": (_drop("entry"), "entry: required: the condition that opens a position"),
    # parameters
    "unknown-param": (
        _set((*ENTRY1, "right"), "$oversld"),
        "entry.all[1].right: unknown parameter '$oversld' (params: $overbought, $oversold, $rsi_period)",
    ),
    "unknown-param-in-indicator": (
        _set(("indicators", "trend", "period"), "$trend"),
        "indicators.trend.period: unknown parameter '$trend' (params: $overbought, $oversold, $rsi_period)",
    ),
    "unknown-param-in-stop": (
        _set(("stops", "max_bars_held"), "$hold"),
        "stops.max_bars_held: unknown parameter '$hold' (params: $overbought, $oversold, $rsi_period)",
    ),
    "reserved-param-notional": (
        _set(("params", "notional"), 5000),
        "params.notional: reserved: the sleeve's own setting has this name",
    ),
    "reserved-param-spec": (
        _set(("params", "spec"), 1),
        "params.spec: reserved: the sleeve's own setting has this name",
    ),
    "reserved-param-allow-short": (
        _set(("params", "allow_short"), 1),
        "params.allow_short: reserved: the sleeve's own setting has this name",
    ),
    "param-name-shape": (_set(("params", "Oversold"), 5), "params.Oversold: a name is lowercase letters, digits and _"),
    "sizing-param": (_set(("sizing",), {"notional": "$n"}), "sizing.notional: expected a number, got a string '$n'"),
    # ranges
    "period-zero": (
        _set(("indicators", "trend", "period"), 0),
        "indicators.trend.period: must be a whole number from 1 to 5000, got 0",
    ),
    "period-too-long": (
        _set(("indicators", "trend", "period"), 5001),
        "indicators.trend.period: must be a whole number from 1 to 5000, got 5001",
    ),
    "period-fraction": (
        _set(("indicators", "trend", "period"), 20.5),
        "indicators.trend.period: must be a whole number from 1 to 5000, got 20.5",
    ),
    "period-zero-via-param": (
        _set(("params", "rsi_period"), 0),
        "indicators.rsi.period: must be a whole number from 1 to 5000, got 0 (from $rsi_period)",
    ),
    "period-fraction-via-param": (
        _set(("params", "rsi_period"), 2.5),
        "indicators.rsi.period: must be a whole number from 1 to 5000, got 2.5 (from $rsi_period)",
    ),
    "macd-fast-above-slow": (
        _set(("indicators", "m"), {**MACD, "fast_period": 30}),
        "indicators.m.slow_period: must be greater than fast_period",
    ),
    "macd-fast-equals-slow": (
        _set(("indicators", "m"), {**MACD, "fast_period": 26}),
        "indicators.m.slow_period: must be greater than fast_period",
    ),
    "bbands-k-zero": (
        _set(("indicators", "bb"), {"type": "bbands", "k": 0}),
        "indicators.bb.k: must be greater than 0, got 0",
    ),
    "stop-loss-zero": (
        _set(("stops", "stop_loss_pct"), 0),
        "stops.stop_loss_pct: must be between 0 and 100 (percent), got 0",
    ),
    "stop-loss-100": (
        _set(("stops", "stop_loss_pct"), 100),
        "stops.stop_loss_pct: must be between 0 and 100 (percent), got 100",
    ),
    "trailing-negative": (
        _set(("stops", "trailing_stop_pct"), -2),
        "stops.trailing_stop_pct: must be between 0 and 100 (percent), got -2",
    ),
    "take-profit-zero": (
        _set(("stops", "take_profit_pct"), 0),
        "stops.take_profit_pct: must be greater than 0 (percent), got 0",
    ),
    "max-bars-held-zero": (
        _set(("stops", "max_bars_held"), 0),
        "stops.max_bars_held: must be a whole number from 1 to 5000, got 0",
    ),
    "max-bars-held-fraction": (
        _set(("stops", "max_bars_held"), 2.5),
        "stops.max_bars_held: must be a whole number from 1 to 5000, got 2.5",
    ),
    # sizing
    "sizing-two-keys": (
        _set(("sizing",), {"notional": 10000, "quantity": 10}),
        'sizing: exactly one of notional, quantity, percent_equity, e.g. {"notional": 10000}',
    ),
    "sizing-unknown": (
        _set(("sizing",), {"shares": 10}),
        'sizing: exactly one of notional, quantity, percent_equity, e.g. {"notional": 10000}',
    ),
    "sizing-notional-zero": (_set(("sizing",), {"notional": 0}), "sizing.notional: must be a positive amount, got 0"),
    "sizing-percent-over-100": (
        _set(("sizing",), {"percent_equity": 150}),
        "sizing.percent_equity: must be above 0 and at most 100, got 150",
    ),
    "sizing-quantity-fraction": (
        _set(("sizing",), {"quantity": 1.5}),
        "sizing.quantity: must be a whole number from 1 to 10000000, got 1.5",
    ),
    # identifiers and schema
    "bad-instrument": (
        _set(("instrument_id",), "QQQ"),
        "instrument_id: malformed instrument id 'QQQ': expected SYMBOL.VENUE in capitals, e.g. QQQ.NASDAQ",
    ),
    "bad-bar-spec": (
        _set(("bar_spec",), "1-DAY"),
        "bar_spec: malformed bar spec '1-DAY': expected e.g. 1-DAY-LAST, 5-SECOND-LAST or 1-MINUTE-LAST",
    ),
    "schema-2": (_set(("schema",), 2), "schema: unsupported schema version 2; this ATS reads schema 1"),
    "schema-a-string": (_set(("schema",), "1"), "schema: unsupported schema version '1'; this ATS reads schema 1"),
    "schema-true": (_set(("schema",), True), "schema: unsupported schema version True; this ATS reads schema 1"),
    # limits
    "nesting": (_set(("entry",), nested(10)), f"{DEEP_PATH}: nested more than 8 levels"),
    "too-many-conditions": (
        _set(("entry",), {"any": [{"left": "close", "op": ">", "right": i} for i in range(70)]}),
        "entry.any[63]: more than 64 conditions in one spec",
    ),
    "too-many-indicators": (
        _set(("indicators",), {f"sma{i}": {"type": "sma", "period": 5} for i in range(33)}),
        "indicators: at most 32 indicators",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_refusal_names_the_path(case, rsi2_spec):
    change, expected = CASES[case]
    spec = copy.deepcopy(rsi2_spec)
    change(spec)
    message = refusal(spec)
    if expected.startswith("re:"):
        assert re.fullmatch(expected[3:], message), message
    else:
        assert message == expected


def test_the_rsi2_spec_itself_is_valid(rsi2_spec):
    canonical = studio_spec.validate(rsi2_spec)
    assert canonical["sizing"] == {"notional": 10000}
    assert studio_spec.resolve(canonical, {}).warmup == 200


def test_a_quantity_is_not_capped_like_a_period(rsi2_spec):
    rsi2_spec["sizing"] = {"quantity": 20_000}
    assert studio_spec.resolve(studio_spec.validate(rsi2_spec), {}).spec["sizing"] == {"quantity": 20_000}


def test_nesting_at_the_limit_is_accepted(rsi2_spec):
    rsi2_spec["entry"] = nested(8)
    studio_spec.validate(rsi2_spec)


def test_refusals_of_the_whole_document():
    assert refusal([1]) == "a spec is a JSON object, got a list"
    assert refusal("spec") == "a spec is a JSON object, got a string 'spec'"
    with pytest.raises(studio_spec.SpecError, match=r"^not valid JSON \(Expecting value at line 1 column 1\)$"):
        studio_spec.load("")
    with pytest.raises(studio_spec.SpecError, match=r"^nested too deeply$"):
        studio_spec.load("[" * 20_000 + "]" * 20_000)
    with pytest.raises(studio_spec.SpecError, match=r"^a spec is at most 64000 characters, got 400000$"):
        studio_spec.load("[" * 200_000 + "]" * 200_000)


@pytest.mark.parametrize(
    ("text", "shown"),
    [("Infinity", "inf"), ("-Infinity", "-inf"), ("NaN", "nan"), ("1" + "0" * 400, "an integer of 401 digits")],
)
def test_numbers_no_float_holds_are_refused(text, shown, rsi2_spec):
    # Python's JSON reads NaN and Infinity, and integers of any length.
    document = json.dumps(rsi2_spec).replace('"oversold": 10.0', f'"oversold": {text}')
    with pytest.raises(studio_spec.SpecError) as info:
        studio_spec.load(document)
    assert str(info.value) == f"params.oversold: expected a finite number, got {shown}"
    rsi2_spec["sizing"] = {"notional": 10**400}
    assert refusal(rsi2_spec) == "sizing.notional: expected a finite number, got an integer of 401 digits"


def test_every_config_field_is_a_reserved_parameter_name():
    """A parameter becomes a config field: it may not shadow the interpreter's (Nautilus's included)."""
    from studio.interpreter import StudioConfig

    fields = {f.name for f in msgspec.structs.fields(StudioConfig)}
    assert fields <= studio_spec.RESERVED_PARAMS, sorted(fields - studio_spec.RESERVED_PARAMS)
    # Methods too: a parameter named json would replace config.json(), one named manage_stop configure Nautilus.
    members = {name for name in dir(StudioConfig) if re.match(r"^[a-z][a-z0-9_]{0,39}$", name)}
    assert members <= studio_spec.RESERVED_PARAMS, sorted(members - studio_spec.RESERVED_PARAMS)


@pytest.mark.parametrize(
    "name", ["manage_stop", "market_exit_max_attempts", "bar_type", "percent_equity", "json", "validate"]
)
def test_a_nautilus_config_field_is_not_a_parameter_name(name, rsi2_spec):
    rsi2_spec["params"][name] = 1
    assert refusal(rsi2_spec) == f"params.{name}: reserved: the sleeve's own setting has this name"


def test_save_refuses_with_the_same_one_line_message(rsi2_spec, db):
    rsi2_spec["indicators"]["trend"]["period"] = 0
    with pytest.raises(StudioError) as info:
        do_save_version(name="rsi2", spec=rsi2_spec, actor="user:test")
    assert str(info.value) == "indicators.trend.period: must be a whole number from 1 to 5000, got 0"
    with pytest.raises(StudioError, match=r"^schema: unsupported schema version 2; this ATS reads schema 1$"):
        do_save_version(name="rsi2", spec=json.dumps({**rsi2_spec, "schema": 2}), actor="user:test")
    assert not StudioVersion.objects.exists()


# -- parameter values at run time ------------------------------------------------------------------------------------

RANGED = {
    "schema": 1,
    "instrument_id": "QQQ.NASDAQ",
    "bar_spec": "1-DAY-LAST",
    "params": {"length": 20.0, "fast": 12, "sl": 3.0, "hold": 10, "oversold": 30},
    "indicators": {
        "trend": {"type": "sma", "period": "$length"},
        "m": {"type": "macd", "fast_period": "$fast"},
        "rsi": {"type": "rsi", "period": 14},
    },
    "entry": {
        "all": [{"left": "close", "op": ">", "right": "trend"}, {"left": "rsi", "op": "<", "right": "$oversold"}]
    },
    "stops": {"stop_loss_pct": "$sl", "max_bars_held": "$hold"},
}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"length": 0}, "indicators.trend.period: must be a whole number from 1 to 5000, got 0.0 (from $length)"),
        ({"length": 20.5}, "indicators.trend.period: must be a whole number from 1 to 5000, got 20.5 (from $length)"),
        ({"length": 9000}, "indicators.trend.period: must be a whole number from 1 to 5000, got 9000.0 (from $length)"),
        ({"fast": 26}, "indicators.m.slow_period: must be greater than fast_period"),
        ({"sl": 100}, "stops.stop_loss_pct: must be between 0 and 100 (percent), got 100.0"),
        ({"sl": -1}, "stops.stop_loss_pct: must be between 0 and 100 (percent), got -1.0"),
        ({"hold": 0}, "stops.max_bars_held: must be a whole number from 1 to 5000, got 0 (from $hold)"),
    ],
)
def test_build_config_names_the_spec_path(params, message):
    version, _ = do_save_version(name="ranged", spec=RANGED, actor="user:test")
    with pytest.raises(StrategyParamsError) as info:
        build_config(version.strategy_name, "QQQ.NASDAQ", "1-DAY-LAST", params)
    assert str(info.value) == message


@pytest.mark.django_db
def test_build_config_accepts_values_in_range():
    version, _ = do_save_version(name="ranged", spec=RANGED, actor="user:test")
    config = build_config(version.strategy_name, "QQQ.NASDAQ", "1-DAY-LAST", {"length": 50.0, "sl": 5, "fast": 5})
    rules = config.rules()
    assert rules.spec["indicators"]["trend"]["period"] == 50
    assert rules.spec["indicators"]["m"]["fast_period"] == 5
    assert rules.spec["stops"]["stop_loss_pct"] == 5.0


# -- immutability and audit ------------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_saved_version_cannot_be_changed_or_removed(rsi2_spec):
    version, _ = do_save_version(name="rsi2", spec=rsi2_spec, actor="user:test", note="first")
    original = (version.spec, version.spec_hash, version.note, version.author)
    version.note = "edited"
    version.spec = version.spec.replace('"oversold":10.0', '"oversold":50.0')
    attempts = {
        "save": version.save,
        "save-update-fields": lambda: version.save(update_fields=["note"]),
        "queryset-update": lambda: StudioVersion.objects.filter(pk=version.pk).update(note="edited"),
        "queryset-update-all": lambda: StudioVersion.objects.update(author="user:mallory"),
        "delete": lambda: StudioVersion.objects.get(pk=version.pk).delete(),
        "queryset-delete": lambda: StudioVersion.objects.all().delete(),
        "bulk-update": lambda: StudioVersion.objects.bulk_update([version], ["note", "spec"]),
    }
    for name, attempt in attempts.items():
        with pytest.raises(REFUSED, match="append-only"), transaction.atomic():
            attempt()
            pytest.fail(f"{name} was not refused")
    row = StudioVersion.objects.get(pk=version.pk)
    assert (row.spec, row.spec_hash, row.note, row.author) == original
    assert StudioVersion.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_child_does_not_make_its_parent_deletable(rsi2_spec):
    first, _ = do_save_version(name="rsi2", spec=rsi2_spec, actor="user:test")
    rsi2_spec["params"]["oversold"] = 5.0
    second, _ = do_save_version(name="rsi2", spec=rsi2_spec, actor="user:test")
    assert second.parent == first
    with pytest.raises(REFUSED, match="append-only"), transaction.atomic():
        StudioVersion.objects.filter(pk=second.pk).delete()
    assert StudioVersion.objects.count() == 2


@pytest.mark.postgres
@pytest.mark.django_db
def test_every_save_writes_one_audit_entry(rsi2_spec):
    def saved_entries():
        return list(AuditEntry.objects.filter(action="studio.version_saved").order_by("seq"))

    first, created = do_save_version(name="rsi2", spec=rsi2_spec, actor="user:alice", note="first cut")
    assert created
    (entry,) = saved_entries()
    assert (entry.actor, entry.target) == ("user:alice", "studio:rsi2@1")
    assert entry.payload == {
        "spec_hash": first.spec_hash,
        "parent": None,
        "instrument_id": "QQQ.NASDAQ",
        "bar_spec": "1-DAY-LAST",
        "note": "first cut",
    }

    # Saving the same spec again stores nothing and audits nothing.
    again, created = do_save_version(name="rsi2", spec=rsi2_spec, actor="user:bob")
    assert not created and again.pk == first.pk
    assert len(saved_entries()) == 1

    rsi2_spec["params"]["oversold"] = 5.0
    second, created = do_save_version(name="rsi2", spec=rsi2_spec, actor="user:bob")
    other, _ = do_save_version(name="other", spec=rsi2_spec, actor="user:bob")
    entries = saved_entries()
    assert [e.target for e in entries] == ["studio:rsi2@1", "studio:rsi2@2", "studio:other@1"]
    assert entries[1].payload["parent"] == "studio:rsi2@1" and entries[1].payload["spec_hash"] == second.spec_hash
    assert entries[2].payload["parent"] is None and entries[2].payload["spec_hash"] == other.spec_hash

    # A refused save writes no entry.
    rsi2_spec["entry"]["all"][1]["right"] = "rsii"
    with pytest.raises(StudioError):
        do_save_version(name="rsi2", spec=rsi2_spec, actor="user:bob")
    assert len(saved_entries()) == 3
    assert StudioVersion.objects.count() == 3
