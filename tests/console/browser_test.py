"""The operator console end to end, in a real headless Chromium (Debian's
chromium + chromium-driver, driven by Selenium): evgate and evgate-sim run as
processes, as an operator would run them; nothing is mocked.

Run by .ci/run after `cargo build --bins`:

    python3 tests/console/browser_test.py target/debug/evgate target/debug/evgate-sim

Each check prints one line; the first failure stops the run with exit code 1.
Screenshots of the main pages go to target/console-screenshots/.
"""

import datetime
import json
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    TimeoutException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHOTS = ROOT / "target" / "console-screenshots"
ADMIN_PASSWORD = "admin-password-for-ci"
VIEWER_PASSWORD = "viewer-password-for-ci"
# Charger 0 (OCPP 1.6) faults and recovers its connector 1 every 10 s, so a
# status change is always coming; charger 1 (2.0.1) is left alone for the
# booking.
# Its connector 2 (connector number "2" at the station) starts a walk-up
# session at 15 s, for the timeline.
SCENARIO = "\n".join(
    f'[[step]]\nat = "{t}s"\naction = "{"fault" if i % 2 == 0 else "recover"}"\nchargers = "0"\nconnector = 1\n'
    for i, t in enumerate(range(20, 600, 10))
) + '\n[[step]]\nat = "15s"\naction = "start"\nchargers = "0"\nconnector = 2\nid_tag = "SIM-TAG-1"\n'



def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check(name, condition, detail=""):
    if not condition:
        print(f"FAIL {name} {detail}", flush=True)
        raise SystemExit(1)
    print(f"ok   {name}", flush=True)


class Gateway:
    """evgate on free ports in a fresh directory, plus its CLI."""

    def __init__(self, binary, workdir):
        self.binary = binary
        self.http = free_port()
        self.ocpp = free_port()
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "DATABASE_URL": f"sqlite:{workdir}/console.db?mode=rwc",
            "HTTP_ADDR": f"127.0.0.1:{self.http}",
            "OCPP_ADDR": f"127.0.0.1:{self.ocpp}",
            "JWT_SECRET": "console-browser-test-secret-of-enough-length",
            "LOG_FORMAT": "json",
        }
        self.base = f"http://127.0.0.1:{self.http}"
        self.log = open(pathlib.Path(workdir) / "evgate.log", "w")
        self.proc = subprocess.Popen([binary], env=self.env, stdout=self.log, stderr=self.log)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.base + "/health", timeout=1)
                return
            except OSError:
                time.sleep(0.2)
        raise SystemExit("evgate did not answer /health within 30 s")

    def cli(self, *args, stdin=None):
        return subprocess.run(
            [self.binary, *args], env=self.env, input=stdin, capture_output=True, text=True, check=True
        ).stdout

    def token(self, user, role):
        return self.cli("token", "--user", str(user), "--role", role, "--ttl", "2h").strip()

    def api(self, method, path, token, body=None):
        request = urllib.request.Request(
            self.base + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as r:
                return r.status, json.load(r)
        except urllib.error.HTTPError as e:
            return e.code, json.load(e)


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def wait(driver, what, condition, seconds=30):
    try:
        # Live parts of a page are swapped every few seconds: an element found
        # a moment ago may be gone, which only means "look again".
        found = WebDriverWait(
            driver, seconds, poll_frequency=0.25,
            ignored_exceptions=(NoSuchElementException, StaleElementReferenceException),
        ).until(lambda d: condition(d))
        print(f"ok   {what}", flush=True)
        return found
    except TimeoutException:
        shot(driver, "failed")
        check(what, False, f"(not within {seconds} s; page {driver.current_url})")


def shot(driver, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / f"{name}.png"))


def text_of(driver, css):
    """The text of the first element `css` selects, read in one step in the
    page (a live part may be swapped between finding it and reading it);
    None when there is none."""
    return driver.execute_script(
        "const e = document.querySelector(arguments[0]); return e ? e.textContent.trim() : null;", css)


def sign_in(driver, gw, name, password):
    driver.get(gw.base + "/console/sign-in")
    driver.find_element(By.NAME, "name").send_keys(name)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form.sign-in button").click()
    wait(driver, f"{name} signed in", lambda d: d.find_elements(By.ID, "operator"))


def post_from_page(driver, path, fields):
    """A form post made by script in the signed-in page: what a forged or
    hand-made request would send. Returns the HTTP status."""
    return driver.execute_async_script(
        """
        const [path, fields, done] = arguments;
        fetch(path, {method: 'POST', body: new URLSearchParams(fields), credentials: 'same-origin',
                     redirect: 'manual'}).then(r => done(r.status), e => done(String(e)));
        """,
        path,
        fields,
    )


def console_errors(driver):
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def main():
    evgate, sim_binary = sys.argv[1], sys.argv[2]
    workdir = tempfile.mkdtemp(prefix="evgate-console-")
    gw = Gateway(evgate, workdir)
    sim = None
    driver = browser()
    try:
        gw.cli("operator", "add", "ana", "--role", "admin", "--password-stdin", stdin=ADMIN_PASSWORD + "\n")
        gw.cli("operator", "add", "vic", "--role", "viewer", "--password-stdin", stdin=VIEWER_PASSWORD + "\n")
        admin_token = gw.token(1, "admin")

        driver.get(gw.base + "/console")
        check("signed out, the console sends the browser to sign in", driver.current_url.endswith("/console/sign-in"))
        sign_in(driver, gw, "ana", ADMIN_PASSWORD)
        online = text_of(driver, "[data-count=online]") or ""
        check("the overview shows no charger online yet", online.startswith("0 /"), online)
        driver.execute_script("window.notReloaded = true")

        scenario = pathlib.Path(workdir) / "scenario.toml"
        scenario.write_text(SCENARIO)
        sim = subprocess.Popen(
            [sim_binary, "run", "--url", f"ws://127.0.0.1:{gw.ocpp}/ocpp", "--chargers", "2",
             "--connectors", "2", "--version", "mixed", "--ramp", "1s", "--duration", "10m",
             "--scenario", str(scenario), "--provision", "--api", gw.base, "--admin-token", admin_token,
             "--prefix", "CON-", "--quiet"],
            stdout=subprocess.DEVNULL, stderr=open(pathlib.Path(workdir) / "sim.log", "w"),
        )
        wait(driver, "chargers come online on the overview without a reload",
             lambda d: (text_of(d, "[data-count=online]") or "").startswith("2 /"), 60)
        check("... the page was not reloaded", driver.execute_script("return window.notReloaded === true"))
        shot(driver, "overview")

        driver.get(gw.base + "/console/chargers?q=CON-")
        rows = driver.find_elements(By.CSS_SELECTOR, "#chargers tbody tr")
        check("the charger list finds both simulated chargers by id", len(rows) == 2, str(len(rows)))
        shot(driver, "chargers")

        driver.get(gw.base + "/console/chargers/CON-00000")
        status = lambda d: text_of(d, "#connectors tr[data-connector='1'] td.status")
        first = wait(driver, "the charger page shows connector 1's status", lambda d: status(d) or False)
        driver.execute_script("window.notReloaded = true")
        wait(driver, "connector 1's status changes on the page without a reload",
             lambda d: status(d) != first and d.execute_script("return window.notReloaded === true"), 40)
        check("... from one status to another", status(driver) in ("FAULTED", "AVAILABLE"), status(driver))

        actions = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#messages td.action")]
        check("the journal shows the BootNotification", "BootNotification" in actions, str(actions[:10]))

        trigger = driver.find_element(By.ID, "trigger")
        trigger.find_element(By.CSS_SELECTOR, "select option[value='Heartbeat']").click()
        trigger.find_element(By.CSS_SELECTOR, "button").click()
        answer = wait(driver, "TriggerMessage's answer is shown", lambda d: d.find_elements(By.ID, "answer"))[0].text
        check("... and the charger accepted", "Accepted" in answer, answer)
        shot(driver, "charger")

        errors = console_errors(driver)
        check("no errors in the browser's console so far", not errors, str(errors))
        forged = post_from_page(driver, "/console/chargers/CON-00000/commands",
                                {"action": "TriggerMessage", "requestedMessage": "Heartbeat"})
        check("a form without the CSRF token is refused", forged == 403, str(forged))
        console_errors(driver)  # the browser logs the refusal we asked for; reading clears it

        # A booking on charger 1's connector (number 3), made by a driver's app.
        user = gw.token(42, "user")
        _, stations = gw.api("GET", "/v1/stations?limit=10", user)
        station = next(s for s in stations["data"]["stations"] if s["name"] == "evgate-sim CON-")
        _, view = gw.api("GET", f"/v1/stations/{station['id']}", user)
        connector = next(c for c in view["data"]["connectors"] if str(c["connectorNumber"]) == "3")
        start = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=30)).replace(second=0, microsecond=0)
        code, hold = gw.api("POST", "/v1/bookings/holds", user, {
            "stationId": station["id"], "connectorId": connector["id"],
            "startTs": start.isoformat(), "endTs": (start + datetime.timedelta(hours=1)).isoformat()})
        check("a driver holds a slot", code == 201, json.dumps(hold))
        code, booking = gw.api("POST", "/v1/bookings/confirm", user,
                               {"holdToken": hold["data"]["token"], "paymentId": "pay-console-1"})
        check("... and confirms it", code == 201, json.dumps(booking))
        booking_id = booking["data"]["id"]

        driver.get(gw.base + f"/console/bookings?station={station['id']}&day={start.date().isoformat()}")
        row = f"tr[data-booking='{booking_id}']"
        check("the booking is on the connector's timeline",
              driver.find_element(By.CSS_SELECTOR, row).get_attribute("data-status") == "CONFIRMED")
        bars = driver.find_elements(By.CSS_SELECTOR, "svg.timeline rect.CONFIRMED")
        check("... drawn as a bar one hour wide on the day's line",
              len(bars) == 1 and 0 < bars[0].size["width"] < driver.find_element(By.CSS_SELECTOR, "svg.timeline").size["width"] / 12,
              str([b.size for b in bars]))
        shot(driver, "bookings")
        driver.find_element(By.CSS_SELECTOR, f"{row} button").click()
        WebDriverWait(driver, 5).until(lambda d: d.switch_to.alert).accept()
        wait(driver, "cancelled from the console, the timeline shows it CANCELLED",
             lambda d: d.find_element(By.CSS_SELECTOR, row).get_attribute("data-status") == "CANCELLED")
        _, after = gw.api("GET", f"/v1/bookings/{booking_id}", user)
        check("... and the driver's app sees it cancelled", after["data"]["status"] == "CANCELLED", json.dumps(after))
        today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
        driver.get(gw.base + f"/console/bookings?station={station['id']}&day={today}")
        walk_up = driver.find_elements(By.CSS_SELECTOR, "section[data-connector='2'] tr[data-kind=session]")
        check("the walk-up session on connector 2 is on today's timeline", len(walk_up) == 1,
              driver.find_element(By.TAG_NAME, "main").text[:600])
        check("... as a walk-up charging with its tag", "walk-up" in walk_up[0].text and "SIM-TAG-1" in walk_up[0].text,
              walk_up[0].text)

        driver.get(gw.base + "/console/audit")
        audit = driver.find_element(By.ID, "audit").text
        check("the audit log names the operator for the command and the cancel",
              "operator:ana charger.command" in audit and "operator:ana booking.cancel" in audit, audit[:400])
        shot(driver, "audit")

        driver.get(gw.base + f"/console/stations/{station['id']}")
        check("the station page lists its connectors", len(driver.find_elements(By.CSS_SELECTOR, "#station-connectors tbody tr")) == 4)
        shot(driver, "station")
        for name in ("stations", "id-tags", "unassigned", "vendors", "roaming"):
            driver.get(gw.base + f"/console/{name}")
            check(f"the {name} page opens", driver.find_elements(By.CSS_SELECTOR, "main h1"))
            shot(driver, name)

        driver.set_window_size(768, 1024)
        driver.get(gw.base + "/console")
        shot(driver, "overview-tablet")
        width = driver.execute_script("return document.documentElement.scrollWidth")
        check("the overview fits a tablet's width", width <= 768, str(width))
        driver.set_window_size(1280, 900)

        errors = console_errors(driver)
        check("no errors in the browser's console since", not errors, str(errors))

        driver.find_element(By.ID, "sign-out").click()
        wait(driver, "signing out lands on the sign-in page", lambda d: d.current_url.endswith("/console/sign-in"))
        driver.get(gw.base + "/console")
        check("... and the console is closed again", driver.current_url.endswith("/console/sign-in"))

        sign_in(driver, gw, "vic", VIEWER_PASSWORD)
        driver.get(gw.base + "/console/chargers/CON-00000")
        check("a viewer sees no command forms", not driver.find_elements(By.ID, "trigger"))
        csrf = driver.find_element(By.CSS_SELECTOR, "input[name=csrf]").get_attribute("value")
        refused = post_from_page(driver, "/console/chargers/CON-00000/commands",
                                 {"csrf": csrf, "action": "TriggerMessage", "requestedMessage": "Heartbeat"})
        check("a viewer's command, with a valid CSRF token, is refused", refused == 403, str(refused))
        driver.find_element(By.ID, "sign-out").click()
        wait(driver, "the viewer signs out", lambda d: d.current_url.endswith("/console/sign-in"))
        print("console browser test passed", flush=True)
    finally:
        driver.quit()
        if sim:
            sim.terminate()
            sim.wait(10)
        gw.proc.terminate()
        gw.proc.wait(10)


if __name__ == "__main__":
    main()
