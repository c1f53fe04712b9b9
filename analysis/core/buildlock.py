"""One ``make`` at a time per checkout: an exclusive lock held for the life of a make process.

The Makefile runs, while it reads itself (before any recipe)::

    python3 analysis/core/buildlock.py acquire .build.lock --pid <make's pid>

which prints ``ok`` or a one-line message naming the make that holds the lock. On ``ok`` a small
background process keeps an exclusive ``flock`` on the lock file until that make process ends
(however it ends: success, error, Ctrl-C or kill), so the lock is never left behind. The Makefile
then exports ``BUILD_LOCK_HELD`` so its own sub-makes, and the make calls of the tests it runs,
pass without locking again.

Standard library only: it runs with the system Python before ``.venv`` exists.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import sys
import time
from pathlib import Path

POLL_SECONDS = 0.1
"""How often the holder checks that its make is still running."""

RELEASE_WAIT_SECONDS = 3.0
"""How long to wait for a lock whose make has already ended to be released."""


def process_alive(pid: int) -> bool:
    """True if process ``pid`` exists and has not exited (a zombie counts as ended)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError, IndexError):
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    return True


def command_line(pid: int) -> str:
    """The command line of ``pid`` where the system shows it (Linux), else ``make``."""
    with contextlib.suppress(OSError):
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        words = [w.decode("utf-8", "replace") for w in raw.split(b"\0") if w]
        if words:
            words[0] = Path(words[0]).name
            return " ".join(words)[:120]
    return "make"


def _holder(lock_fd: int) -> tuple[int, str]:
    """(pid, description) of the make recorded in the lock file."""
    with contextlib.suppress(OSError, ValueError):
        text = os.pread(lock_fd, 4096, 0).decode("utf-8", "replace").strip()
        pid, _, description = text.partition(" ")
        return int(pid), description
    return 0, "another make"


def busy_message(lock: Path, pid: int, description: str) -> str:
    """The message for a second make while the lock is held."""
    who = f"pid {pid}: {description}" if pid else description
    return (f"another make is already running in this checkout ({who}); wait for it to finish "
            f"or build in another checkout. Nothing was changed (lock: {lock.name})")


def _hold(lock: Path, owner: int, report: int) -> None:
    """Child side: take the lock, report through ``report``, hold it while ``owner`` lives."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # free make's $(shell) pipe at once
        os.dup2(devnull, fd)
    os.setsid()
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + RELEASE_WAIT_SECONDS
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            pid, description = _holder(fd)
            if process_alive(pid) or time.monotonic() > deadline:
                os.write(report, busy_message(lock, pid, description).encode())
                return
            time.sleep(POLL_SECONDS / 2)  # that make has ended; its holder is letting go
    record = f"{owner} {command_line(owner)} (since {time.strftime('%H:%M:%S')})\n".encode()
    os.ftruncate(fd, 0)
    os.pwrite(fd, record, 0)
    os.write(report, b"ok")
    os.close(report)
    while process_alive(owner):
        time.sleep(POLL_SECONDS)


def acquire(lock: Path, owner: int) -> str:
    """Take the lock for process ``owner``; return ``"ok"`` or the message for a second make.

    On ``ok`` a background process holds the lock until ``owner`` ends.
    """
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(read_end)
        try:
            _hold(lock, owner, write_end)
        finally:
            os._exit(0)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 4096):
        chunks.append(chunk)
    os.close(read_end)
    answer = b"".join(chunks).decode("utf-8", "replace")
    if answer != "ok":
        os.waitpid(child, 0)
    return answer or f"could not take the build lock {lock}"


def main(argv: list[str] | None = None) -> int:
    """``python3 analysis/core/buildlock.py acquire LOCKFILE --pid PID``: print ok or why not."""
    parser = argparse.ArgumentParser(prog="analysis/core/buildlock.py")
    commands = parser.add_subparsers(dest="command", required=True)
    take = commands.add_parser("acquire", help="hold LOCKFILE while process PID runs")
    take.add_argument("lock", type=Path)
    take.add_argument("--pid", type=int, required=True, help="the make process to hold it for")
    args = parser.parse_args(argv)
    print(acquire(args.lock, args.pid))
    return 0


if __name__ == "__main__":
    sys.exit(main())
