#!/bin/sh
# Create the virtual environment and install the project at the versions requirements.lock
# pins (every file checked against its sha256). Installs Debian's python3-venv when the Python
# on PATH cannot create a venv and we are root; says what to do otherwise.
set -eu
PYTHON=${1:-python3}
VENV=${2:-.venv}

if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "bootstrap: '$PYTHON' is not on PATH. Install Python 3.11 or newer (Debian: apt-get install python3 python3-venv)." >&2
    exit 1
fi
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "bootstrap: $("$PYTHON" --version 2>&1) is too old; Python 3.11 or newer is needed." >&2
    exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
    if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
        rm -rf "$VENV"
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            echo "bootstrap: installing Debian's python3-venv (needed to create $VENV)"
            apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-venv
            "$PYTHON" -m venv "$VENV"
        else
            echo "bootstrap: '$PYTHON -m venv' failed. Install your system's venv package (Debian: sudo apt-get install python3-venv) and run make again." >&2
            exit 1
        fi
    fi
fi
LOG="$VENV/install.log"
echo "bootstrap: installing the locked packages and the project into $VENV (pip's output: $LOG)"
# The lock holds every package, the dev tools and setuptools included, so the project itself
# goes in without dependencies and without build isolation (which would fetch an unpinned
# setuptools). The pip that venv brings is enough: no unpinned upgrade of it either.
if ! { "$VENV/bin/python" -m pip install --disable-pip-version-check --require-hashes \
           -r requirements.lock &&
       "$VENV/bin/python" -m pip install --disable-pip-version-check --no-deps \
           --no-build-isolation -e .; } >"$LOG" 2>&1 ||
   ! "$VENV/bin/python" -c "import grader, numpy, pandas, hypothesis, pytest, nbformat" 2>>"$LOG"
then
    tail -n 30 "$LOG" >&2
    echo "bootstrap: installing the project failed; the full log is $LOG." >&2
    exit 1
fi
# A lock older than pyproject.toml installs without what was added since: say so now, not at
# the first import error.
if ! "$VENV/bin/python" tools/lock.py check; then
    echo "bootstrap: WARNING: $VENV follows an outdated lock; run \`make lock\`, then make again." >&2
fi

# Bubblewrap confines each grading worker to the files it needs (grader/sandbox/isolation/).
# Without it grading still runs, at a weaker isolation level that is recorded with every result.
if ! command -v bwrap >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "bootstrap: installing Debian's bubblewrap (sandbox for grading workers; apt's output: $VENV/apt.log)"
        if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends bubblewrap; } >"$VENV/apt.log" 2>&1; then
            echo "bootstrap: installing bubblewrap failed (see $VENV/apt.log); grading will run with weaker isolation." >&2
        fi
    else
        echo "bootstrap: bubblewrap (bwrap) is not installed; grading will run with weaker isolation. Install it (Debian: sudo apt-get install bubblewrap)" >&2
    fi
fi

# Headless Chromium renders the HTML reports to prove they display (grader/reports/screenshot.py,
# `grader report --format screenshot`, and a test). Without it everything else still works.
if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/lib/chromium/chromium ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "bootstrap: installing Debian's chromium (headless screenshots of the reports; apt's output: $VENV/apt.log)"
        if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium; } >>"$VENV/apt.log" 2>&1; then
            echo "bootstrap: installing chromium failed (see $VENV/apt.log); report screenshots and their test need it." >&2
        fi
    else
        echo "bootstrap: chromium is not installed; report screenshots and their test need it. Install it (Debian: sudo apt-get install --no-install-recommends chromium)" >&2
    fi
fi
