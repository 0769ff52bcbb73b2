# The two commands of the quick start: `make demo` and `make test`.
# Both create .venv on first use with the Python on PATH and install the project into it, at
# the versions requirements.lock pins (`make lock` updates the lock; see the README).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo report test setup audit lint bench lock clean

demo: setup
	$(BIN)/grader grade demo/submissions --output out/demo
	@echo "One student's feedback, as they would see it (with the hidden checks' statements):"
	@echo "  $(BIN)/grader check --hidden --submission demo/submissions/ben_mistakes"

# The reports of the demo class (CSV, Excel, Gradescope, JUnit, HTML with plots) in out/demo/reports.
report: demo
	$(BIN)/grader report out/demo --submissions demo/submissions

# The suite on two processes, each taking a whole test file at a time (module fixtures, such
# as a class graded once for its attacks, stay in one process); `pytest` alone runs it in one.
test: setup
	$(BIN)/python tools/lock.py check
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/grader stubs --check
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

audit: setup
	$(BIN)/grader audit --verbose

lint: setup
	$(BIN)/ruff check .

bench: setup
	$(BIN)/python benchmarks/check_speed.py
	$(BIN)/python benchmarks/grade_throughput.py
	$(BIN)/python benchmarks/nbgrader_class.py
	$(BIN)/python benchmarks/report_speed.py
	$(BIN)/python benchmarks/dask_throughput.py

# Resolve pyproject.toml's dependencies anew into requirements.lock and the student
# repository's lock (network needed); `make lock UPGRADE=1` moves every package to its newest
# version that fits. Then `make setup` installs them, and `make test` audits the checks on them.
lock: setup
	$(BIN)/python tools/lock.py compile $(if $(UPGRADE),--upgrade)

setup: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@sh tools/bootstrap.sh "$(PYTHON)" "$(VENV)"
	@touch $(STAMP)

clean:
	rm -rf $(VENV) out *.egg-info
