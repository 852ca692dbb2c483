"""Benchmark: the whole gauntlet for a 24-point grid on the 5,031 daily QQQ bars, with 1 and then 2 django-q workers.

    DEBUG=true .venv/bin/python bench/gauntlet.py [--workers 1,2]

Each measurement: a fresh SQLite database and catalog (the embedded default), a `manage.py qcluster` with
ATS_Q_WORKERS workers started and warmed up (its workers have imported Nautilus), then one gauntlet queued by
`do_start_gauntlet`; timed from the queueing to the report's verdict. Prints the wall time per worker count, the
speed-up, and per-job percentiles. Targets (issue 13): <= 120 s with 2 workers on this 2-core machine, and a
speed-up of at least 1.7x from 1 to 2 workers.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GRID = {"buy_threshold": [0.05, 0.1, 0.15, 0.2, 0.25, 0.3], "sell_threshold": [0.6, 0.7, 0.8, 0.9]}
CHOSEN = {"buy_threshold": 0.1, "sell_threshold": 0.7}


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def measure(workers: int) -> dict:
    """One gauntlet with `workers` django-q workers in a fresh stack; returns its timings."""
    workdir = Path(tempfile.mkdtemp(prefix=f"ats-bench-gauntlet-{workers}-"))
    env = {
        **os.environ,
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "ATS_CATALOG_DIR": str(workdir / "catalog"),
        "ATS_Q_WORKERS": str(workers),
        "LOG_LEVEL": "WARNING",
        # One key for the cluster and the process that queues: django-q signs its tasks with it.
        "SECRET_KEY": secrets.token_urlsafe(50),
    }
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=REPO, env=env, check=True)
    subprocess.run(
        [*manage, "import_bars", "data/daily/QQQ.csv", "--instrument", "QQQ.NASDAQ", "--bar-spec", "1-DAY-LAST"],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
    )
    with open(workdir / "qcluster.log", "w") as log:
        cluster = subprocess.Popen([*manage, "qcluster"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        time.sleep(8)  # the cluster's workers start and import Django and Nautilus before the clock starts
        code = (
            "import json, time\n"
            "from research.services import do_start_gauntlet\n"
            "from research.models import GauntletReport, ReportStatus\n"
            f"r = do_start_gauntlet(strategy='ibs_reversion', instrument_id='QQQ.NASDAQ', bar_spec='1-DAY-LAST', "
            f"params={CHOSEN!r}, grid={GRID!r}, actor='system:bench')\n"
            "t0 = time.perf_counter()\n"
            "while GauntletReport.objects.get(pk=r.pk).status == ReportStatus.RUNNING:\n"
            "    time.sleep(0.2)\n"
            "    if time.perf_counter() - t0 > 1800: raise SystemExit('timed out')\n"
            "wall = time.perf_counter() - t0\n"
            "r.refresh_from_db()\n"
            "jobs = [(j.finished_at - j.started_at).total_seconds() for j in r.jobs.all()]\n"
            "print(json.dumps({'wall': wall, 'jobs': jobs, 'n': r.tasks_total, 'verdict': r.verdict, "
            "'workers': len(set(r.jobs.values_list('worker', flat=True)))}))\n"
        )
        out = subprocess.run(
            [*manage, "shell", "-c", code], cwd=REPO, env=env, check=True, capture_output=True, text=True
        )
        import json

        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        cluster.send_signal(signal.SIGTERM)
        try:
            cluster.wait(timeout=30)
        except subprocess.TimeoutExpired:
            cluster.kill()


def main() -> None:
    """Run the measurements and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts (default %(default)s)")
    counts = [int(n) for n in parser.parse_args().workers.split(",")]
    results = {n: measure(n) for n in counts}
    for n, r in results.items():
        jobs = r["jobs"]
        print(
            f"workers={n}: {r['n']} backtests in {r['wall']:.1f} s wall ({r['workers']} worker processes took jobs); "
            f"per job p50 {percentile(jobs, 50):.2f} s, p99 {percentile(jobs, 99):.2f} s; verdict {r['verdict']}"
        )
    if 1 in results and 2 in results:
        speedup = results[1]["wall"] / results[2]["wall"]
        print(
            f"speed-up 1 -> 2 workers: {speedup:.2f}x (target >= 1.7x); 2 workers {results[2]['wall']:.1f} s "
            "(target <= 120 s)"
        )


if __name__ == "__main__":
    main()
