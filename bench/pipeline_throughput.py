#!/usr/bin/python3
"""Messages per second from the stream to the outbox, and the consumer's peak RSS.

Usage: bench/pipeline_throughput.py [COUNT] [--email-share F]
Starts a private redis-server (through the dispatcher's embedded default) in a temp data dir,
enqueues COUNT reminders (default 100,000; SMS and push lines, a share of .eml files), then
times `dispatcher run --until-idle` and samples its peak RSS (VmHWM). Prints one JSON line.
"""
import json, os, shutil, signal, subprocess, sys, tempfile, time

from bench_support import wait_sampling_peak_rss

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# DISPATCHER_BINARY: another build to measure (an A/B comparison in one sitting).
binary = os.environ.get("DISPATCHER_BINARY") or os.path.join(root, "build", "bin", "dispatcher")
count = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 100_000
email_share = float(sys.argv[sys.argv.index("--email-share") + 1]) if "--email-share" in sys.argv else 0.1

data = tempfile.mkdtemp(prefix="dsp-bench-")
os.chmod(data, 0o711)  # the embedded PostgreSQL, run as `postgres` when we are root, reaches var/pg
env = dict(os.environ, DISPATCHER_DATA_DIR=os.path.join(data, "var"))
env.pop("DISPATCHER_REDIS_URL", None)
try:
    lines = []
    for i in range(count):
        channel = "email" if i < count * email_share else ("push" if i % 2 else "sms")
        contact = {"email": f"p{i}@example.jp"} if channel == "email" else (
            {"push": [{"platform": "fcm", "token": f"tok-{i}"}]} if channel == "push" else {"phone": f"+81901{2000000 + i % 1000000:07d}"})
        lines.append(json.dumps({
            "id": f"bench-{i}", "sender": "clinic:c-1", "purpose": "reservation",
            "to": {"contact": contact, "clinic": "c-1", "source": "patient_registry"},
            "channels": [channel], "template": "reservation.reminder",
            "data": {"name": f"患者{i}", "clinic_name": "さくら歯科", "starts_at": "12月1日 10:00",
                     "clinic_phone": "03-1234-5678", "reservation_url": "https://example.jp/r"}}, ensure_ascii=False))
    path = os.path.join(data, "msgs.jsonl")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    t0 = time.monotonic()
    subprocess.run([binary, "enqueue", path], env=env, cwd=data, check=True, stderr=subprocess.DEVNULL)
    t1 = time.monotonic()
    # stderr to a file: a pipe nobody reads while the run lasts could fill and stall it.
    with open(os.path.join(data, "run.stderr"), "wb") as err:
        proc = subprocess.Popen([binary, "run", "--until-idle"], env=env, cwd=data, stderr=err, stdout=subprocess.DEVNULL)

        def overdue():
            proc.kill()
            raise RuntimeError("dispatcher run did not finish within 600 s")

        hwm_kb = wait_sampling_peak_rss(proc, 600, overdue)
    status = proc.returncode
    t2 = time.monotonic()
    sms = sum(1 for _ in open(os.path.join(data, "var", "outbox", "sms.jsonl")))
    push = sum(1 for _ in open(os.path.join(data, "var", "outbox", "push.jsonl")))
    eml = len(os.listdir(os.path.join(data, "var", "outbox", "email")))
    # run --until-idle waits one idle block (100-1000 ms) before it stops; that is not work.
    print(json.dumps({"messages": count, "delivered": sms + push + eml, "email_files": eml,
                      "enqueue_s": round(t1 - t0, 2), "run_s": round(t2 - t1, 2),
                      "messages_per_s": round(count / (t2 - t1)), "peak_rss_mb": round(hwm_kb / 1024, 1),
                      "exit": status}))
finally:
    # The embedded Redis and PostgreSQL, stopped and waited for before their folder goes.
    subprocess.run([binary, "embedded", "stop"], env=env, cwd=data, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=60)
    shutil.rmtree(data, ignore_errors=True)
