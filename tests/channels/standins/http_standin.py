#!/usr/bin/python3
"""Loopback HTTPS stand-ins for the providers' HTTP APIs (Twilio, generic JSON SMS, FCM, APNs, LINE).

Binds 127.0.0.1 on a port the OS chooses and prints "PORT <n>" on stdout. Every request is
appended to --log as one JSON line (method, path, headers, body, http version, jwt check) before
the answer is sent, so a client that has its answer can read the record.

--mode plain|twilio|http_sms|fcm|apns|line|webhook ; --cert/--key serve TLS (apns: HTTP/2 over TLS, ALPN h2).
--script FILE: {"<recipient>": [response, …], "*": response}: per recipient, scripted answers
are used in order before the mode's success answer; "*" answers every request (set or cleared at
run time with POST /_control {"*": response|null}). A response is
{"status": 500, "body": {...} | "text", "headers": {"Retry-After": "2"}}.
--verify-key PEM: the private key whose public half must verify the JWTs (RS256 / ES256).

line: the Messaging API's push (POST /v2/bot/message/push) and quota (GET /v2/bot/message/quota,
/v2/bot/message/quota/consumption). --bearer TOKEN: any other Authorization answers 401. Scripts
are keyed by the body's "to". An accepted push answers 200 with x-line-request-id and remembers
its X-Line-Retry-Key; a repeat of that key answers 409 with x-line-accepted-request-id and is not
accepted again. The record of a push carries "retry_key", "accepted" and "request_id". A scripted
response may carry "delay_s" (the answer waits that long, after the record is written) and
"accept": true (the push is accepted as usual, then answered late: a client that gave up and
retries with the same key finds it accepted).

webhook: a sender's webhook receiver (DESIGN.md "Sender webhooks"). --secret S: the record of
each POST carries "signature_ok", whether Dispatcher-Signature (t=<unix>,v1=<hex HMAC-SHA256 of
"<t>.<body>">) verifies under S. Scripts are keyed by the event's message "id"; otherwise 200.
"""
import argparse
import hashlib
import hmac
import base64
import json
import os
import socket
import ssl
import sys
import threading
import re
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE = {"lock": threading.Lock(), "script": {}, "counts": {}, "tokens": set(), "token_requests": 0,
         "line_accepted": {}}
UUID_FORM = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
ARGS = None
VERIFY_KEY = None


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def check_jwt(token, alg):
    if VERIFY_KEY is None:
        return None
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
    try:
        h, c, s = token.split(".")
        header = json.loads(b64url_decode(h))
        if header.get("alg") != alg:
            return False
        sig = b64url_decode(s)
        data = (h + "." + c).encode()
        pub = VERIFY_KEY.public_key()
        if alg == "RS256":
            pub.verify(sig, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            if len(sig) != 64:
                return False
            der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
            pub.verify(der, data, ec.ECDSA(hashes.SHA256()))
        return True
    except Exception:
        return False


def log(record):
    with STATE["lock"]:
        with open(ARGS.log, "a") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
            f.flush()


def webhook_signature_ok(header, body):
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    t, v1 = parts.get("t", ""), parts.get("v1", "")
    if not t.isdigit() or not ARGS.secret:
        return False
    want = hmac.new(ARGS.secret.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, v1)


def scripted(key):
    with STATE["lock"]:
        star = STATE["script"].get("*")
        if star:
            return star
        queue = STATE["script"].get(key)
        if isinstance(queue, list) and queue:
            return queue.pop(0)
    return None


def encode(resp):
    body = resp.get("body", "")
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    return resp.get("status", 200), resp.get("headers", {}), body.encode()


def answer_line(method, path, headers, body, extra):
    def err(status, message, more=None):
        h = {"Content-Type": "application/json", "x-line-request-id": str(uuid.uuid4())}
        h.update(more or {})
        return status, h, json.dumps({"message": message}).encode(), extra

    if ARGS.bearer is not None and headers.get("authorization", "") != "Bearer " + ARGS.bearer:
        return err(401, "Authentication failed. Confirm that the access token in the authorization header is valid.")
    ok = {"Content-Type": "application/json", "x-line-request-id": str(uuid.uuid4())}
    if method == "GET" and path == "/v2/bot/message/quota":
        return 200, ok, json.dumps({"type": "limited", "value": 1000}).encode(), extra
    if method == "GET" and path == "/v2/bot/message/quota/consumption":
        with STATE["lock"]:
            used = len(STATE["line_accepted"])
        return 200, ok, json.dumps({"totalUsage": used}).encode(), extra
    if method != "POST" or path != "/v2/bot/message/push":
        return err(404, "Not found")
    try:
        doc = json.loads(body)
    except Exception:
        return err(400, "The request body has 1 error(s)")
    key = headers.get("x-line-retry-key", "")
    extra["retry_key"] = key
    extra["accepted"] = False
    if key and not UUID_FORM.match(key):
        return err(400, "The value for the 'X-Line-Retry-Key' header is invalid")
    with STATE["lock"]:
        previous = STATE["line_accepted"].get(key) if key else None
    if previous:
        status, h, rb, extra = err(409, "The retry key is already accepted", {"x-line-accepted-request-id": previous})
        return status, h, json.dumps({"message": "The retry key is already accepted",
                                      "sentMessages": [{"id": "1", "quoteToken": "q"}]}).encode(), extra
    s = scripted(str(doc.get("to", "")))
    if s:
        extra["delay_s"] = s.get("delay_s", 0)
        if not s.get("accept"):
            return (*encode(s), extra)
    rid = ok["x-line-request-id"]
    with STATE["lock"]:
        STATE["line_accepted"][key or rid] = rid
    extra["accepted"] = True
    extra["request_id"] = rid
    return 200, ok, json.dumps({"sentMessages": [{"id": str(int(time.time() * 1e6)), "quoteToken": "q"}]}).encode(), extra


def answer(method, path, headers, body, version):
    """Returns (status, headers, body bytes, record extras)."""
    mode = ARGS.mode
    extra = {}
    if path == "/_control":
        with STATE["lock"]:
            for k, v in json.loads(body or b"{}").items():
                STATE["script"][k] = v
        return 200, {}, b"{}", extra
    if mode == "plain":
        if path.startswith("/status/"):
            return int(path.split("/")[2]), {"Content-Type": "text/plain"}, b"status", extra
        if path == "/big":
            return 200, {}, b"x" * 200000, extra
        if path == "/slow":
            time.sleep(3)
            return 200, {}, b"slow", extra
        return 200, {"Content-Type": "text/plain", "X-Echo-Method": method}, b"hello " + body, extra
    if mode == "twilio":
        form = urllib.parse.parse_qs(body.decode())
        to = form.get("To", [""])[0]
        parts = path.split("/")
        if len(parts) != 5 or parts[1] != "2010-04-01" or parts[2] != "Accounts" or parts[4] != "Messages.json":
            return 404, {}, json.dumps({"code": 20404, "message": "not found", "status": 404}).encode(), extra
        if not headers.get("authorization", "").startswith("Basic "):
            return 401, {}, json.dumps({"code": 20003, "message": "Authenticate", "status": 401}).encode(), extra
        s = scripted(to)
        if s:
            return (*encode(s), extra)
        with STATE["lock"]:
            n = STATE["counts"][to] = STATE["counts"].get(to, 0) + 1
        sid = "SM%032x" % (abs(hash((to, n, time.time()))) % (1 << 128))
        return 201, {"Content-Type": "application/json"}, json.dumps({
            "sid": sid, "account_sid": parts[3], "to": to, "from": form.get("From", [None])[0],
            "messaging_service_sid": form.get("MessagingServiceSid", [None])[0],
            "body": form.get("Body", [""])[0], "status": "queued", "num_segments": "1",
            "direction": "outbound-api", "api_version": "2010-04-01", "error_code": None}).encode(), extra
    if mode == "http_sms":
        try:
            doc = json.loads(body)
        except Exception:
            return 400, {}, b'{"error":"bad json"}', extra
        to = str(doc.get(ARGS.to_field, ""))
        s = scripted(to)
        if s:
            return (*encode(s), extra)
        return 200, {"Content-Type": "application/json"}, json.dumps({"id": "gen-%d" % int(time.time() * 1e6)}).encode(), extra
    if mode == "fcm":
        if path == "/token":
            form = urllib.parse.parse_qs(body.decode())
            assertion = form.get("assertion", [""])[0]
            extra["jwt_ok"] = check_jwt(assertion, "RS256")
            extra["grant_type"] = form.get("grant_type", [""])[0]
            with STATE["lock"]:
                STATE["token_requests"] += 1
                tok = "ya29.test-%d" % STATE["token_requests"]
                STATE["tokens"].add(tok)
            return 200, {"Content-Type": "application/json"}, json.dumps(
                {"access_token": tok, "expires_in": 3600, "token_type": "Bearer"}).encode(), extra
        auth = headers.get("authorization", "")
        with STATE["lock"]:
            known = auth.startswith("Bearer ") and auth[7:] in STATE["tokens"]
        if not known:
            return 401, {}, json.dumps({"error": {"code": 401, "message": "Request had invalid authentication credentials.",
                                                  "status": "UNAUTHENTICATED"}}).encode(), extra
        doc = json.loads(body)
        token = doc.get("message", {}).get("token", "")
        s = scripted(token)
        if s:
            return (*encode(s), extra)
        project = path.split("/")[3]
        return 200, {"Content-Type": "application/json"}, json.dumps(
            {"name": "projects/%s/messages/0:%d" % (project, int(time.time() * 1e6))}).encode(), extra
    if mode == "line":
        return answer_line(method, path, headers, body, extra)
    if mode == "webhook":
        extra["signature_ok"] = webhook_signature_ok(headers.get("dispatcher-signature", ""), body)
        try:
            doc = json.loads(body or b"{}")
        except ValueError:
            doc = {}
        s = scripted(str(doc.get("id", "")))
        if s:
            return (*encode(s), extra)
        return 200, {"Content-Type": "application/json"}, b"{}", extra
    if mode == "apns":
        auth = headers.get("authorization", "")
        extra["jwt_ok"] = check_jwt(auth[7:], "ES256") if auth.startswith("bearer ") else False
        device = path.rsplit("/", 1)[-1]
        s = scripted(device)
        if s:
            return (*encode(s), extra)
        return 200, {"apns-id": headers.get("apns-id") or "%08x-0000-4000-8000-%012x" % (int(time.time()) & 0xffffffff, int(time.time() * 1e6) & 0xffffffffffff)}, b"", extra
    return 500, {}, b"unknown mode", extra


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def handle_one(self, method):
        length = int(self.headers.get("Content-Length", "0") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        path = self.path
        status, rh, rb, extra = answer(method, path, headers, body, "1.1")
        if path != "/_control":
            log({"method": method, "path": path, "headers": headers, "body": body.decode(errors="replace"),
                 "http_version": "1.1", "status": status, "connection": self.client_address[1], **extra})
        if extra.get("delay_s"):
            time.sleep(extra["delay_s"])
        try:
            self.send_response(status)
            for k, v in rh.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(rb)))
            self.end_headers()
            self.wfile.write(rb)
        except (OSError, ssl.SSLError):  # the client gave up waiting (a delayed answer)
            self.close_connection = True

    def do_GET(self):
        self.handle_one("GET")

    def do_POST(self):
        self.handle_one("POST")


def serve_h2(conn):
    import h2.config
    import h2.connection
    import h2.events
    c = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
    c.initiate_connection()
    conn.sendall(c.data_to_send())
    streams = {}
    try:
        while True:
            data = conn.recv(65535)
            if not data:
                break
            for ev in c.receive_data(data):
                if isinstance(ev, h2.events.RequestReceived):
                    streams[ev.stream_id] = {"headers": ev.headers, "body": b""}
                elif isinstance(ev, h2.events.DataReceived):
                    streams[ev.stream_id]["body"] += ev.data
                    c.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                elif isinstance(ev, h2.events.StreamEnded):
                    st = streams.pop(ev.stream_id)
                    hdrs = {}
                    for k, v in st["headers"]:
                        hdrs.setdefault(k.lower(), v)
                    method, path = hdrs.get(":method", ""), hdrs.get(":path", "")
                    status, rh, rb, extra = answer(method, path, hdrs, st["body"], "2")
                    if path != "/_control":
                        log({"method": method, "path": path, "headers": hdrs, "body": st["body"].decode(errors="replace"),
                             "http_version": "2", "status": status, "connection": id(conn), **extra})
                    out = [(":status", str(status))] + [(k.lower(), str(v)) for k, v in rh.items()]
                    out.append(("content-length", str(len(rb))))
                    c.send_headers(ev.stream_id, out, end_stream=not rb)
                    if rb:
                        c.send_data(ev.stream_id, rb, end_stream=True)
                elif isinstance(ev, h2.events.ConnectionTerminated):
                    return
            conn.sendall(c.data_to_send())
    except (OSError, ssl.SSLError):
        pass
    finally:
        conn.close()


def main():
    global ARGS, VERIFY_KEY
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--script")
    ap.add_argument("--verify-key")
    ap.add_argument("--to-field", default="to")
    ap.add_argument("--bearer")
    ap.add_argument("--secret")
    ARGS = ap.parse_args()
    if ARGS.script:
        with open(ARGS.script) as f:
            STATE["script"] = json.load(f)
    if ARGS.verify_key:
        from cryptography.hazmat.primitives.serialization import load_pem_private_key
        with open(ARGS.verify_key, "rb") as f:
            VERIFY_KEY = load_pem_private_key(f.read(), None)
    open(ARGS.log, "a").close()
    ctx = None
    if ARGS.cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(ARGS.cert, ARGS.key)
        if ARGS.mode == "apns":
            ctx.set_alpn_protocols(["h2"])
    if ARGS.mode == "apns":
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", 0))
        srv.listen(1024)
        print(f"PORT {srv.getsockname()[1]}", flush=True)
        while True:
            conn, _ = srv.accept()
            def run(conn=conn):
                try:
                    tconn = ctx.wrap_socket(conn, server_side=True) if ctx else conn
                except (OSError, ssl.SSLError):
                    conn.close()
                    return
                serve_h2(tconn)
            threading.Thread(target=run, daemon=True).start()
    ThreadingHTTPServer.request_queue_size = 1024
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    if ctx:  # the handshake happens in the request's thread, not in accept()
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True, do_handshake_on_connect=False)
    print(f"PORT {httpd.server_address[1]}", flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
