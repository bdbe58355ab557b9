"""The fault-injection script's short form, as part of the suite: real `trailroom dev`, real kills.

`scripts/faults.py --short` runs a small batch of try-ons per fault (worker and Redis killed, the
database restarted, the engine timing out and failing) and exits non-zero unless no job was lost, no
credit charged twice, and every fault was recovered from without a person.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FAULTS = (
    "worker killed (SIGKILL)",
    "redis-server killed (SIGKILL)",
    "database server restarted",
    "engine times out",
    "engine fails",
)


@pytest.mark.timeout(420)
def test_fault_injection_short_form_loses_nothing_and_recovers_by_itself(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAILROOM_")}
    env["TMPDIR"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "faults.py"), "--short"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=400,
    )
    report = result.stdout
    assert result.returncode == 0, f"{report}\n{result.stderr[-4000:]}"
    assert "RESULT: PASS" in report
    assert "ledger balanced (balance = sum of entries): yes" in report
    rows = {line[:32].strip(): line[32:].split() for line in report.splitlines() if line[:32].strip() in FAULTS}
    assert set(rows) == set(FAULTS), report
    for fault, (submitted, completed, failed_refunded, lost, charged_twice, recover_s) in rows.items():
        assert int(submitted) > 0, fault
        assert int(completed) + int(failed_refunded) == int(submitted), fault
        assert int(lost) == 0, fault
        assert int(charged_twice) == 0, fault
        assert recover_s != "NEVER", fault
    # The process faults end with every try-on done; the engine faults with every one refunded.
    for fault in FAULTS[:3]:
        assert rows[fault][1] == rows[fault][0], (fault, report)
    for fault in FAULTS[3:]:
        assert rows[fault][2] == rows[fault][0], (fault, report)
    # The supervisor said what it restarted.
    assert "trailroom worker exited (killed by SIGKILL)" in report
    assert "redis-server exited (killed by SIGKILL)" in report
    assert "SecantusDB restarted" in report
