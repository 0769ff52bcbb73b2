"""Screenshots of the HTML reports with headless Chromium: proof that the pages render.

    python -m grader.reports.screenshot OUT/reports [--feedback PAGE]

writes `class_report.png` next to `class_report.html`, and `feedback.png` next to one
student's `feedback.html` (the first student's, or PAGE). Chromium is Debian's `chromium`
(tools/bootstrap.sh installs it); it runs headless, without its sandbox (these machines run
as root, where Chromium refuses its sandbox) and GPU, with background networking, component
updates, sync and everything else that would reach for the network switched off: the pages
need none, and these machines have none. A throw-away profile keeps it from touching HOME.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

WIDTH, HEIGHT = 1280, 2000
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


def screenshot(html: Path, png: Path, *, width: int = WIDTH, height: int = HEIGHT) -> Path:
    """Render HTML in headless Chromium and save a WIDTH x HEIGHT PNG of it to PNG."""
    png = Path(png).resolve()
    png.unlink(missing_ok=True)
    done = _run(html, [f"--window-size={width},{height}", f"--screenshot={png}"])
    if not png.is_file():
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-5:]
        raise RuntimeError(f"Chromium wrote no screenshot of {html} (exit {done.returncode}): "
                           + " | ".join(tail))
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
