"""Studio test fixtures: the RSI(2) pullback spec on QQQ (the README's example)."""

import copy
import json
from pathlib import Path

import pytest

RSI2_SPEC_FILE = Path(__file__).parent / "rsi2_pullback.json"


@pytest.fixture
def rsi2_spec() -> dict:
    """A fresh copy of the RSI(2) pullback spec."""
    return copy.deepcopy(json.loads(RSI2_SPEC_FILE.read_text()))


# The session tests' ibsim stack, for the Studio's ladder end-to-end test.
from tests.sessions.conftest import make_stack  # noqa: E402, F401
