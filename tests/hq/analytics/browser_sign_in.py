#!/usr/bin/env python3
"""Signs in to the head-office dashboard the way a person does, in headless Chromium.

    browser_sign_in.py LOGIN_URL USER PASSWORD SCREENSHOT.png

Chromium opens the login page; the user name and the password are typed into its form (as
keyboard text input, focused field by field) and the sign-in button is clicked. The browser
keeps the login CSRF cookie and the session cookie itself. Prints JSON on stdout:
{"location": path and query of the page it ends on, "html": that page's DOM}, and saves a
screenshot of it.

Chromium is driven over its DevTools protocol on a pipe (--remote-debugging-pipe: it reads
commands on fd 3 and writes answers on fd 4, each message ended by a NUL byte), so nothing
listens on a port and no browser-automation package is needed.
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

TIMEOUT_S = 60


class Browser:
    def __init__(self, profile):
        commands_r, self.commands = os.pipe()
        self.answers, answers_w = os.pipe()

        def fds():
            # Through fds above 4 first: a pipe end may itself be 3 or 4 (and close on exec).
            os.dup2(commands_r, 10)
            os.dup2(answers_w, 11)
            os.dup2(10, 3)
            os.dup2(11, 4)

        self.proc = subprocess.Popen(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
             "--ignore-certificate-errors", "--user-data-dir=" + profile, "--window-size=1280,1000",
             "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=fds, close_fds=False)
        os.close(commands_r)
        os.close(answers_w)
        self.buffer = b""
        self.next_id = 0

    def call(self, method, params=None, session=None):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.commands, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            while b"\0" in self.buffer:
                raw, self.buffer = self.buffer.split(b"\0", 1)
                answer = json.loads(raw)
                if answer.get("id") == self.next_id:
                    if "error" in answer:
                        raise RuntimeError(method + ": " + json.dumps(answer["error"]))
                    return answer.get("result", {})
            if time.monotonic() > deadline:
                raise RuntimeError(method + ": no answer from Chromium")
            chunk = os.read(self.answers, 1 << 16)
            if not chunk:
                raise RuntimeError(method + ": Chromium closed its pipe")
            self.buffer += chunk

    def close(self):
        self.proc.kill()
        self.proc.wait()


def main():
    if len(sys.argv) != 5:
        sys.exit("usage: browser_sign_in.py LOGIN_URL USER PASSWORD SCREENSHOT.png")
    url, user, password, png = sys.argv[1:]
    profile = tempfile.mkdtemp(prefix="sign-in-")
    browser = Browser(profile)
    try:
        target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]

        def evaluate(expression):
            out = browser.call("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session)
            if "exceptionDetails" in out:
                raise RuntimeError(expression + ": " + json.dumps(out["exceptionDetails"]))
            return out["result"].get("value")

        def wait_for(expression):
            deadline = time.monotonic() + TIMEOUT_S
            while not evaluate(expression):
                if time.monotonic() > deadline:
                    raise RuntimeError("timed out waiting for " + expression)
                time.sleep(0.05)

        browser.call("Page.enable", {}, session)
        browser.call("Page.navigate", {"url": url}, session)
        wait_for("document.readyState === 'complete' && !!document.querySelector('input[name=password]')")
        for field, text in (("user", user), ("password", password)):
            evaluate("document.querySelector('input[name=%s]').focus()" % field)
            browser.call("Input.insertText", {"text": text}, session)
        evaluate("document.querySelector('form[action=\"/dashboard/login\"] button').click()")
        wait_for("document.readyState === 'complete' && "
                 "(location.pathname !== '/dashboard/login' || location.search.indexOf('failed') >= 0)")
        location = evaluate("location.pathname + location.search")
        html = evaluate("document.documentElement.outerHTML")
        shot = browser.call("Page.captureScreenshot", {"format": "png"}, session)
        with open(png, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        print(json.dumps({"location": location, "html": html}))
    finally:
        browser.close()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()
