#!/usr/bin/python3
"""Browser test of the unsubscribe page, using only Debian packages.

Opens the unsubscribe link of a marketing e-mail from the outbox in a real browser (Debian's
chromium, phone width, driven over the Chrome DevTools Protocol with python3-websocket), unticks
a purpose, saves, and checks that the next message of that purpose to that member is denied
opted_out:purpose:<p>. Saves 375px screenshots as artefacts.

  DISPATCHER_BINARY=build/bin/dispatcher ARTEFACT_DIR=build/artefacts python3 unsubscribe_test.py

Debian packages: python3, python3-websocket, chromium, fonts-noto-cjk, redis-server.
"""

import base64
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
import urllib.request

try:
    import websocket  # python3-websocket (websocket-client)
except ImportError:
    print("FAIL: python3-websocket is not installed (apt-get install -y python3-websocket)", file=sys.stderr)
    print("0 passed, 1 failed")
    sys.exit(1)

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.path.abspath(os.environ.get("DISPATCHER_BINARY") or os.path.join(HERE, "../../build/bin/dispatcher"))
ARTEFACTS = os.path.abspath(os.environ.get("ARTEFACT_DIR") or os.path.join(HERE, "../../build/artefacts"))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
REDIS_SERVER = os.environ.get("REDIS_SERVER", "/usr/bin/redis-server")

AD_LABEL = "広告・宣伝のお知らせ"
SAVE_BUTTON = "保存する"


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def wait_for(what, fn, timeout=10.0, interval=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(interval)
    raise Failure(f"timed out after {timeout:.0f}s waiting for {what}")


def ad(msg_id):
    return {
        "id": msg_id, "sender": "operator", "purpose": "advertising", "to": {"subscriber": "m-1"},
        "channels": ["email"], "template": "advertising.newsletter",
        "data": {"name": "山田", "headline": "冬のキャンペーン", "summary": "ホワイトニングのご案内",
                 "article_url": "https://example.jp/a"},
    }


class Cdp:
    """A minimal Chrome DevTools Protocol client over one page's WebSocket."""

    def __init__(self, ws_url):
        self.ws = websocket.create_connection(ws_url, timeout=10, suppress_origin=True)
        self.next_id = 0
        self.events = []

    def _recv(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise Failure("CDP: timed out")
        self.ws.settimeout(remaining)
        try:
            return json.loads(self.ws.recv())
        except websocket.WebSocketTimeoutException:
            raise Failure("CDP: timed out")

    def send(self, method, params=None, timeout=15.0):
        self.next_id += 1
        my_id = self.next_id
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params or {}}))
        deadline = time.monotonic() + timeout
        while True:
            msg = self._recv(deadline)
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise Failure(f"CDP {method} failed: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def wait_event(self, method, timeout=15.0):
        for i, ev in enumerate(self.events):
            if ev["method"] == method:
                del self.events[: i + 1]
                return ev
        self.events.clear()
        deadline = time.monotonic() + timeout
        while True:
            try:
                msg = self._recv(deadline)
            except Failure:
                raise Failure(f"timed out after {timeout:.0f}s waiting for {method}")
            if msg.get("method") == method:
                return msg

    def evaluate(self, expression):
        r = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                           "awaitPromise": True})
        if "exceptionDetails" in r:
            raise Failure(f"JS error in {expression!r}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def screenshot(self, path):
        # Full page, as playwright's fullPage: true.
        m = self.send("Page.getLayoutMetrics")
        size = m.get("cssContentSize") or m["contentSize"]
        clip = {"x": 0, "y": 0, "width": max(375, size["width"]), "height": size["height"], "scale": 1}
        r = self.send("Page.captureScreenshot", {"format": "png", "clip": clip, "captureBeyondViewport": True},
                      timeout=30.0)
        data = base64.b64decode(r["data"])
        check(data[:8] == b"\x89PNG\r\n\x1a\n", "screenshot is a PNG")
        with open(path, "wb") as f:
            f.write(data)

    def close(self):
        try:
            self.ws.close()
        except Exception:
            pass


# JS helpers: find the checkbox by its label text (as getByLabel), the button by its name (getByRole).
JS_BOX = ("(() => { const l = [...document.querySelectorAll('label')]"
          f".find(l => l.textContent.trim() === {json.dumps(AD_LABEL)});"
          " return l ? l.control : null; })()")
JS_BUTTON = ("[...document.querySelectorAll('button, input[type=submit]')]"
             f".find(b => (b.textContent || b.value).trim() === {json.dumps(SAVE_BUTTON)})")


def stop(proc):
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def main():
    os.makedirs(ARTEFACTS, exist_ok=True)
    check(os.access(BIN, os.X_OK), f"dispatcher binary not found: {BIN} (set DISPATCHER_BINARY)")
    check(os.access(CHROMIUM, os.X_OK), f"chromium not found: {CHROMIUM} (apt-get install -y chromium)")
    check(os.access(REDIS_SERVER, os.X_OK), f"redis-server not found: {REDIS_SERVER}")

    work = tempfile.mkdtemp(prefix="dsp-browser-")
    profile = tempfile.mkdtemp(prefix="dsp-chromium-")
    sock = os.path.join(work, "redis.sock")
    data_dir = os.path.join(work, "var")
    config = os.path.join(work, "dispatcher.yaml")
    with open(config, "w") as f:
        f.write("consumer:\n  block_ms: 100\n  visibility_timeout_ms: 1000\n  scheduler_interval_ms: 50\n")
    env = dict(os.environ, DISPATCHER_DATA_DIR=data_dir, DISPATCHER_REDIS_URL=f"unix://{sock}")

    def run(args, stdin=None):
        p = subprocess.run([BIN, "--config", config, *args], cwd=work, env=env, input=stdin,
                           capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise Failure(f"dispatcher {' '.join(args)} exited {p.returncode}: {p.stderr.strip()}")
        return p.stdout

    redis = serve = chrome = cdp = None
    try:
        # Private redis, as the .mjs test: own Unix socket, no persistence.
        redis = subprocess.Popen([REDIS_SERVER, "--port", "0", "--unixsocket", sock, "--save", "",
                                  "--appendonly", "no"], cwd=work, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        wait_for("redis", lambda: os.path.exists(sock))

        run(["subscriber", "put", "-"],
            json.dumps({"id": "m-1", "member": True, "email": "taro@example.jp", "locale": "ja"}) + "\n")
        run(["consent", "m-1", "email", "--source", "signup_form"])
        run(["enqueue", "-"], json.dumps(ad("ad-1")) + "\n")
        run(["run", "--until-idle"])
        email_dir = os.path.join(data_dir, "outbox", "email")
        eml = [f for f in os.listdir(email_dir) if f.endswith(".eml")] if os.path.isdir(email_dir) else []
        check(len(eml) == 1, f"one marketing e-mail in the outbox (found {len(eml)})")
        with open(os.path.join(email_dir, eml[0]), encoding="utf-8") as f:
            mail = f.read()
        header = next((l for l in re.split(r"\r?\n", mail) if re.match(r"^List-Unsubscribe:", l, re.I)), None)
        check(header, "List-Unsubscribe header present")
        m = re.search(r"/u/([A-Za-z0-9_.\-]+)", header)
        check(m, f"List-Unsubscribe has an https /u/<token> URL: {header}")
        token = m.group(1)

        serve = subprocess.Popen([BIN, "--config", config, "serve", "--listen", "127.0.0.1:0"], cwd=work,
                                 env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
        out = []
        threading.Thread(target=lambda: [out.append(l) for l in serve.stdout], daemon=True).start()

        def listening():
            check(serve.poll() is None, f"dispatcher serve exited {serve.returncode}")
            mm = re.search(r"listening on (\S+)", "".join(out))
            return mm and f"http://{mm.group(1)}"
        base = wait_for("dispatcher serve to print 'listening on'", listening)

        chrome = subprocess.Popen(
            [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage", "--remote-debugging-port=0", f"--user-data-dir={profile}",
             "--window-size=375,812", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        port_file = os.path.join(profile, "DevToolsActivePort")

        def devtools_port():
            check(chrome.poll() is None, f"chromium exited {chrome.returncode}")
            try:
                with open(port_file) as f:
                    first = f.readline().strip()
                return first if first.isdigit() else None
            except FileNotFoundError:
                return None
        port = wait_for("chromium DevToolsActivePort", devtools_port, timeout=20)

        def page_target():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as r:
                    targets = json.load(r)
            except OSError:
                return None
            return next((t["webSocketDebuggerUrl"] for t in targets
                         if t.get("type") == "page" and "webSocketDebuggerUrl" in t), None)
        ws_url = wait_for("a chromium page target", page_target, timeout=10, interval=0.2)

        cdp = Cdp(ws_url)
        cdp.send("Page.enable")
        cdp.send("Runtime.enable")
        cdp.send("Emulation.setDeviceMetricsOverride",
                 {"width": 375, "height": 812, "deviceScaleFactor": 2, "mobile": True})

        url = f"{base}/u/{token}"
        cdp.events.clear()
        nav = cdp.send("Page.navigate", {"url": url})
        check("errorText" not in nav, f"navigate to {url}: {nav.get('errorText')}")
        cdp.wait_event("Page.loadEventFired", timeout=15)

        check(cdp.evaluate("document.documentElement.getAttribute('lang')") == "ja", "<html lang=\"ja\">")
        if not cdp.evaluate(f"!!{JS_BOX}"):
            found = cdp.evaluate("[...document.querySelectorAll('label')].map(l => l.textContent.trim())")
            raise Failure(f"no checkbox labelled {AD_LABEL} on the page (labels: {found}); "
                          "is DISPATCHER_BINARY built from the current web/preferences_page.cpp?")
        check(cdp.evaluate(f"{JS_BOX}.checked") is True, "advertising is ticked before")
        # No horizontal scrolling at phone width.
        check(cdp.evaluate("document.documentElement.scrollWidth <= 375"),
              f"fits 375px (scrollWidth {cdp.evaluate('document.documentElement.scrollWidth')})")
        cdp.screenshot(os.path.join(ARTEFACTS, "unsubscribe-375-before.png"))

        cdp.evaluate(f"{JS_BOX}.click()")  # untick, as a user would
        check(cdp.evaluate(f"{JS_BOX}.checked") is False, "advertising unticked")
        check(cdp.evaluate(f"!!({JS_BUTTON})"), f"button {SAVE_BUTTON}")
        cdp.events.clear()
        cdp.evaluate(f"{JS_BUTTON}.click()")
        cdp.wait_event("Page.loadEventFired", timeout=15)
        wait_for("URL with saved=1", lambda: re.search(r"saved=1", cdp.evaluate("location.href") or ""),
                 timeout=10, interval=0.1)
        check(cdp.evaluate("""(() => { const s = document.querySelector('[role=status]');
              if (!s) return false; const r = s.getBoundingClientRect(); const cs = getComputedStyle(s);
              return r.width > 0 && r.height > 0 && cs.visibility !== 'hidden' && cs.display !== 'none'; })()"""),
              "saved notice shown")
        check(cdp.evaluate(f"{JS_BOX}.checked") is False, "advertising is unticked after saving")
        shot = os.path.join(ARTEFACTS, "unsubscribe-375.png")
        cdp.screenshot(shot)

        first = run(["explain", "-"], json.dumps(ad("ad-2")) + "\n").strip().split("\n")[0]
        decision = json.loads(first)
        check(decision.get("decision") == "deny", f"explain decision deny: {first}")
        check(decision.get("reason") == "opted_out:purpose:advertising",
              f"explain reason opted_out:purpose:advertising: {first}")
        print(f"ok: unsubscribe page in chromium; screenshot {shot}")
    finally:
        if cdp:
            cdp.close()
        if chrome and chrome.poll() is None:
            try:
                os.killpg(chrome.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                chrome.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(chrome.pid, signal.SIGKILL)
                chrome.wait(timeout=5)
        stop(serve)
        stop(redis)
        # Should the dispatcher have started its embedded redis in the data dir, stop that too.
        try:
            with open(os.path.join(data_dir, "redis.pid")) as f:
                os.kill(int(f.read().strip()), signal.SIGTERM)
        except (OSError, ValueError):
            pass
        time.sleep(0.2)
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # Failure, or anything unexpected
        kind = "" if isinstance(e, Failure) else f"{type(e).__name__}: "
        print(f"FAIL: {kind}{e}", file=sys.stderr)
        print("0 passed, 1 failed")
        sys.exit(1)
    print("1 passed, 0 failed")
    sys.exit(0)
