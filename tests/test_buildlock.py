"""analysis/core/buildlock.py: the lock is held while its owner lives, and released when it ends."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from analysis.core import buildlock


def test_lock_is_held_for_the_owner_and_released_when_it_ends(tmp_path: Path) -> None:
    lock = tmp_path / ".build.lock"
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert buildlock.acquire(lock, owner.pid) == "ok"
        second = buildlock.acquire(lock, 1)
        assert second.startswith("another make is already running in this checkout")
        assert f"pid {owner.pid}" in second
    finally:
        owner.kill()
        owner.wait()
    # the holder notices its owner is gone and lets go (a new make waits for that briefly)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert buildlock.acquire(lock, other.pid) == "ok"
    finally:
        other.kill()
        other.wait()
    time.sleep(buildlock.POLL_SECONDS * 3)


def test_a_process_that_has_ended_is_not_alive() -> None:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    assert not buildlock.process_alive(int(done.stdout))
    assert buildlock.process_alive(subprocess.os.getpid())
    assert not buildlock.process_alive(0)
