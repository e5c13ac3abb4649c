#!/usr/bin/python3
# Drives the Cockpit page "Multicast relay" in headless Chromium (selenium +
# chromedriver, Debian packages) inside the booted test container; run by
# test_cockpit.sh. Prints "ok   - ..." / "FAIL - ..." lines; exit 1 on failure.
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

REFRESH_S = 1.0        # the page polls GetStats at 1 Hz
ONE_REFRESH_S = 2.0    # one refresh plus the bus round trips, under load
failures = 0


def ok(what):
    print(f"ok   - {what}", flush=True)


def fail(what):
    global failures
    failures += 1
    print(f"FAIL - {what}", flush=True)


def check(what, condition, detail=""):
    ok(what) if condition else fail(f"{what}{': ' + detail if detail else ''}")
    return condition


def run(*cmd, timeout=30):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def mcrctl_packets(rule):
    out = run("mcrctl", "--json", "stats")
    if out.returncode != 0:
        return None
    for entry in json.loads(out.stdout).get("rules", []):
        if entry.get("name") == rule:
            return entry.get("packets")
    return None


def mcrctl_rule_names():
    out = run("busctl", "--json=short", "call", "org.mcr.Relay", "/org/mcr/Relay",
              "org.mcr.Relay.Manager", "ListRules")
    return [r[0] for r in json.loads(out.stdout)["data"][0]] if out.returncode == 0 else None


class Page:
    """The browser, logged in to cockpit, focused on the page's iframe."""

    def __init__(self, base, shots):
        self.base = base
        self.shots = shots
        self.profile = tempfile.mkdtemp(prefix="mcrt-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--disable-dev-shm-usage", "--window-size=1400,1300", f"--user-data-dir={self.profile}"):
            options.add_argument(flag)
        self.driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        self.driver.set_page_load_timeout(60)

    def close(self):
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

    def wait(self, what, predicate, timeout=20):
        started = time.monotonic()
        try:
            result = WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(lambda d: predicate())
        except TimeoutException:
            fail(f"{what} (not within {timeout} s)")
            return None
        ok(f"{what} ({time.monotonic() - started:.1f} s)")
        return result

    # True if the element `below` starts under `field` in the same column.
    def under(self, below, field):
        return self.driver.execute_script(
            "const b = document.querySelector(arguments[0]).getBoundingClientRect();"
            "const f = document.querySelector(arguments[1]).getBoundingClientRect();"
            "return b.top >= f.bottom && Math.abs(b.left - f.left) < 2", below, field)

    def login(self, user, password):
        d = self.driver
        d.switch_to.default_content()
        d.delete_all_cookies()
        d.get(self.base + "/")
        self.wait("login form", lambda: self.visible("#login-user-input") and self.visible("#login-button"))
        d.find_element(By.ID, "login-user-input").send_keys(user)
        d.find_element(By.ID, "login-password-input").send_keys(password)
        d.find_element(By.ID, "login-button").click()
        return self.wait(f"{user} logged in (cockpit shell loaded)", lambda: d.find_elements(By.ID, "host-apps"), 40)

    def open(self, hash_part=""):
        d = self.driver
        d.switch_to.default_content()
        d.get(self.base + "/mcrd" + hash_part)
        frame = self.wait("page frame", lambda: d.find_elements(By.CSS_SELECTOR, 'iframe[name="cockpit1:localhost/mcrd"]'), 30)
        if not frame:
            return False
        d.switch_to.frame(frame[0])
        return self.wait("page ready", lambda: d.find_elements(By.CSS_SELECTOR, 'body[data-ready="yes"]'), 30)

    # Reads run as one script: the page re-renders its tables every second,
    # so element handles kept across calls would go stale.
    def visible(self, css):
        return self.driver.execute_script(
            "return [...document.querySelectorAll(arguments[0])].some(e => e.getClientRects().length > 0)", css)

    def text(self, css):
        return self.driver.execute_script(
            "const e = document.querySelector(arguments[0]); return e ? e.innerText.trim() : ''", css)

    def click(self, css):
        self.driver.execute_script("document.querySelector(arguments[0]).click()", css)

    def choose(self, css, value):
        self.driver.execute_script("const s = document.querySelector(arguments[0]); s.value = arguments[1];"
                                   "s.dispatchEvent(new Event('change'))", css, value)

    def fill(self, css, value, index=0):
        field = self.driver.find_elements(By.CSS_SELECTOR, css)[index]
        field.clear()
        field.send_keys(value)

    def packets_shown(self, rule):
        text = self.text(f'tr[data-rule="{rule}"] td.packets')
        return int(text.replace(",", "")) if text else None

    def shot(self, name):
        d = self.driver
        d.switch_to.default_content()
        path = os.path.join(self.shots, name)
        d.save_screenshot(path)
        print(f"screenshot {name}", flush=True)
        frames = d.find_elements(By.CSS_SELECTOR, 'iframe[name="cockpit1:localhost/mcrd"]')
        if frames:
            d.switch_to.frame(frames[0])


def fill_rule(page, name, in_address, in_interface="in0", in_port="5000", out_address="239.2.2.2",
              out_port="6000", listeners=False):
    page.fill("#f-name", name)
    page.fill("#f-in-interface", in_interface)
    page.fill("#f-in-address", in_address)
    page.fill("#f-in-port", in_port)
    page.fill(".o-interface", "out0")
    page.fill(".o-address", out_address)
    page.fill(".o-port", out_port)
    page.fill(".o-ttl", "8")
    if listeners:
        page.click(".o-listeners")
    page.click("#add-rule")


def operator_session(page, args):
    rule = "video1"
    page.login("bob", args.password)
    page.open()
    # The daemon is stopped: the page offers to start the socket.
    page.wait("'not running' shown with a start button", lambda: page.visible("#start-socket"))
    page.shot("01-not-running.png")
    page.click("#start-socket")
    page.wait("empty state after starting mcrd.socket", lambda: page.visible("#rules-empty"), 30)
    check("empty state hint names mcrctl", "mcrctl add" in page.text("#rules-empty"))
    page.shot("02-empty.png")

    # A bad group: the daemon's message appears under the group field.
    fill_rule(page, rule, "239.1.1.300")
    error = page.wait("validation error under the input group field",
                      lambda: page.text('.field-error[data-for="input.address"]'))
    check(f"the error names the field ({error})", bool(error) and error.startswith("input.address:"))
    check("the error sits right under the group field",
          page.under('.field-error[data-for="input.address"]', "#f-in-address"))
    check("no rule was added by the bad request", mcrctl_rule_names() == [])
    page.shot("03-validation.png")

    page.fill("#f-in-address", "239.1.1.1")
    page.click("#add-rule")
    page.wait("rule row appears", lambda: page.visible(f'tr[data-rule="{rule}"]'))
    check("mcrctl sees the rule added in the browser", mcrctl_rule_names() == [rule], str(mcrctl_rule_names()))
    page.wait("rule state active", lambda: "active" == page.text(f'tr[data-rule="{rule}"] .state'), 40)
    page.wait("worker in0 unit active (running)",
              lambda: page.text('#workers tr[data-interface="in0"] td.unit-state') == "active (running)", 40)

    # Paced traffic: the counter rises while it flows.
    count, rate = args.count, args.rate
    sender = subprocess.Popen(["ip", "netns", "exec", args.src_ns, "mcrgen", "send", "--group", "239.1.1.1",
                               "--port", "5000", "--interface", "src0", "--rate", str(rate), "--size", "200",
                               "--count", str(count)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seen = []
    deadline = time.monotonic() + count / rate + 30
    while sender.poll() is None and time.monotonic() < deadline:
        value = page.packets_shown(rule)
        if value is not None and (not seen or value != seen[-1]):
            seen.append(value)
        time.sleep(REFRESH_S / 2)
    if sender.poll() is None:
        sender.kill()
    check("mcrgen send finished", sender.wait() == 0, sender.stderr.read())
    page.shot("04-traffic.png")
    rising = [v for v in seen if 0 < v < count]
    check(f"counter rose during the stream ({seen})", len(rising) >= 2 and rising == sorted(rising))

    # Once the worker reported every packet, the page shows mcrctl's number within one refresh.
    end = time.monotonic() + 20
    while mcrctl_packets(rule) != count and time.monotonic() < end:
        time.sleep(0.2)
    expected = mcrctl_packets(rule)
    check("mcrctl stats counts every packet sent", expected == count, f"{expected} != {count}")
    start = time.monotonic()
    shown = None
    while time.monotonic() - start < ONE_REFRESH_S:
        shown = page.packets_shown(rule)
        if shown == expected:
            break
        time.sleep(0.1)
    check(f"page shows mcrctl stats' packets ({shown}) within one refresh "
          f"({time.monotonic() - start:.1f} s)", shown == expected, f"{shown} != {expected}")
    page.shot("05-counted.png")

    listeners_rule(page, args)
    ipv6_rule(page)

    # Namespaced instance: listed in the picker, its own (empty) rule set.
    picker = page.wait(f"instance {args.ns} in the picker",
                       lambda: page.driver.find_elements(By.CSS_SELECTOR, f'#namespace option[value="{args.ns}"]'), 15)
    if picker:
        page.choose("#namespace", args.ns)
        page.wait(f"status shows org.mcr.Relay.ns.{args.ns}",
                  lambda: page.text("#instance-status").startswith(f"org.mcr.Relay.ns.{args.ns} · version"))
        page.wait(f"{args.ns} has its own empty rule set", lambda: page.visible("#rules-empty"))
        page.shot("06-namespace.png")
        page.choose("#namespace", "")
        page.wait("back on the host instance", lambda: page.visible(f'tr[data-rule="{rule}"]'))

    # Remove: two clicks (the first asks for confirmation).
    page.click(f'tr[data-rule="{rule}"] button.remove')
    page.wait("remove asks for confirmation",
              lambda: page.text(f'tr[data-rule="{rule}"] button.remove') == "Confirm remove")
    page.click(f'tr[data-rule="{rule}"] button.remove')
    page.wait("empty state after removing the rule", lambda: page.visible("#rules-empty"))
    check("mcrctl sees the rule removed", mcrctl_rule_names() == [], str(mcrctl_rule_names()))


def mcrctl_rule_json(rule):
    out = run("mcrctl", "--json", "show", rule)
    return json.loads(out.stdout) if out.returncode == 0 else None


def listeners_rule(page, args):
    """An output ticked "Only while listeners are present": the rule goes
    with "listeners": "required", the row says the output is holding and
    counts the held copies exactly, and says sending once a host on out0's
    segment joins (its kernel reports to mcrd's IGMP querier)."""
    rule = "gated"
    fill_rule(page, rule, "239.1.1.7", in_port="5007", out_address="239.2.2.7", out_port="6007", listeners=True)
    page.wait("rule row with listeners required appears", lambda: page.visible(f'tr[data-rule="{rule}"]'))
    stored = mcrctl_rule_json(rule) or {}
    check("mcrctl shows the output's listeners required",
          [o.get("listeners") for o in stored.get("outputs", [])] == ["required"], json.dumps(stored))
    badge = f'tr[data-rule="{rule}"] .listeners'
    page.wait("the output is shown holding (nobody listens)",
              lambda: page.driver.find_elements(By.CSS_SELECTOR, f'{badge}[data-state="holding"]'), 20)
    sent = subprocess.run(["ip", "netns", "exec", args.src_ns, "mcrgen", "send", "--group", "239.1.1.7",
                           "--port", "5007", "--interface", "src0", "--rate", "1000", "--size", "200",
                           "--count", "200"], capture_output=True, text=True, timeout=30)
    check("mcrgen send of 200 to the held output", sent.returncode == 0, sent.stderr)
    page.wait("the row counts the 200 held copies",
              lambda: page.driver.find_elements(By.CSS_SELECTOR, f'{badge}[data-held="200"]'), 10)
    check("the held count reads as the page shows it",
          page.text(f"{badge} .held") == ", 200 held", page.text(f"{badge} .held"))
    receiver = subprocess.Popen(["ip", "netns", "exec", args.dst_ns, "mcrgen", "recv", "--group", "239.2.2.7",
                                 "--port", "6007", "--interface", "dst0", "--duration", "20"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        page.wait("the output is shown sending once a host joined",
                  lambda: page.driver.find_elements(By.CSS_SELECTOR, f'{badge}[data-state="sending"]'), 10)
        page.shot("05a-listeners.png")
    finally:
        receiver.terminate()
        receiver.wait(timeout=10)
    check("mcrctl removes the listeners rule", run("mcrctl", "remove", rule).returncode == 0)
    page.wait("listeners rule row gone", lambda: not page.visible(f'tr[data-rule="{rule}"]'))


def ipv6_rule(page):
    """An IPv6 rule through the form: a link-local group is refused until the
    box is ticked, then added (AddRuleJSON) and shown in brackets. Its input
    interface in9 does not exist, so it waits and no worker starts for it."""
    rule = "v6"
    # "[ff02::fb]" is the table's spelling: the form drops the brackets.
    fill_rule(page, rule, "[ff02::fb]", in_interface="in9", in_port="5353", out_address="ff3e::2")
    error = page.wait("link-local refusal under the input group field",
                      lambda: page.text('.field-error[data-for="input.address"]'))
    check(f"the refusal names the field and the opt-in ({error})",
          error == 'input.address: is a link-local multicast group (scope 2, ffX2::): set allow_link_local '
                   '(mcrctl --allow-link-local) to relay it, got "ff02::fb"')
    check("no IPv6 rule was added by the refused request", rule not in (mcrctl_rule_names() or []))
    page.click("#f-allow-link-local")
    page.click("#add-rule")
    page.wait("IPv6 rule row appears", lambda: page.visible(f'tr[data-rule="{rule}"]'))
    check("the row writes the IPv6 input in brackets",
          page.text(f'tr[data-rule="{rule}"] td.input') == "in9 [ff02::fb]:5353", page.text(f'tr[data-rule="{rule}"] td.input'))
    check("the row writes the IPv6 output with its hop limit",
          page.text(f'tr[data-rule="{rule}"] td.outputs') == "out0 [ff3e::2]:6000 hop limit 8",
          page.text(f'tr[data-rule="{rule}"] td.outputs'))
    stored = mcrctl_rule_json(rule) or {}
    check("mcrctl shows the rule with allow_link_local", stored.get("allow_link_local") is True and
          stored.get("input", {}).get("address") == "ff02::fb", json.dumps(stored))
    page.shot("05b-ipv6.png")
    check("mcrctl removes the IPv6 rule", run("mcrctl", "remove", rule).returncode == 0)
    page.wait("IPv6 rule row gone", lambda: not page.visible(f'tr[data-rule="{rule}"]'))


def unprivileged_session(page, args):
    page.login("alice", args.password)
    page.open()
    page.wait("page loads for alice", lambda: page.visible("#rules-empty"), 30)
    fill_rule(page, "sneaky", "239.1.1.1")
    alert = page.wait("denial shown to alice",
                      lambda: page.visible("#form-alert.denied") and page.text("#form-alert.denied"))
    check(f"denial message names polkit ({alert})", bool(alert) and alert.startswith("Not authorized") and "polkit" in alert)
    check("no rule was added for alice", mcrctl_rule_names() == [], str(mcrctl_rule_names()))
    page.shot("07-denied.png")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--shots", required=True)
    parser.add_argument("--src-ns", required=True)
    parser.add_argument("--dst-ns", required=True)
    parser.add_argument("--ns", required=True)
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--rate", type=int, default=500)
    args = parser.parse_args()
    os.makedirs(args.shots, exist_ok=True)
    page = None
    try:
        page = Page(args.url, args.shots)
        operator_session(page, args)
        unprivileged_session(page, args)
    except (WebDriverException, subprocess.SubprocessError, OSError, ValueError, IndexError) as error:
        fail(f"browser session aborted: {type(error).__name__}: {str(error).splitlines()[0]}")
        if page:
            try:
                page.shot("99-aborted.png")
            except WebDriverException:
                pass
    finally:
        if page:
            page.close()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
