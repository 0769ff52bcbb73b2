"""Screenshots of the HTML reports with headless Chromium: proof that the pages render.

    python -m grader.reports.screenshot OUT/reports [--feedback PAGE]

writes `class_report.png` next to `class_report.html`, and `feedback.png` next to one
student's `feedback.html` (the first student's, or PAGE). Each image is the whole page, WIDTH
pixels wide and as tall as the document (at most MAX_HEIGHT, beyond which the capture is
cut and says so): Chromium's `--screenshot` flag captures only the window, so the page is
loaded and captured through the DevTools protocol over a pipe (`--remote-debugging-pipe`;
nothing listens on a port). Chromium is Debian's `chromium`
(tools/bootstrap.sh installs it); it runs headless, without its sandbox (these machines run
as root, where Chromium refuses its sandbox) and GPU, with background networking, component
updates, sync and everything else that would reach for the network switched off: the pages
need none, and these machines have none. A throw-away profile keeps it from touching HOME.
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

WIDTH, HEIGHT = 1280, 2000  # the window; the image is as tall as the page
# The tallest capture taken (measured: Chromium 156 renders 32,768 px of a 40,000 px page
# correctly, about 160 MB of pixels); a longer page is cut there, and the capture says so.
MAX_HEIGHT = 32768
TIMEOUT_S = 90
CANDIDATES = ("/usr/lib/chromium/chromium", "chromium", "chromium-browser", "google-chrome")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-default-apps",
         "--disable-extensions", "--no-first-run", "--no-default-browser-check",
         "--disable-dev-shm-usage", "--disable-breakpad", "--metrics-recording-only",
         "--no-pings", "--disable-features=Translate,MediaRouter,OptimizationHints",
         "--hide-scrollbars", "--mute-audio", "--force-device-scale-factor=1"]


class ChromiumMissing(RuntimeError):
    pass


def find_chromium() -> str:
    """The Chromium binary; Debian's real one before its launcher script (which adds
    extension and API-key flags these machines do not want)."""
    for candidate in CANDIDATES:
        found = candidate if os.path.isabs(candidate) and os.access(candidate, os.X_OK) \
            else shutil.which(candidate)
        if found:
            return found
    raise ChromiumMissing("Chromium is not installed: run `make setup` as root (it installs "
                          "Debian's chromium), or `sudo apt-get install --no-install-recommends "
                          "chromium`.")


def _run(url_or_path: Path, extra: list[str]) -> subprocess.CompletedProcess[bytes]:
    with tempfile.TemporaryDirectory(prefix="grader-chromium-") as profile:
        command = [find_chromium(), *FLAGS, f"--user-data-dir={profile}", *extra,
                   Path(url_or_path).resolve().as_uri()]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": profile,
               "LANG": "C.UTF-8", "TMPDIR": profile}
        return subprocess.run(command, capture_output=True, timeout=TIMEOUT_S, env=env,
                              stdin=subprocess.DEVNULL, check=False)


class DevTools:
    """One headless Chromium driven over the DevTools protocol on a pipe: Chromium reads
    commands from its fd 3 and writes answers and events to its fd 4, each a JSON message
    ended by a NUL byte. Used as a context manager; Chromium and its profile are gone after."""

    def __init__(self, width: int = WIDTH, height: int = HEIGHT) -> None:
        self.width, self.height = width, height

    def __enter__(self) -> DevTools:
        self._profile = tempfile.TemporaryDirectory(prefix="grader-chromium-")
        profile = self._profile.name
        to_chrome, self._out = os.pipe()
        self._in, from_chrome = os.pipe()

        def fds_3_and_4() -> None:
            # In the child, before exec: its ends of the two pipes become fds 3 and 4, made
            # inheritable (dup2 onto itself, when a copy already landed there, would leave
            # close-on-exec set). close_fds is off because it would close them after this
            # runs; every other fd of this process is non-inheritable (PEP 446), and
            # pass_fds cannot help: it wants 3 and 4 open here already.
            ends = os.dup(to_chrome), os.dup(from_chrome)
            os.dup2(ends[0], 3)
            os.dup2(ends[1], 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)

        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": profile,
               "LANG": "C.UTF-8", "TMPDIR": profile}
        try:
            self._process = subprocess.Popen(
                [find_chromium(), *FLAGS, f"--user-data-dir={profile}",
                 "--remote-debugging-pipe", f"--window-size={self.width},{self.height}"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                env=env, close_fds=False, preexec_fn=fds_3_and_4)
        finally:
            os.close(to_chrome)
            os.close(from_chrome)
        self._buffer = b""
        self._ids = 0
        self._events: list[dict] = []
        self._deadline = time.monotonic() + TIMEOUT_S
        try:
            target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            self._session = self.send("Target.attachToTarget",
                                      {"targetId": target, "flatten": True})["sessionId"]
            self.send("Page.enable", session=True)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *_: object) -> None:
        try:
            os.write(self._out, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
        except OSError:
            pass
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stderr:
            self._process.stderr.close()
        os.close(self._out)
        os.close(self._in)
        self._profile.cleanup()

    def send(self, method: str, params: dict | None = None, *, session: bool = False) -> dict:
        """Send one command and return its result (RuntimeError with Chromium's error)."""
        self._ids += 1
        message: dict[str, Any] = {"id": self._ids, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self._session
        try:
            os.write(self._out, json.dumps(message).encode() + b"\0")
        except BrokenPipeError:
            raise self._ended() from None
        while True:
            answer = self._receive()
            if answer.get("id") == self._ids:
                if "error" in answer:
                    raise RuntimeError(f"Chromium: {method}: {answer['error'].get('message')}")
                return answer.get("result", {})
            if "method" in answer:
                self._events.append(answer)

    def wait_for(self, event: str) -> dict:
        while True:
            for i, message in enumerate(self._events):
                if message.get("method") == event:
                    return self._events.pop(i)
            self._events.append(self._receive())

    def _receive(self) -> dict:
        while b"\0" not in self._buffer:
            left = self._deadline - time.monotonic()
            if left <= 0 or not select.select([self._in], [], [], left)[0]:
                raise subprocess.TimeoutExpired("chromium", TIMEOUT_S)
            chunk = os.read(self._in, 1 << 20)
            if not chunk:
                raise self._ended()
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)

    def _ended(self) -> RuntimeError:
        """Chromium closed the pipe: why, from the end of what it printed."""
        tail = (self._process.stderr.read().decode("utf-8", "replace").strip().splitlines()[-5:]
                if self._process.stderr else [])
        return RuntimeError(f"Chromium ended (exit {self._process.wait()}): " + " | ".join(tail))

    def open(self, html: Path) -> None:
        """Load HTML in the page, WIDTH x HEIGHT, and wait until it (and its images) loaded."""
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": self.width, "height": self.height, "deviceScaleFactor": 1,
                   "mobile": False}, session=True)
        self.send("Page.navigate", {"url": Path(html).resolve().as_uri()}, session=True)
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript EXPRESSION in the loaded page. The protocol evaluates it
        from outside; the page's Content-Security-Policy still forbids its own scripts."""
        result = self.send("Runtime.evaluate", {"expression": expression,
                                                "returnByValue": True}, session=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"Chromium: {expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def capture(self, png: Path) -> tuple[Path, bool]:
        """Save the whole loaded page as PNG; returns it, and whether it was cut at
        MAX_HEIGHT."""
        size = self.send("Page.getLayoutMetrics", session=True)["cssContentSize"]
        full = max(1, math.ceil(size["height"]))
        height = min(full, MAX_HEIGHT)
        shot = self.send("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": self.width, "height": height, "scale": 1}},
            session=True)
        png.write_bytes(base64.b64decode(shot["data"]))
        return png, full > height


def screenshot(html: Path, png: Path, *, width: int = WIDTH, height: int = HEIGHT) -> Path:
    """Render HTML in headless Chromium and save the whole page, WIDTH pixels wide, to PNG
    (HEIGHT is the window: what `100vh` means to the page)."""
    png = Path(png).resolve()
    png.unlink(missing_ok=True)
    with DevTools(width, height) as browser:
        browser.open(html)
        _, cut = browser.capture(png)
    if cut:
        print(f"screenshot: {html} is taller than {MAX_HEIGHT} px; {png} shows its top "
              f"{MAX_HEIGHT} px", file=sys.stderr)
    return png


def dump_dom(html: Path) -> str:
    """The DOM Chromium built from HTML, serialised (what the page rendered, as markup)."""
    done = _run(html, ["--dump-dom"])
    if done.returncode != 0:
        raise RuntimeError(f"Chromium could not load {html} (exit {done.returncode})")
    return done.stdout.decode("utf-8", "replace")


def screenshot_reports(folder: Path, feedback: Path | None = None) -> list[Path]:
    """Screenshots of FOLDER's class report and of one feedback page (FEEDBACK, or the first
    under FOLDER/students/)."""
    folder = Path(folder)
    made = []
    if (folder / "class_report.html").is_file():
        made.append(screenshot(folder / "class_report.html", folder / "class_report.png"))
    pages = [feedback] if feedback is not None else \
        sorted((folder / "students").glob("*/feedback.html"))
    if pages and pages[0].is_file():
        made.append(screenshot(pages[0], pages[0].with_suffix(".png")))
    return made


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.reports.screenshot",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="the reports folder (OUT/reports)")
    parser.add_argument("--feedback", type=Path,
                        help="the feedback.html to capture (default: the first student's)")
    args = parser.parse_args(argv)
    try:
        for path in screenshot_reports(args.folder, args.feedback):
            print(f"wrote {path}")
    except (ChromiumMissing, RuntimeError, subprocess.TimeoutExpired) as e:
        print(f"screenshot: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
