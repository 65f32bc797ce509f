#!/usr/bin/python3
"""Messages per second through real provider wire protocols, and the consumer's peak RSS.

Usage: bench/mixed_providers.py [COUNT] [--pool N] [--keep] [-v]
A mixed run: COUNT reminders (default 20,000) to stored members, half e-mail over SMTP to
Postfix's smtp-sink, half SMS to an nginx stand-in for Twilio's Messages API, 5 % of the
recipients opted out (`dispatcher optout m-… all`). Everything listens on 127.0.0.1 ports of
its own; the dispatcher uses a private redis-server (its embedded default) in a temp data dir.
Subscribers, opt-outs and the enqueue are set up untimed; then `dispatcher run --until-idle`
is timed and its peak RSS (VmHWM) sampled. Checks what smtp-sink received and nginx served
against the dispatcher's own counts (dsp:stats) and prints one JSON line. --pool sets the
SMTP connection pool (default 4, the provider's default); --keep leaves the temp dir; -v also
prints the dsp:stats hash (always on a failed check). Needs postfix (smtp-sink) and nginx-light.
"""
import json, os, re, resource, shutil, signal, socket, subprocess, sys, tempfile, time

from bench_support import wait_sampling_peak_rss

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# DISPATCHER_BINARY: another build to measure (an A/B comparison in one sitting).
binary = os.environ.get("DISPATCHER_BINARY") or os.path.join(root, "build", "bin", "dispatcher")
count = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 20_000
pool = int(sys.argv[sys.argv.index("--pool") + 1]) if "--pool" in sys.argv else 4
keep = "--keep" in sys.argv
ACCOUNT_SID = "AC00000000000000000000000000000000"
TWILIO_SID = "SM00000000000000000000000000000001"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout} s")


def stop(proc, sig=signal.SIGTERM, timeout=5.0):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


def cpu_s(pid):  # user + system time of one process, from /proc (0 if it is gone)
    try:
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if int(open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return out


def machine_busy_s():  # all CPUs, busy time since boot
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return (sum(f[:8]) - f[3] - f[4]) / os.sysconf("SC_CLK_TCK")


def is_sms(i):
    return i % 2 == 1


def opted_out(i):  # 2 in every 40: one e-mail recipient, one SMS recipient → 5 %
    return i % 40 in (6, 7)


tmp = tempfile.mkdtemp(prefix="dsp-mixed-")
os.chmod(tmp, 0o711)  # the embedded PostgreSQL, run as `postgres` when we are root, reaches var/pg
data = os.path.join(tmp, "var")
env = dict(os.environ, DISPATCHER_DATA_DIR=data, TWILIO_AUTH_TOKEN="bench-token")
env.pop("DISPATCHER_REDIS_URL", None)
sink = nginx = run = None
procs = []
try:
    # ---- smtp-sink: counts sessions and messages (-c: running counters on stdout, '\r'-separated).
    smtp_port = free_port()
    sink_out = open(os.path.join(tmp, "smtp-sink.out"), "wb")
    sink_cmd = ["/usr/sbin/smtp-sink", "-c", "-4"]
    if os.geteuid() == 0:
        sink_cmd += ["-u", "nobody"]  # it refuses to run as root without dropping privileges
    sink_cmd += ["-m", "1024", f"127.0.0.1:{smtp_port}", "1024"]
    sink = subprocess.Popen(sink_cmd, stdout=sink_out, stderr=subprocess.STDOUT, cwd=tmp)
    wait_port(smtp_port, sink, "smtp-sink")

    # ---- nginx: POST /2010-04-01/Accounts/<sid>/Messages.json → 201 with a Twilio-shaped body.
    http_port = free_port()
    ngx = os.path.join(tmp, "nginx")
    os.makedirs(ngx)
    os.chmod(tmp, 0o755)
    os.chmod(ngx, 0o755)
    body = json.dumps({"sid": TWILIO_SID, "account_sid": ACCOUNT_SID, "status": "queued", "num_segments": "1",
                       "direction": "outbound-api", "error_code": None, "error_message": None,
                       "api_version": "2010-04-01"})
    with open(os.path.join(ngx, "nginx.conf"), "w") as f:
        f.write(f"""
daemon off;
worker_processes 1;
pid {ngx}/nginx.pid;
error_log {ngx}/error.log warn;
{"user nobody nogroup;" if os.geteuid() == 0 else ""}
events {{ worker_connections 4096; }}
http {{
  log_format bench '$request_method $uri $status $connection $connection_requests';
  access_log {ngx}/access.log bench;
  client_body_temp_path {ngx}/body; proxy_temp_path {ngx}/proxy; fastcgi_temp_path {ngx}/fastcgi;
  uwsgi_temp_path {ngx}/uwsgi; scgi_temp_path {ngx}/scgi;
  client_body_buffer_size 64k;
  keepalive_requests 10000000;
  keepalive_timeout 300s;
  server {{
    listen 127.0.0.1:{http_port} backlog=1024;
    location ~ ^/2010-04-01/Accounts/[^/]+/Messages\\.json$ {{
      if ($request_method != POST) {{ return 405; }}
      default_type application/json;
      return 201 '{body}';
    }}
    location / {{ return 404; }}
  }}
}}
""")
    nginx = subprocess.Popen(["/usr/sbin/nginx", "-p", ngx, "-c", os.path.join(ngx, "nginx.conf")],
                             stdout=subprocess.DEVNULL, stderr=open(os.path.join(ngx, "stderr.log"), "wb"), cwd=ngx)
    wait_port(http_port, nginx, "nginx")

    # ---- dispatcher config: the shipped defaults, plus the two providers (no `rate`: unthrottled).
    cfg = os.path.join(tmp, "dispatcher.yaml")
    with open(cfg, "w") as f:
        f.write(f"""data_dir: {data}
templates:
  dir: {os.path.join(root, "templates")}
policy_file: {os.path.join(root, "config", "policy.yaml")}
log_level: info
channels:
  email:
    - {{type: smtp, name: sink, url: "smtp://127.0.0.1:{smtp_port}", starttls: false,
       from: no-reply@notify.example.jp, from_name: EPARK歯科, pool: {pool}}}
  sms:
    - {{type: twilio, name: twilio-standin, base_url: "http://127.0.0.1:{http_port}",
       account_sid: {ACCOUNT_SID}, auth_token_env: TWILIO_AUTH_TOKEN, from: "+815012345678"}}
  push:
    - {{type: outbox}}
""")
    dsp = [binary, "--config", cfg]

    # ---- subscribers (one bulk put), opt-outs (one verb call each), messages (one bulk enqueue).
    t_setup = time.monotonic()
    subs, msgs = [], []
    for i in range(count):
        sub = {"id": f"m-{i}", "member": True, "clinics": ["c-1"], "locale": "ja", "tz": "Asia/Tokyo"}
        if is_sms(i):
            sub["phone"] = f"+81901{2000000 + i % 1000000:07d}"
        else:
            sub["email"] = f"p{i}@example.jp"
        subs.append(json.dumps(sub))
        msgs.append(json.dumps({
            "id": f"mixed-{i}", "sender": "clinic:c-1", "purpose": "reservation",
            "to": {"subscriber": f"m-{i}"}, "channels": ["sms" if is_sms(i) else "email"],
            "template": "reservation.reminder",
            "data": {"name": f"患者{i}", "clinic_name": "さくら歯科", "starts_at": "12月1日 10:00",
                     "clinic_phone": "03-1234-5678", "reservation_url": "https://example.jp/r"}}, ensure_ascii=False))
    with open(os.path.join(tmp, "subs.jsonl"), "w") as f:
        f.write("\n".join(subs) + "\n")
    with open(os.path.join(tmp, "msgs.jsonl"), "w") as f:
        f.write("\n".join(msgs) + "\n")
    subprocess.run(dsp + ["subscriber", "put", os.path.join(tmp, "subs.jsonl")], env=env, cwd=tmp, check=True,
                   stderr=subprocess.DEVNULL, timeout=300)
    out_ids = [i for i in range(count) if opted_out(i)]
    running = []
    for i in out_ids:  # two at a time: the machine has two cores
        running.append(subprocess.Popen(dsp + ["optout", f"m-{i}", "all"], env=env, cwd=tmp,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        procs = running
        if len(running) >= 2 or i == out_ids[-1]:
            for p in running:
                _, err = p.communicate(timeout=60)
                if p.returncode:
                    raise RuntimeError(f"optout failed: {err.decode().strip()}")
            running = []
    procs = []
    setup_s = time.monotonic() - t_setup
    t0 = time.monotonic()
    subprocess.run(dsp + ["enqueue", os.path.join(tmp, "msgs.jsonl")], env=env, cwd=tmp, check=True,
                   stderr=subprocess.DEVNULL, timeout=600)
    enqueue_s = time.monotonic() - t0

    # ---- the timed run.
    run_err = open(os.path.join(tmp, "run.stderr"), "wb")
    load_before = os.getloadavg()[0]
    # CPU of the stand-ins and Redis during the run, and of the whole machine: what is left
    # over is neither the dispatcher nor its peers (this script's sampling, anything else running).
    peers = [sink.pid, nginx.pid, *children(nginx.pid), int(open(os.path.join(data, "redis.pid")).read())]
    peers0, busy0 = sum(cpu_s(p) for p in peers), machine_busy_s()
    wall0 = time.time()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t1 = time.monotonic()
    run = subprocess.Popen(dsp + ["run", "--until-idle"], env=env, cwd=tmp, stderr=run_err, stdout=subprocess.DEVNULL)
    limit_s = max(120.0, count / 100)

    def overdue():
        stop(run, signal.SIGTERM, timeout=30)
        raise RuntimeError(f"dispatcher run did not finish within {limit_s:.0f} s")

    hwm_kb = wait_sampling_peak_rss(run, limit_s, overdue)
    t2 = time.monotonic()
    peers_cpu, machine_busy = sum(cpu_s(p) for p in peers) - peers0, machine_busy_s() - busy0
    status = run.returncode
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)  # only the run was reaped in between
    run_cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    run_err.close()

    # ---- what the stand-ins saw (smtp-sink updates its counters when a session ends).
    time.sleep(0.5)
    stop(sink)
    stop(nginx, signal.SIGQUIT)  # graceful: the access log is complete
    sink_out.close()
    records = [r for r in open(os.path.join(tmp, "smtp-sink.out"), "rb").read().decode(errors="replace")
               .replace("\n", "\r").split("\r") if "mesg=" in r]
    sink_counts = dict(kv.split("=") for kv in records[-1].split() if "=" in kv) if records else {}
    sent_email = int(sink_counts.get("mesg", 0))
    sms_ok, sms_other, conns = 0, 0, set()
    for line in open(os.path.join(ngx, "access.log")):
        parts = line.split()
        if len(parts) >= 4 and parts[0] == "POST" and parts[1] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json":
            conns.add(parts[3])
            if parts[2] == "201":
                sms_ok += 1
                continue
        sms_other += 1

    # ---- what the dispatcher says it did.
    def redis(*args):
        r = subprocess.run(["redis-cli", "-s", os.path.join(data, "redis.sock"), "--raw", *args],
                           capture_output=True, text=True, timeout=30)
        return r.stdout.splitlines()
    flat = redis("HGETALL", "dsp:stats")
    stats = {flat[k]: int(flat[k + 1]) for k in range(0, len(flat) - 1, 2) if flat[k + 1].lstrip("-").isdigit()}
    denied = sum(v for k, v in stats.items() if k.startswith("denied\t"))
    denied_opted_out = stats.get("denied\topted_out:all", 0)
    dead = int((redis("XLEN", "dsp:dead") or ["0"])[0])
    # The run's own log: when it started reading, and when it found the queue idle (that is after
    # one empty XREADGROUP BLOCK of consumer.block_ms, 1 s by default: waiting, not work).
    stamps = {}
    for l in open(os.path.join(tmp, "run.stderr"), errors="replace"):
        m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+) \w+ (consumer .* reading|idle:)", l)
        if m:
            at = time.mktime(time.strptime(m.group(1)[:19], "%Y-%m-%dT%H:%M:%S")) + float("0" + m.group(1)[19:])
            stamps.setdefault("reading" if "reading" in m.group(2) else "idle", at)
    errlines = [l for l in open(os.path.join(tmp, "run.stderr"), errors="replace")
                if re.match(r"\S+ (warn\w*|err\w*|critical) ", l)]
    expected_sent = count - len(out_ids)
    ok = (sent_email + sms_ok == expected_sent and stats.get("sent\temail") == sent_email
          and stats.get("sent\tsms") == sms_ok and denied == len(out_ids) == denied_opted_out
          and sms_other == 0 and dead == 0 and status == 0)
    # run --until-idle waits one idle block (up to consumer.block_ms, 1 s) before it stops; not work.
    print(json.dumps({"messages": count, "sent_email": sent_email, "sent_sms": sms_ok, "denied": denied,
                      "run_s": round(t2 - t1, 2), "messages_per_s": round(count / (t2 - t1)),
                      "peak_rss_mb": round(hwm_kb / 1024, 1), "exit": status,
                      "pool": pool, "expected_sent": expected_sent, "denied_opted_out_all": denied_opted_out,
                      "stats_sent_email": stats.get("sent\temail", 0),
                      "stats_sent_sms": stats.get("sent\tsms", 0), "dead_letters": dead, "sms_non_201": sms_other,
                      "smtp_sessions": int(sink_counts.get("sess", 0)),
                      "http_connections": len(conns), "stderr_warnings": len(errlines),
                      "run_cpu_s": round(run_cpu, 2), "peers_cpu_s": round(peers_cpu, 2),
                      "other_cpu_s": round(machine_busy - run_cpu - peers_cpu, 2),
                      "startup_s": round(stamps["reading"] - wall0, 2) if "reading" in stamps else None,
                      "reading_to_idle_s": round(stamps["idle"] - stamps["reading"], 2) if len(stamps) == 2 else None,
                      "loadavg_1m_before": round(load_before, 2),
                      "setup_s": round(setup_s, 2), "enqueue_s": round(enqueue_s, 2), "ok": ok}))
    if not ok or "-v" in sys.argv:
        print(json.dumps({"stats": stats, "stderr_warnings_sample": errlines[:5]}, ensure_ascii=False),
              file=sys.stderr)
finally:
    for p in procs:
        stop(p)
    stop(run)
    stop(sink)
    stop(nginx, signal.SIGQUIT)
    # The embedded Redis and PostgreSQL, stopped and waited for before their folder goes.
    subprocess.run([binary, "embedded", "stop"], env=env, cwd=tmp, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=60)
    if keep:
        print(f"kept {tmp}", file=sys.stderr)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
