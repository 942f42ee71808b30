"""Headless Chromium (Debian's chromium) driven over the DevTools protocol
on a pipe (--remote-debugging-pipe: JSON messages separated by NUL on file
descriptors 3 and 4), with the standard library only (/usr/bin/python3).

load(url, screenshot) opens the page offline and returns what a person
would see and what the console said: console errors and warnings
(Runtime.consoleAPICalled), uncaught exceptions (Runtime.exceptionThrown),
browser log errors such as a resource that failed to load (Log.entryAdded),
requests to anything but file: and data: URLs, and the values of the
JavaScript expressions asked for, after the load event. The screenshot is
a PNG of the full page."""
import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--hide-scrollbars", "--mute-audio", "--remote-debugging-pipe"]


class Browser:
    def __init__(self, binary="chromium", timeout=60):
        self.dir = tempfile.mkdtemp(prefix="sc-chromium-")
        self.timeout = timeout
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()
        # the child sees the pipe ends as fds 3 (reads commands) and 4 (writes replies)
        def child():
            # via fresh copies: dup2(3, 3) would leave close-on-exec set
            a, b = os.dup(to_chrome_r), os.dup(from_chrome_w)
            os.dup2(a, 3)
            os.dup2(b, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)
        self.proc = subprocess.Popen(
            [binary] + FLAGS + ["--user-data-dir=" + self.dir, "about:blank"],
            preexec_fn=child, close_fds=False,
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, "stderr.txt"), "wb"))
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buf = b""
        self.next_id = 0
        self.events = []

    def send(self, method, params=None, session=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_chrome, json.dumps(msg).encode() + b"\0")
        return self.next_id

    def _read(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError("chromium did not answer")
            r, _, _ = select.select([self.from_chrome], [], [], left)
            if r:
                chunk = os.read(self.from_chrome, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed the pipe")
                self.buf += chunk
        raw, _, self.buf = self.buf.partition(b"\0")
        return json.loads(raw)

    def call(self, method, params=None, session=None):
        want = self.send(method, params, session)
        deadline = time.time() + self.timeout
        while True:
            m = self._read(deadline)
            if m.get("id") == want:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, name, deadline):
        for i, m in enumerate(self.events):
            if m.get("method") == name:
                return self.events.pop(i)
        while True:
            m = self._read(deadline)
            if m.get("method") == name:
                return m
            self.events.append(m)

    def close(self):
        try:
            self.send("Browser.close")
            self.proc.wait(10)
        except Exception:
            self.proc.kill()
            self.proc.wait()
        os.close(self.to_chrome)
        os.close(self.from_chrome)
        if not os.environ.get("KEEP_TMP"):
            shutil.rmtree(self.dir, ignore_errors=True)


def load(url, screenshot=None, expressions=(), width=1100, height=900):
    """Returns {"errors": [...], "requests": [...], "values": {...}}."""
    b = Browser()
    try:
        target = b.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        sess = b.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for dom in ("Runtime", "Log", "Page", "Network"):
            b.call(dom + ".enable", session=sess)
        b.call("Emulation.setDeviceMetricsOverride",
               {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, sess)
        b.call("Page.navigate", {"url": url}, sess)
        b.wait_event("Page.loadEventFired", time.time() + b.timeout)
        # let late console messages arrive
        time.sleep(0.3)
        values = {}
        for expr in expressions:
            r = b.call("Runtime.evaluate", {"expression": expr, "returnByValue": True}, sess)
            values[expr] = r.get("result", {}).get("value")
        if screenshot:
            shot = b.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, sess)
            with open(screenshot, "wb") as f:
                f.write(base64.b64decode(shot["data"]))
        errors, requests = [], []
        for m in b.events:
            meth, p = m.get("method"), m.get("params", {})
            if meth == "Runtime.consoleAPICalled" and p.get("type") in ("error", "warning", "assert"):
                errors.append("console.%s: %s" % (p["type"], [a.get("value") for a in p.get("args", [])]))
            elif meth == "Runtime.exceptionThrown":
                errors.append("exception: %s" % p.get("exceptionDetails", {}).get("text"))
            elif meth == "Log.entryAdded" and p.get("entry", {}).get("level") in ("error", "warning"):
                errors.append("log: %s" % p["entry"].get("text"))
            elif meth == "Network.requestWillBeSent":
                requests.append(p.get("request", {}).get("url", ""))
            elif meth == "Network.loadingFailed":
                errors.append("load failed: %s" % p.get("errorText"))
        return {"errors": errors, "requests": requests, "values": values}
    finally:
        b.close()
