"""What the Python tests that start their own redis-server and `dispatcher serve` share: the
failure they report, a database of their own, stopping what they started, and the exit line
CTest reads.

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


PSQL = "/usr/lib/postgresql/15/bin/psql"


def _admin(pg_dir, sql):
    subprocess.run([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", os.path.join(pg_dir, "pg"),
                    "-U", "dispatcher", "-d", "dispatcher", "-c", sql],
                   check=True, capture_output=True, timeout=60)


def test_database(name):
    """A database of this test's own in the suite's PostgreSQL cluster (CTest's test_pg fixture,
    tests/support/postgres_server.hpp), as the environment entry for the dispatcher; {} when run
    by hand without it (the dispatcher then starts its embedded cluster in the data dir)."""
    pg_dir = os.environ.get("DISPATCHER_TEST_PG_DIR")
    if not pg_dir:
        return {}
    db = f"py_{name}_{os.getpid()}"
    _admin(pg_dir, f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    _admin(pg_dir, f"CREATE DATABASE {db}")
    return {"DISPATCHER_DATABASE_URL":
            f"host='{os.path.join(pg_dir, 'pg')}' dbname='{db}' user='dispatcher'"}


def tear_down(procs, data_dir, work):
    """Stops `procs`, the embedded Redis and PostgreSQL the dispatcher may have started in
    `data_dir`, and removes the test's folder."""
    for p in procs:
        stop(p)
    for pid_file, sig in (("redis.pid", signal.SIGTERM), ("pg/postmaster.pid", signal.SIGINT)):
        try:
            with open(os.path.join(data_dir, pid_file)) as f:
                os.kill(int(f.readline().strip()), sig)
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
