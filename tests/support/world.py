"""What the Python tests that start their own redis-server and `dispatcher serve` share: the
failure they report, stopping what they started, and the exit line CTest reads.

Imported by tests/web/openapi_test.py and tests/browser/unsubscribe_test.py (each puts this
folder on sys.path)."""

import os
import shutil
import signal
import subprocess
import sys


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def stop(proc):
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def tear_down(procs, data_dir, work):
    """Stops `procs`, the embedded redis the dispatcher may have started in `data_dir`, and
    removes the test's folder."""
    for p in procs:
        stop(p)
    try:
        with open(os.path.join(data_dir, "redis.pid")) as f:
            os.kill(int(f.read().strip()), signal.SIGTERM)
    except (OSError, ValueError):
        pass
    shutil.rmtree(work, ignore_errors=True)


def run(main):
    """Runs the test and exits with the line and code CTest reads."""
    try:
        main()
    except Exception as e:  # Failure, or anything unexpected
        kind = "" if isinstance(e, Failure) else f"{type(e).__name__}: "
        print(f"FAIL: {kind}{e}", file=sys.stderr)
        print("0 passed, 1 failed")
        sys.exit(1)
    print("1 passed, 0 failed")
    sys.exit(0)
