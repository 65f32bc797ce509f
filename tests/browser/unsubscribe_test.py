#!/usr/bin/python3
"""Browser test of the preference page and the shipped HTML e-mails, through Selenium.

From the unsubscribe link of an advertising e-mail in the outbox, in Debian's chromium at phone
size (375x667), drives the page as a member would — untick メール, "stop all advertising", then
the separate "stop everything" — and after each save checks that what the page says is what
`dispatcher explain` decides (POLICY.md "Opt-out scopes"). Also: Save is on screen without
scrolling, and no shipped HTML e-mail scrolls sideways at 375px. Saves 375px screenshots of
each state as artefacts.

  DISPATCHER_BINARY=build/bin/dispatcher ARTEFACT_DIR=build/artefacts python3 unsubscribe_test.py

Debian packages: python3, python3-selenium, chromium, chromium-driver, fonts-noto-cjk,
redis-server.
"""

import base64
import email
import email.policy
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from world import Failure, check, run, stop, tear_down, test_database  # noqa: E402


try:
    from selenium import webdriver
    from selenium.common.exceptions import TimeoutException, WebDriverException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    print("FAIL: python3-selenium is not installed (apt-get install -y python3-selenium)", file=sys.stderr)
    print("0 passed, 1 failed")
    sys.exit(1)

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.abspath(os.path.join(HERE, "../.."))
BIN = os.path.abspath(os.environ.get("DISPATCHER_BINARY") or os.path.join(SOURCE, "build/bin/dispatcher"))
ARTEFACTS = os.path.abspath(os.environ.get("ARTEFACT_DIR") or os.path.join(SOURCE, "build/artefacts"))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
REDIS_SERVER = os.environ.get("REDIS_SERVER", "/usr/bin/redis-server")
TEMPLATES = os.path.join(SOURCE, "templates")
WIDTH, HEIGHT = 375, 667
WAIT = 15  # seconds: the bound of every wait for the browser

# Rules 1-8 deny before any opt-out is looked at: a purpose the policy never permits for this
# member is not the page's to stop, and is left out of "every marketing purpose".
NOT_THE_PAGES = re.compile(r"^(invalid_message|purpose_not_permitted|advertising_sender|clinic_|nonmember_|sensitive_)")


def template_purposes():
    """Each shipped template's name and purpose (from its meta.yaml), ja being the full set."""
    out = {}
    for name in sorted(os.listdir(os.path.join(TEMPLATES, "ja"))):
        with open(os.path.join(TEMPLATES, "ja", name, "meta.yaml"), encoding="utf-8") as f:
            m = re.search(r"^purpose:\s*(\S+)", f.read(), re.M)
        check(m, f"templates/ja/{name}/meta.yaml names a purpose")
        out.setdefault(m.group(1), name)
    return out


def template_variables(locale, name):
    """The variables a template declares (meta.yaml's `variables:` block)."""
    with open(os.path.join(TEMPLATES, locale, name, "meta.yaml"), encoding="utf-8") as f:
        text = f.read()
    block = re.search(r"^variables:\s*\n((?:[ \t]+.*\n?)*)", text, re.M)
    names = []
    for line in (block.group(1) if block else "").splitlines():
        m = re.match(r"^([ \t]+)([A-Za-z_][A-Za-z0-9_.]*)\s*:", line)
        if m:
            names.append((len(m.group(1)), m.group(2)))
    return names


def sample_data(locale, name):
    """Values as long as real ones get: URLs with long tokens, Japanese sentences."""
    data = {}
    for _, var in template_variables(locale, name):
        if var.endswith("_url"):
            data[var] = "https://notify.example.jp/r/" + "A1b2C3d4E5" * 5
        elif var.endswith("_code") or var.endswith("_no") or var.endswith("_id"):
            data[var] = "WINTER2026-ABCDEFGHJKLMNPQR"
        else:
            data[var] = "さくら歯科クリニック 予約確認のお知らせ 12月1日 10:00"
    return data


def main():
    os.makedirs(ARTEFACTS, exist_ok=True)
    check(os.access(BIN, os.X_OK), f"dispatcher binary not found: {BIN} (set DISPATCHER_BINARY)")
    check(os.access(CHROMIUM, os.X_OK), f"chromium not found: {CHROMIUM} (apt-get install -y chromium)")
    check(os.access(CHROMEDRIVER, os.X_OK),
          f"chromedriver not found: {CHROMEDRIVER} (apt-get install -y chromium-driver)")
    check(os.access(REDIS_SERVER, os.X_OK), f"redis-server not found: {REDIS_SERVER}")

    work = tempfile.mkdtemp(prefix="dsp-browser-")
    sock = os.path.join(work, "redis.sock")
    data_dir = os.path.join(work, "var")
    config = os.path.join(work, "dispatcher.yaml")
    with open(config, "w") as f:
        f.write("consumer:\n  block_ms: 100\n  visibility_timeout_ms: 1000\n  scheduler_interval_ms: 50\n")
    os.chmod(work, 0o711)  # an embedded PostgreSQL run as `postgres` must reach var/pg
    env = dict(os.environ, DISPATCHER_DATA_DIR=data_dir, DISPATCHER_REDIS_URL=f"unix://{sock}",
               **test_database("browser"))

    def run(args, stdin=None, ok=(0,)):
        p = subprocess.run([BIN, "--config", config, *args], cwd=work, env=env, input=stdin,
                           capture_output=True, text=True, timeout=60)
        if p.returncode not in ok:
            raise Failure(f"dispatcher {' '.join(args)} exited {p.returncode}: {p.stderr.strip()}")
        return p.stdout

    def explain(msg):
        return json.loads(run(["explain", "-"], json.dumps(msg) + "\n", ok=(0, 1)).strip().split("\n")[0])

    seq = iter(range(1, 10_000))

    def reminder():
        return {"id": f"rsv-{next(seq)}", "sender": "clinic:c-102", "purpose": "reservation",
                "to": {"subscriber": "m-1"}, "channels": ["email"], "template": "reservation.reminder",
                "data": sample_data("ja", "reservation.reminder")}

    def marketing(purpose, tmpl):
        return {"id": f"mk-{next(seq)}", "sender": "operator", "purpose": purpose,
                "to": {"subscriber": "m-1"}, "channels": ["email"], "template": tmpl,
                "data": sample_data("ja", tmpl)}

    redis = serve = driver = None
    try:
        redis = subprocess.Popen([REDIS_SERVER, "--port", "0", "--unixsocket", sock, "--save", "",
                                  "--appendonly", "no"], cwd=work, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        # Bounded: the first verb's own connect retries are what wait for the socket.
        for _ in range(200):
            if os.path.exists(sock):
                break
            try:
                redis.wait(timeout=0.05)
                raise Failure(f"redis-server exited {redis.returncode}")
            except subprocess.TimeoutExpired:
                pass
        check(os.path.exists(sock), "redis-server made its socket")

        # A member with e-mail and a phone who consented to e-mail only.
        run(["subscriber", "put", "-"],
            json.dumps({"id": "m-1", "member": True, "email": "taro@example.jp", "phone": "+819012345678",
                        "clinics": ["c-102"], "locale": "ja"}) + "\n")
        run(["consent", "m-1", "email", "--source", "signup_form"])
        purposes = template_purposes()
        run(["enqueue", "-"], json.dumps(marketing("advertising", purposes["advertising"])) + "\n")
        run(["run", "--until-idle"])
        email_dir = os.path.join(data_dir, "outbox", "email")
        eml = [f for f in os.listdir(email_dir) if f.endswith(".eml")] if os.path.isdir(email_dir) else []
        check(len(eml) == 1, f"one advertising e-mail in the outbox (found {len(eml)})")
        with open(os.path.join(email_dir, eml[0]), encoding="utf-8") as f:
            mail = f.read()
        header = next((l for l in re.split(r"\r?\n", mail) if re.match(r"^List-Unsubscribe:", l, re.I)), None)
        check(header, "List-Unsubscribe header present")
        m = re.search(r"/u/([A-Za-z0-9_.\-]+)", header)
        check(m, f"List-Unsubscribe has an https /u/<token> URL: {header}")
        token = m.group(1)

        # Which marketing purposes reach this member at all (before any opt-out): the page's.
        baseline = {p: explain(marketing(p, t)) for p, t in purposes.items()}

        serve = subprocess.Popen([BIN, "--config", config, "serve", "--listen", "127.0.0.1:0"], cwd=work,
                                 env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
        listening = threading.Event()
        out = []

        def read_serve():
            for line in serve.stdout:
                out.append(line)
                if "listening on" in line:
                    listening.set()
        threading.Thread(target=read_serve, daemon=True).start()
        check(listening.wait(timeout=WAIT), f"dispatcher serve printed 'listening on' ({''.join(out)!r})")
        base = "http://" + re.search(r"listening on (\S+)", "".join(out)).group(1)

        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--no-first-run", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", f"--window-size={WIDTH},{HEIGHT}"):
            options.add_argument(a)
        driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
        driver.set_page_load_timeout(WAIT)
        # A phone: 375x667 CSS pixels, as an iPhone SE shows a page.
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 2, "mobile": True})
        wait = WebDriverWait(driver, WAIT)

        def screenshot(name):
            size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
            content = size.get("cssContentSize") or size["contentSize"]
            shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
                "format": "png", "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": WIDTH, "height": content["height"], "scale": 1}})
            data = base64.b64decode(shot["data"])
            check(data[:8] == b"\x89PNG\r\n\x1a\n", "screenshot is a PNG")
            path = os.path.join(ARTEFACTS, name)
            with open(path, "wb") as f:
                f.write(data)
            return path

        def box(id_):
            return driver.find_element(By.ID, id_)

        def click_label(for_id):
            # As a thumb would: scrolled to the middle of the screen, clear of the sticky Save bar.
            label = driver.find_element(By.CSS_SELECTOR, f"label[for='{for_id}']")
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", label)
            wait.until(EC.element_to_be_clickable(label))
            label.click()

        def text(id_):
            el = driver.find_elements(By.ID, id_)
            return el[0].text if el and el[0].is_displayed() else ""

        def left_behind(old):
            # The old document is gone. Mid-navigation, chromedriver may answer a look at its node
            # with "Node with given id does not belong to the document" rather than "stale
            # element": both mean the same (seen in CI with Chromium 156).
            def gone(_):
                try:
                    old.is_enabled()
                    return False
                except WebDriverException:
                    return True
            return gone

        def save():
            old = driver.find_element(By.TAG_NAME, "html")
            driver.find_element(By.ID, "save").click()
            wait.until(left_behind(old))
            wait.until(EC.url_contains("saved=1"))
            wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, "[role=status]")))

        def fits(what):
            width = driver.execute_script("return document.documentElement.scrollWidth")
            check(width <= WIDTH, f"{what} fits {WIDTH}px (scrollWidth {width})")

        def statements_match_explain(state):
            """What the page says about booking messages and advertising is what explain decides."""
            body = driver.find_element(By.TAG_NAME, "body").text
            booking, ads = text("status-booking"), text("status-marketing")
            check(booking and ads, f"{state}: the page states what is sent ({body[:300]!r})")
            r = explain(reminder())
            if r["decision"] == "send":
                check("引き続きお送りします" in booking and "メール" in booking,
                      f"{state}: reminder by e-mail is {r}; the page says {booking!r}")
                check("すべてのお知らせの配信を停止" not in body,
                      f"{state}: reminders go out, yet the page says nothing does")
            else:
                check("お送りしていません" in booking and "引き続きお送りします" not in body,
                      f"{state}: reminder is {r}; the page says {booking!r}")
            a = explain(marketing("advertising", purposes["advertising"]))
            if a["decision"] == "send":
                check("メール" in ads and "お送りします" in ads, f"{state}: advertising is {a}; the page says {ads!r}")
            else:
                check("停止しています" in ads or "お送りしていません" in ads,
                      f"{state}: advertising is {a}; the page says {ads!r}")
            return r, a

        # ---- the page as the link opens it ----
        driver.get(f"{base}/u/{token}")
        wait.until(EC.presence_of_element_located((By.ID, "prefs")))
        check(driver.execute_script("return document.documentElement.lang") == "ja", "<html lang=\"ja\">")
        check(driver.execute_script("return window.innerWidth") == WIDTH, "a 375px viewport")
        check(box("channel-email").is_selected(), "メール ticked: e-mail consent recorded")
        check(not box("channel-sms").is_selected(), "SMS unticked: no SMS consent recorded")
        check(not driver.find_elements(By.ID, "channel-push"), "no push box for a member without a token")
        check("EPARK歯科" in driver.find_element(By.TAG_NAME, "header").text, "the operator's brand, from config")
        rect = driver.execute_script(
            "const r = document.getElementById('save').getBoundingClientRect();"
            "return {top: r.top, bottom: r.bottom, h: window.innerHeight};")
        check(rect["top"] >= 0 and rect["bottom"] <= rect["h"],
              f"Save is within the first {WIDTH}x{HEIGHT} viewport without scrolling: {rect}")
        check(driver.find_elements(By.CSS_SELECTOR, "#link-scope button"),
              "the link's own kind of message has a one-button stop at the top")
        fits("the preference page")
        # The page's kinds of message are the policy's marketing purposes; those this member can
        # get at all are the ones "stop all" must stop.
        offered = [el.get_attribute("value") for el in driver.find_elements(By.NAME, "purpose")]
        page_purposes = [p for p in offered if p in baseline and (
            baseline[p].get("decision") != "deny" or not NOT_THE_PAGES.match(baseline[p].get("reason", "")))]
        statements_match_explain("before")
        screenshot("preferences-375-before.png")

        # ---- untick メール ----
        click_label("channel-email")
        check(not box("channel-email").is_selected(), "メール unticked")
        save()
        check(not box("channel-email").is_selected(), "メール unticked after saving")
        r, a = statements_match_explain("e-mail unticked")
        check(r["decision"] == "send" and r.get("channel") == "email", f"reminder by e-mail still sent: {r}")
        check(a["decision"] == "deny" and a["reason"] == "opted_out:marketing:channel:email",
              f"advertising by e-mail denied opted_out:marketing:channel:email: {a}")
        fits("the saved page")
        screenshot("preferences-375-email-unticked.png")

        # ---- stop all advertising ----
        click_label("stop-marketing")
        save()
        check(box("stop-marketing").is_selected(), "stop all advertising ticked after saving")
        r, _ = statements_match_explain("all advertising stopped")
        check(r["decision"] == "send", f"reminder still sent after stopping all advertising: {r}")
        check("すべて停止しています" in text("status-marketing"), "the page says all advertising is stopped")
        check(len(page_purposes) >= 5, f"the marketing purposes this member can get: {page_purposes}")
        for p in page_purposes:
            d = explain(marketing(p, purposes[p]))
            check(d["decision"] == "deny" and d["reason"] == "opted_out:marketing",
                  f"{p} denied opted_out:marketing: {d}")
        screenshot("preferences-375-marketing-stopped.png")

        # ---- the separate choice: stop everything, booking messages too ----
        click_label("stop-everything")
        save()
        check(box("stop-everything").is_selected(), "stop everything ticked after saving")
        r, _ = statements_match_explain("everything stopped")
        check(r["decision"] == "deny" and r["reason"] == "opted_out:all", f"reminder denied opted_out:all: {r}")
        check(text("status-all"), "the page says nothing is sent")
        screenshot("preferences-375-everything-stopped.png")

        # ---- every shipped HTML e-mail at 375px ----
        rendered = 0
        for locale in sorted(os.listdir(TEMPLATES)):
            folder = os.path.join(TEMPLATES, locale)
            if not os.path.isdir(folder):
                continue
            for name in sorted(os.listdir(folder)):
                if not os.path.exists(os.path.join(folder, name, "email.html")):
                    continue
                data_file = os.path.join(work, f"{locale}-{name}.json")
                with open(data_file, "w", encoding="utf-8") as f:
                    json.dump(sample_data(locale, name), f, ensure_ascii=False)
                parts = json.loads(run(["render", name, "--channel", "email", "--locale", locale,
                                        "--data", data_file, "--json"]))["parts"]
                html = parts.get("email.html") or parts.get("html")
                check(html, f"{locale}/{name}: render printed the html part ({list(parts)})")
                path = os.path.join(work, f"{locale}-{name}.html")
                with open(path, "w", encoding="utf-8") as f:
                    f.write(html)
                driver.get("file://" + path)
                wait.until(lambda d: d.execute_script("return document.readyState") == "complete")
                fits(f"templates/{locale}/{name}/email.html")
                rendered += 1
        check(rendered >= 20, f"every shipped HTML e-mail rendered ({rendered})")
        # And the one really sent, with its real-length unsubscribe link.
        sent = email.message_from_string(mail, policy=email.policy.default)
        html = next((p.get_content() for p in sent.walk() if p.get_content_type() == "text/html"), None)
        check(html, "the advertising e-mail has an HTML part")
        path = os.path.join(work, "sent.html")
        with open(path, "w", encoding="utf-8") as f:
            f.write(html)
        driver.get("file://" + path)
        wait.until(lambda d: d.execute_script("return document.readyState") == "complete")
        fits("the advertising e-mail as sent")
        screenshot("email-375-advertising-sent.png")
        print(f"ok: preference page and {rendered} HTML e-mails in chromium at {WIDTH}px; screenshots in {ARTEFACTS}")
    except TimeoutException as e:
        raise Failure(f"timed out after {WAIT}s waiting for the browser: {e.msg or e}")
    finally:
        if driver:
            try:
                driver.quit()
            except Exception:
                pass
        tear_down([serve, redis], data_dir, work)


if __name__ == "__main__":
    run(main)
