"""The outcome of one gauntlet rung: a verdict, the one-line reason, its numbers and the thresholds applied."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NOT_RUN = "not_run"


@dataclass(frozen=True)
class RungVerdict:
    """One rung's result. `reason` is one line a trader reads; `numbers` and `thresholds` are JSON-ready."""

    rung: str  # e.g. "data_integrity", "deflated_sharpe"
    verdict: Verdict
    reason: str
    numbers: dict[str, Any] = field(default_factory=dict)
    thresholds: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if "\n" in self.reason or not self.reason.strip():
            raise ValueError(f"reason: must be one non-empty line, got {self.reason!r}")

    @property
    def passed(self) -> bool:
        """Whether the rung passed."""
        return self.verdict == Verdict.PASS

    def as_dict(self) -> dict[str, Any]:
        """The verdict as a JSON-ready dict."""
        data = asdict(self)
        data["verdict"] = self.verdict.value
        return data


def not_run(rung: str, reason: str) -> RungVerdict:
    """A rung that could not be judged, and why (e.g. too few trades for the statistic)."""
    return RungVerdict(rung=rung, verdict=Verdict.NOT_RUN, reason=reason)
