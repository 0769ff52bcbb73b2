"""Running a GitHub Actions job's steps on this machine, as the runner would, for tests.

`run:` steps run in `bash --noprofile --norc -eo pipefail` (GitHub's default shell on Linux)
in the checkout folder, with the workflow's, the job's and the step's `env:` and the
variables GitHub sets (GITHUB_ACTIONS, GITHUB_WORKSPACE, a fresh GITHUB_STEP_SUMMARY file per
step, ...). After a failed step only steps with `if: always()` run. Of the `uses:` steps,
checkout is the folder itself, setup-python is the PATH the caller gives (a throwaway venv),
upload-artifact copies its `path:` files to an artifacts folder. Anything else (other actions,
other `if:` expressions, `${{ }}` in env) raises: the test must not pass by skipping it.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import yaml


@dataclass
class StepRun:
    name: str
    status: str  # "success", "failure" or "skipped"
    returncode: int | None = None
    stdout: str = ""
    stderr: str = ""
    summary: str = ""
    uploaded: dict[str, list[str]] = field(default_factory=dict)


def load(path: Path) -> dict:
    workflow = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as True.
    if True in workflow:
        workflow["on"] = workflow.pop(True)
    return workflow


def run_job(workflow: dict, job_id: str, checkout: Path, *, path_prefix: str, env: dict,
            artifacts: Path, timeout: float = 300) -> list[StepRun]:
    job = workflow["jobs"][job_id]
    base = {**env, **_plain_env(workflow.get("env", {})), **_plain_env(job.get("env", {}))}
    base.update({"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(checkout),
                 "PATH": f"{path_prefix}:{env.get('PATH', '/usr/bin:/bin')}"})
    runs: list[StepRun] = []
    failed = False
    for number, step in enumerate(job["steps"], start=1):
        name = step.get("name") or step.get("uses") or step.get("id") or str(number)
        condition = str(step.get("if", "")).replace("${{", "").replace("}}", "").strip()
        if condition not in ("", "always()"):
            raise NotImplementedError(f"step {name!r}: cannot evaluate if: {condition}")
        if failed and condition != "always()":
            runs.append(StepRun(name, "skipped"))
            continue
        step_env = {**base, **_plain_env(step.get("env", {}))}
        if "run" in step:
            summary = checkout.parent / f"step_summary_{number}.md"
            summary.write_text("")
            step_env["GITHUB_STEP_SUMMARY"] = str(summary)
            done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c",
                                   step["run"]], cwd=checkout, env=step_env,
                                  capture_output=True, text=True, timeout=timeout)
            run = StepRun(name, "success" if done.returncode == 0 else "failure",
                          done.returncode, done.stdout, done.stderr, summary.read_text())
        else:
            run = _action(name, step, checkout, artifacts)
        failed = failed or run.status == "failure"
        runs.append(run)
    return runs


def _action(name: str, step: dict, checkout: Path, artifacts: Path) -> StepRun:
    action = step["uses"].split("@")[0]
    if action in ("actions/checkout", "actions/setup-python"):
        return StepRun(name, "success")
    if action == "actions/upload-artifact":
        with_ = step.get("with", {})
        target = artifacts / with_["name"]
        target.mkdir(parents=True, exist_ok=True)
        copied = []
        for pattern in str(with_["path"]).split():
            for path in sorted(checkout.glob(pattern)):
                shutil.copy(path, target / path.name)
                copied.append(path.relative_to(checkout).as_posix())
        status = "failure" if not copied and with_.get("if-no-files-found") == "error" \
            else "success"
        return StepRun(name, status, uploaded={with_["name"]: copied})
    raise NotImplementedError(f"step {name!r}: no stand-in for the action {action}")


def _plain_env(env: dict) -> dict[str, str]:
    for key, value in env.items():
        if "${{" in str(value):
            raise NotImplementedError(f"env {key}: cannot evaluate {value}")
    return {key: str(value) for key, value in env.items()}
