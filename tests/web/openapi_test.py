#!/usr/bin/python3
"""Every route's real answers against GET /openapi.json, using only Debian packages.

Starts a private redis-server and `dispatcher serve` (Twilio signing on, no LINE secret), fetches
/openapi.json, and for each route makes real requests producing its successes and its errors.
Each answer must be documented for its operation: its status, its content type, the headers the
document requires, and a JSON body valid against the documented schema (Draft 2020-12, the
document's `$ref`s resolved in the document). Paths no route has, and methods a path does not
take, are checked against #/components/responses/NotFound and MethodNotAllowed (with Allow the
methods the document lists). Every documented operation must have been exercised.

  DISPATCHER_BINARY=build/bin/dispatcher python3 openapi_test.py

Debian packages: python3, python3-jsonschema, redis-server.
"""

import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from world import Failure, check, run, stop, tear_down, test_database  # noqa: E402


try:
    import jsonschema  # python3-jsonschema (4.10 in Debian 12)
except ImportError:
    print("FAIL: python3-jsonschema is not installed (apt-get install -y python3-jsonschema)", file=sys.stderr)
    print("0 passed, 1 failed")
    sys.exit(1)

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.abspath(os.path.join(HERE, "../.."))
BIN = os.path.abspath(os.environ.get("DISPATCHER_BINARY") or os.path.join(SOURCE, "build/bin/dispatcher"))
REDIS_SERVER = os.environ.get("REDIS_SERVER", "/usr/bin/redis-server")

OPERATOR_KEY = "dsk_" + "a1" * 32
CLINIC_KEY = "dsk_" + "b2" * 32  # clinic:c-102, the examples' clinic
OTHER_CLINIC_KEY = "dsk_" + "c3" * 32  # clinic:c-200
TWILIO_TOKEN = "openapi-test-twilio-token"
PUBLIC_URL = "https://hooks.example.jp"

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def wait_for(what, fn, timeout=10.0, interval=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(interval)
    raise Failure(f"timed out after {timeout:.0f}s waiting for {what}")


class Answer:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case names
        self.body = body  # bytes

    def media_type(self):
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


class Client:
    def __init__(self, host, port):
        self.host, self.port = host, port

    def request(self, method, target, body=b"", headers=None, key=None, content_length=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            h = dict(headers or {})
            if key:
                h["Authorization"] = f"Bearer {key}"
            if isinstance(body, str):
                body = body.encode()
            if content_length is not None:  # a declared length the body does not reach (413)
                conn.putrequest(method, target)
                for k, v in h.items():
                    conn.putheader(k, v)
                conn.putheader("Content-Length", str(content_length))
                conn.endheaders(body)
            else:
                conn.request(method, target, body=body, headers=h)
            r = conn.getresponse()
            data = b"" if method == "HEAD" else r.read()
            return Answer(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
        finally:
            conn.close()

    def json(self, method, target, doc, key=None):
        return self.request(method, target, json.dumps(doc), {"Content-Type": "application/json"}, key)

    def form(self, method, target, fields, headers=None, key=None):
        h = dict(headers or {}, **{"Content-Type": "application/x-www-form-urlencoded"})
        return self.request(method, target, urllib.parse.urlencode(fields), h, key)


class Contract:
    """The served document, and each answer checked against it."""

    def __init__(self, doc):
        self.doc = doc
        with warnings.catch_warnings():  # newer jsonschema deprecates RefResolver; Debian's has only it
            warnings.simplefilter("ignore", DeprecationWarning)
            self.resolver = jsonschema.RefResolver.from_schema(doc)
        cls = jsonschema.Draft202012Validator
        self.format_checker = getattr(cls, "FORMAT_CHECKER", None) or jsonschema.draft202012_format_checker
        self.exercised = set()  # (method, path, status)

    def deref(self, node):
        # Components may refer to components; a bounded chain, as a cycle would be a broken document.
        for _ in range(10):
            if not isinstance(node, dict) or "$ref" not in node:
                return node
            ref = node["$ref"]
            check(ref.startswith("#/"), f"only local $refs: {ref}")
            node = self.doc
            for part in ref[2:].split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
        raise Failure("a $ref chain longer than 10")

    def validate(self, where, schema, instance):
        validator = jsonschema.Draft202012Validator(schema, resolver=self.resolver,
                                                    format_checker=self.format_checker)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
        if errors:
            e = errors[0]
            at = "/".join(str(p) for p in e.absolute_path) or "(the body)"
            raise Failure(f"{where}: body does not match the documented schema at {at}: {e.message}\n"
                          f"  body: {json.dumps(instance, ensure_ascii=False)[:500]}")

    def check_response(self, where, documented, answer):
        documented = self.deref(documented)
        for name, header in (documented.get("headers") or {}).items():
            header = self.deref(header)
            if header.get("required"):
                check(name.lower() in answer.headers, f"{where}: the documented header {name} is missing")
        content = documented.get("content")
        if not content:
            check(answer.body == b"", f"{where}: no body documented, got {answer.body[:200]!r}")
            return
        if not answer.body and answer.status >= 200:
            check(False, f"{where}: a body documented ({', '.join(content)}), got none")
        media = answer.media_type()
        bases = {k.split(";")[0].strip().lower(): v for k, v in content.items()}
        check(media in bases, f"{where}: content type {answer.headers.get('content-type')!r} is not documented "
                              f"(documented: {', '.join(content)})")
        schema = bases[media].get("schema")
        if media == "application/json" or media.endswith("+json"):
            try:
                instance = json.loads(answer.body)
            except ValueError as e:
                raise Failure(f"{where}: {media} body is not JSON ({e}): {answer.body[:200]!r}")
            if schema is not None:
                self.validate(where, schema, instance)
        elif schema is not None:
            try:
                text = answer.body.decode("utf-8")
            except UnicodeDecodeError:
                raise Failure(f"{where}: {media} body is not UTF-8")
            self.validate(where, schema, text)

    def operation(self, method, path):
        item = self.doc["paths"].get(path)
        check(item is not None, f"{method.upper()} {path}: the path is not in /openapi.json")
        op = item.get(method.lower())
        check(op is not None, f"{method.upper()} {path}: the method is not documented for the path")
        return op

    def answer(self, method, path, answer, expect):
        """`answer` from `method` on the route `path` (the pattern): its status one of `expect`,
        documented for the operation, and its content as documented."""
        expect = (expect,) if isinstance(expect, int) else tuple(expect)
        where = f"{method.upper()} {path} → {answer.status}"
        check(answer.status in expect,
              f"{where}: expected {' or '.join(map(str, expect))}; body {answer.body[:300]!r}")
        responses = self.operation(method, path).get("responses", {})
        check(str(answer.status) in responses,
              f"{where}: status not documented (documented: {', '.join(responses)})")
        self.check_response(where, responses[str(answer.status)], answer)
        self.exercised.add((method.lower(), path, answer.status))
        return answer

    def component(self, name, what, answer, status):
        where = f"{what} → {answer.status}"
        check(answer.status == status, f"{where}: expected {status}; body {answer.body[:300]!r}")
        self.check_response(where, {"$ref": f"#/components/responses/{name}"}, answer)
        return answer

    def operations(self):
        return {(m, p) for p, item in self.doc["paths"].items() for m in item if m in METHODS}


def twilio_signature(target, fields):
    data = PUBLIC_URL + target + "".join(k + v for k, v in sorted(fields.items()))
    return base64.b64encode(hmac.new(TWILIO_TOKEN.encode(), data.encode(), hashlib.sha1).digest()).decode()


def ad(msg_id):
    return {
        "id": msg_id, "sender": "operator", "purpose": "advertising", "to": {"subscriber": "m-1"},
        "channels": ["email"], "template": "advertising.newsletter",
        "data": {"name": "山田", "headline": "冬のキャンペーン", "summary": "ホワイトニングのご案内",
                 "article_url": "https://example.jp/a"},
    }


def reminder(msg_id, subscriber="m-1001", send_at=None):
    m = {"id": msg_id, "sender": "clinic:c-102", "purpose": "reservation", "to": {"subscriber": subscriber},
         "channels": ["email"], "template": "reservation.reminder",
         "data": {"name": "山田太郎", "clinic_name": "さくら歯科", "starts_at": "12月1日(火) 10:00",
                  "clinic_phone": "03-1234-5678", "reservation_url": "https://dental.example.jp/r/8812"}}
    if send_at:
        m["send_at"] = send_at
    return m


def exercise(c, api, token, doc_bytes):
    """Each route's successes and errors, in an order that leaves each state the next needs."""
    sha = lambda b: hashlib.sha256(b).hexdigest()

    # GET /openapi.json: the document itself, the file in the tree byte for byte.
    a = api.answer("get", "/openapi.json", c.request("GET", "/openapi.json"), 200)
    with open(os.path.join(SOURCE, "web/openapi.json"), "rb") as f:
        check(sha(a.body) == sha(f.read()), "/openapi.json is not web/openapi.json as it is in the tree")
    check(a.body == doc_bytes, "/openapi.json answered two different documents")

    # Intake.
    P, M = "/v1/messages", "/v1/messages/{id}"
    a = api.answer("post", P, c.json("POST", P, reminder("oa-now"), CLINIC_KEY), 202)
    check(json.loads(a.body)["accepted"][0]["state"] == "queued", f"oa-now queued: {a.body!r}")
    a = api.answer("post", P, c.json("POST", P, [reminder("oa-later", send_at="2099-01-01T09:00:00+09:00"),
                                                   reminder("oa-later-2", send_at="2099-01-02T09:00:00+09:00")],
                                     CLINIC_KEY), 202)
    check([x["state"] for x in json.loads(a.body)["accepted"]] == ["scheduled", "scheduled"], f"scheduled: {a.body!r}")
    api.answer("post", P, c.request("POST", P, "{not json", {"Content-Type": "application/json"}, CLINIC_KEY), 400)
    api.answer("post", P, c.json("POST", P, [reminder("oa-ok"), dict(reminder("oa-bad"), channels=["fax"])],
                                 CLINIC_KEY), 400)
    api.answer("post", P, c.json("POST", P, reminder("oa-unknown", subscriber="m-nobody"), CLINIC_KEY), 400)
    api.answer("post", P, c.json("POST", P, reminder("oa-nokey")), 401)
    api.answer("post", P, c.json("POST", P, reminder("oa-wrongkey"), "dsk_" + "0" * 64), 401)
    api.answer("post", P, c.json("POST", P, reminder("oa-other"), OTHER_CLINIC_KEY), 403)
    api.answer("post", P, c.request("POST", P, b"[", {"Content-Type": "application/json"}, CLINIC_KEY,
                                    content_length=2 * 1024 * 1024), 413)

    # Status: queued, scheduled, sent; another clinic's id is not there.
    for target, key, state in (("/v1/messages/oa-now", CLINIC_KEY, "queued"),
                               ("/v1/messages/oa-later", CLINIC_KEY, "scheduled"),
                               ("/v1/messages/ad-1", OPERATOR_KEY, "sent")):
        a = api.answer("get", M, c.request("GET", target, key=key), 200)
        check(json.loads(a.body)["state"] == state, f"{target} {state}: {a.body!r}")
    api.answer("get", M, c.request("GET", "/v1/messages/oa-now", key=OTHER_CLINIC_KEY), 404)
    api.answer("get", M, c.request("GET", "/v1/messages/oa-now"), 401)

    # Cancel: a scheduled one is cancelled, a queued one marked, a decided one too late.
    api.answer("delete", M, c.request("DELETE", "/v1/messages/oa-later", key=CLINIC_KEY), 200)
    api.answer("delete", M, c.request("DELETE", "/v1/messages/oa-now", key=CLINIC_KEY), 202)
    api.answer("delete", M, c.request("DELETE", "/v1/messages/ad-1", key=OPERATOR_KEY), 409)  # sent before serve
    api.answer("delete", M, c.request("DELETE", "/v1/messages/oa-never-sent", key=CLINIC_KEY), 404)
    api.answer("delete", M, c.request("DELETE", "/v1/messages/oa-later-2", key=OTHER_CLINIC_KEY), 404)
    api.answer("delete", M, c.request("DELETE", "/v1/messages/oa-later-2?sender=clinic:c-102",
                                      key=OPERATOR_KEY), 200)
    api.answer("delete", M, c.request("DELETE", "/v1/messages/oa-later-2"), 401)

    # Unsubscribe: the page, HEAD, one-click, the form; broken links.
    U, UP = "/u/{token}", "/u/{token}/preferences"
    api.answer("get", U, c.request("GET", f"/u/{token}"), 200)
    api.answer("get", U, c.request("GET", f"/u/{token}?lang=en&saved=1"), 200)
    api.answer("get", U, c.request("GET", "/u/not-a-token"), 404)
    api.answer("head", U, c.request("HEAD", f"/u/{token}"), 200)
    api.answer("head", U, c.request("HEAD", "/u/not-a-token"), 404)
    api.answer("post", UP, c.form("POST", f"/u/{token}/preferences",
                                  [("form", "prefs-v2"), ("purpose", "survey"), ("channel", "email")]), 303)
    api.answer("post", UP, c.form("POST", f"/u/{token}/preferences", [("form", "prefs-v2"), ("colour", "blue")]), 400)
    api.answer("post", UP, c.form("POST", "/u/not-a-token/preferences", [("form", "prefs-v2")]), 404)
    api.answer("post", U, c.form("POST", f"/u/{token}", {"List-Unsubscribe": "Please"}), 400)
    api.answer("post", U, c.form("POST", "/u/not-a-token", {"List-Unsubscribe": "One-Click"}), 404)
    api.answer("post", U, c.form("POST", f"/u/{token}", {"List-Unsubscribe": "One-Click"}), 200)

    # Webhooks: Twilio's signed forms, the operator's JSON, LINE unconfigured.
    S = "/webhooks/sms/inbound"
    stop_sms = {"From": "+819012345678", "Body": "停止"}
    api.answer("post", S, c.form("POST", S, stop_sms, {"X-Twilio-Signature": twilio_signature(S, stop_sms)}), 200)
    api.answer("post", S, c.form("POST", S, stop_sms, {"X-Twilio-Signature": "Zm9yZ2Vk"}), 403)
    api.answer("post", S, c.form("POST", S, stop_sms), 403)
    bad_from = {"From": "nobody", "Body": "STOP"}
    api.answer("post", S, c.form("POST", S, bad_from, {"X-Twilio-Signature": twilio_signature(S, bad_from)}), 400)
    B = "/webhooks/email/bounce"
    api.answer("post", B, c.json("POST", B, {"address": "kenji.suzuki@example.jp", "type": "soft"}, OPERATOR_KEY), 200)
    api.answer("post", B, c.json("POST", B, {"address": "kenji.suzuki@example.jp", "type": "hard"}, OPERATOR_KEY), 200)
    api.answer("post", B, c.json("POST", B, {"address": "kenji.suzuki@example.jp", "type": "mild"}, OPERATOR_KEY), 400)
    api.answer("post", B, c.json("POST", B, {"address": "kenji.suzuki@example.jp", "type": "hard"}, CLINIC_KEY), 401)
    T = "/webhooks/status"
    api.answer("post", T, c.json("POST", T, {"provider_message_id": "SM-unknown", "status": "delivered"},
                                 OPERATOR_KEY), 200)
    api.answer("post", T, c.json("POST", T, {"provider_message_id": "SM-1"}, OPERATOR_KEY), 400)
    api.answer("post", T, c.json("POST", T, {"provider_message_id": "SM-1", "status": "delivered"}), 401)
    callback = {"MessageSid": "SM0123", "MessageStatus": "delivered"}
    api.answer("post", T, c.form("POST", T, callback, {"X-Twilio-Signature": twilio_signature(T, callback)}), 200)
    api.answer("post", T, c.form("POST", T, callback, {"X-Twilio-Signature": "Zm9yZ2Vk"}), 403)
    L = "/webhooks/line"
    line_body = json.dumps({"destination": "U0", "events": []})
    api.answer("post", L, c.request("POST", L, line_body, {"Content-Type": "application/json",
                                                          "X-Line-Signature": "Zm9yZ2Vk"}), 404)

    # Subjects, with the operator key.
    def subject(action, name):
        return f"/v1/subjects/{urllib.parse.quote(name, safe='+@')}/{action}"
    H = "/v1/subjects/{subject}/history"
    api.answer("get", H, c.request("GET", subject("history", "m-1001"), key=OPERATOR_KEY), 200)
    api.answer("get", H, c.request("GET", subject("history", "+819012345678"), key=OPERATOR_KEY), 200)
    api.answer("get", H, c.request("GET", subject("history", "m-1001"), key=CLINIC_KEY), 403)
    api.answer("get", H, c.request("GET", subject("history", "m-1001")), 401)
    api.answer("get", H, c.request("GET", "/v1/subjects/%01/history", key=OPERATOR_KEY), 400)
    for action, body, status in (("optout", {"scope": "channel:sms"}, 200), ("optin", {"scope": "channel:sms"}, 200),
                                 ("optout", {"scope": "colour:blue"}, 400), ("optin", {}, 400),
                                 ("stop", {"purpose": "advertising"}, 200), ("stop", {"purpose": "nonsense"}, 400)):
        api.answer("post", f"/v1/subjects/{{subject}}/{action}",
                   c.json("POST", subject(action, "m-1002"), body, OPERATOR_KEY), status)
    for action in ("optout", "optin", "stop", "erase"):
        route = f"/v1/subjects/{{subject}}/{action}"
        api.answer("post", route, c.json("POST", subject(action, "m-1002"), {"scope": "all"}, CLINIC_KEY), 403)
        api.answer("post", route, c.json("POST", subject(action, "m-1002"), {"scope": "all"}), 401)
        api.answer("post", route, c.request("POST", subject(action, "m-1002"), b"{", key=OPERATOR_KEY,
                                            content_length=2 * 1024 * 1024), 413)
    api.answer("post", "/v1/subjects/{subject}/erase", c.request("POST", subject("erase", "m-1003"), key=OPERATOR_KEY), 200)
    api.answer("post", "/v1/subjects/{subject}/erase", c.request("POST", "/v1/subjects/%01/erase", key=OPERATOR_KEY),
               400)

    # Health and metrics.
    api.answer("get", "/healthz", c.request("GET", "/healthz"), 200)
    api.answer("get", "/healthz", c.request("GET", "/healthz?require=everything"), 400)
    api.answer("get", "/healthz", c.request("GET", "/healthz?require=consumer"), (200, 503))
    a = api.answer("get", "/metrics", c.request("GET", "/metrics"), 200)
    check(b"dispatcher_redis_up 1" in a.body, "metrics: dispatcher_redis_up 1")

    # The listener's refusals on the other body-taking routes.
    for method, route, target in (("post", U, f"/u/{token}"), ("post", UP, f"/u/{token}/preferences"),
                                  ("post", S, S), ("post", B, B), ("post", T, T), ("post", L, L)):
        api.answer(method, route, c.request("POST", target, b"x", key=OPERATOR_KEY, content_length=2 * 1024 * 1024), 413)

    # No route: 404 for an unknown path, 405 (Allow: the documented methods) for a method a path
    # does not take.
    for target in ("/nothing", "/v1", "/v1/messages/x/y", "/openapi.yaml"):
        api.component("NotFound", f"GET {target}", c.request("GET", target), 404)
    for target, path, method in (("/healthz", "/healthz", "DELETE"), ("/v1/messages", "/v1/messages", "GET"),
                                 ("/u/x", "/u/{token}", "PUT"), ("/openapi.json", "/openapi.json", "POST"),
                                 ("/v1/subjects/m-1/history", "/v1/subjects/{subject}/history", "POST")):
        a = api.component("MethodNotAllowed", f"{method} {target}", c.request(method, target), 405)
        allowed = {m.strip().lower() for m in a.headers.get("allow", "").split(",") if m.strip()}
        documented = {m for m in api.doc["paths"][path] if m in METHODS}
        check(allowed == documented, f"{method} {target} → 405: Allow {sorted(allowed)} but the document lists "
                                     f"{sorted(documented)} for {path}")


def exercise_without_redis(c, api, redis_proc):
    """Redis gone: the routes that need it answer 503 in their documented shapes."""
    stop(redis_proc)
    a = wait_for("/healthz to answer 503 with redis stopped",
                 lambda: (lambda r: r if r.status == 503 else None)(c.request("GET", "/healthz")), timeout=15)
    api.answer("get", "/healthz", a, 503)
    api.answer("post", "/v1/messages", c.json("POST", "/v1/messages", reminder("oa-down"), CLINIC_KEY), 503)
    api.answer("delete", "/v1/messages/{id}", c.request("DELETE", "/v1/messages/oa-now", key=CLINIC_KEY), 503)
    api.answer("get", "/v1/messages/{id}", c.request("GET", "/v1/messages/oa-now", key=CLINIC_KEY), 503)
    # The disclosure needs only the system of record: Redis gone, it is still answered.
    api.answer("get", "/v1/subjects/{subject}/history",
               c.request("GET", "/v1/subjects/m-1001/history", key=OPERATOR_KEY), 200)
    api.answer("post", "/v1/subjects/{subject}/stop",
               c.json("POST", "/v1/subjects/m-1001/stop", {}, OPERATOR_KEY), 503)
    a = api.answer("get", "/metrics", c.request("GET", "/metrics"), 200)
    check(b"dispatcher_redis_up 0" in a.body, "metrics: dispatcher_redis_up 0 with redis stopped")


def main():
    check(os.access(BIN, os.X_OK), f"dispatcher binary not found: {BIN} (set DISPATCHER_BINARY)")
    check(os.access(REDIS_SERVER, os.X_OK), f"redis-server not found: {REDIS_SERVER}")

    work = tempfile.mkdtemp(prefix="dsp-openapi-")
    sock = os.path.join(work, "redis.sock")
    data_dir = os.path.join(work, "var")
    config = os.path.join(work, "dispatcher.yaml")
    keys = os.path.join(work, "api_keys.yaml")
    with open(config, "w") as f:
        f.write("consumer:\n  block_ms: 100\n  visibility_timeout_ms: 1000\n  scheduler_interval_ms: 50\n")
    with open(keys, "w") as f:
        for key, sender in ((OPERATOR_KEY, "operator"), (CLINIC_KEY, "clinic:c-102"),
                            (OTHER_CLINIC_KEY, "clinic:c-200")):
            f.write(f'- {{sha256: {hashlib.sha256(key.encode()).hexdigest()}, sender: "{sender}"}}\n')
    os.chmod(keys, 0o600)
    os.chmod(work, 0o711)  # an embedded PostgreSQL run as `postgres` must reach var/pg
    env = dict(os.environ, DISPATCHER_DATA_DIR=data_dir, DISPATCHER_REDIS_URL=f"unix://{sock}",
               OPENAPI_TEST_TWILIO_TOKEN=TWILIO_TOKEN, **test_database("openapi"))

    def run(args, stdin=None):
        p = subprocess.run([BIN, "--config", config, *args], cwd=work, env=env, input=stdin,
                           capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise Failure(f"dispatcher {' '.join(args)} exited {p.returncode}: {p.stderr.strip()}")
        return p.stdout

    redis = serve = None
    try:
        # Private redis, as the browser test's: own Unix socket, no persistence.
        redis = subprocess.Popen([REDIS_SERVER, "--port", "0", "--unixsocket", sock, "--save", "",
                                  "--appendonly", "no"], cwd=work, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        wait_for("redis", lambda: os.path.exists(sock))

        # The examples' clinic and members, and an unsubscribe link from a real marketing e-mail.
        with open(os.path.join(SOURCE, "examples/subscribers.jsonl"), encoding="utf-8") as f:
            run(["subscriber", "put", "-"], f.read())
        run(["subscriber", "put", "-"],
            json.dumps({"id": "m-1", "member": True, "email": "taro@example.jp", "locale": "ja"}) + "\n")
        run(["consent", "m-1", "email", "--source", "signup_form"])
        run(["enqueue", "-"], json.dumps(ad("ad-1")) + "\n")
        run(["run", "--until-idle"])
        email_dir = os.path.join(data_dir, "outbox", "email")
        eml = [f for f in os.listdir(email_dir) if f.endswith(".eml")] if os.path.isdir(email_dir) else []
        check(len(eml) == 1, f"one marketing e-mail in the outbox (found {len(eml)})")
        with open(os.path.join(email_dir, eml[0]), encoding="utf-8") as f:
            m = re.search(r"^List-Unsubscribe:.*?/u/([A-Za-z0-9_.\-]+)", f.read(), re.M | re.I)
        check(m, "the e-mail's List-Unsubscribe has a /u/<token> URL")
        token = m.group(1)

        serve_log = open(os.path.join(work, "serve.log"), "w")
        serve = subprocess.Popen([BIN, "--config", config, "serve", "--listen", "127.0.0.1:0", "--keys", keys,
                                  "--twilio-auth-token-env", "OPENAPI_TEST_TWILIO_TOKEN", "--public-url", PUBLIC_URL],
                                 cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=serve_log, text=True)
        out = []
        threading.Thread(target=lambda: [out.append(l) for l in serve.stdout], daemon=True).start()

        def listening():
            check(serve.poll() is None, f"dispatcher serve exited {serve.returncode}")
            mm = re.search(r"listening on (\S+):(\d+)", "".join(out))
            return mm and (mm.group(1), int(mm.group(2)))
        host, port = wait_for("dispatcher serve to print 'listening on'", listening)
        c = Client(host, port)

        a = c.request("GET", "/openapi.json")
        check(a.status == 200, f"GET /openapi.json → {a.status}")
        try:
            doc = json.loads(a.body)
        except ValueError as e:
            raise Failure(f"/openapi.json is not JSON: {e}")
        check(doc.get("openapi") == "3.1.0", f"openapi is 3.1.0, not {doc.get('openapi')!r}")
        api = Contract(doc)

        exercise(c, api, token, a.body)
        exercise_without_redis(c, api, redis)

        missed = sorted(api.operations() - {(m, p) for m, p, _ in api.exercised})
        check(not missed, "documented operations no request exercised: " +
              ", ".join(f"{m.upper()} {p}" for m, p in missed))
        print(f"ok: {len(api.exercised)} (operation, status) pairs of {len(api.operations())} operations "
              "match /openapi.json")
    except Failure:
        try:  # the server's own account of the last requests, beside the failure
            with open(os.path.join(work, "serve.log"), encoding="utf-8", errors="replace") as f:
                tail = f.readlines()[-15:]
            print("dispatcher serve's log, last lines:\n" + "".join(tail), file=sys.stderr)
        except OSError:
            pass
        raise
    finally:
        tear_down([serve, redis], data_dir, work)


if __name__ == "__main__":
    run(main)
