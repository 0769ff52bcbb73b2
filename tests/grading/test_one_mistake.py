"""One mistake costs exactly the checks that test it, each naming the likely mistake.

One mistake costs the checks that test it (issue 21): a known-wrong implementation from the
audit catalog, graded by the real `grader ci` as a student's workflow runs it, fails exactly
the checks about its mistake, each with a likely mistake that says what to look at, and the
annotation of each failure sits on the class the mistake is in."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from grader.grading.audit import load_catalog, materialize
from grader.integrations.ci.annotations import definition_lines

ROOT = Path(__file__).resolve().parents[2]

# catalog entry -> (the public checks it must fail, a word its hints share, the class)
CASES = {
    "adam_no_bias_correction": (
        {"adam_first_step_moves_lr_times_sign_of_gradient",
         "adam_constant_gradient_moves_about_lr_per_step",
         "adam_steps_use_bias_corrected_moment_averages"}, "bias correction", "Adam"),
    "adam_default_beta2": ({"default_hyperparameters"}, "beta2", "Adam"),
    "momentum_default_mu": ({"default_hyperparameters"}, "mu", "Momentum"),
    "adam_eps_inside_sqrt": ({"adam_eps_outside_the_square_root_for_small_gradients"},
                             "outside the square root", "Adam"),
}


def _grader_ci(folder: Path, out: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GITHUB_ACTIONS": "true",
           "GITHUB_WORKSPACE": str(folder), "GITHUB_STEP_SUMMARY": str(out / "summary.md")}
    env.pop("GRADER_COURSE_SECRET", None)
    return subprocess.run([sys.executable, "-m", "grader", "ci", "optimizers", "--submission",
                           str(folder), "--output", str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("entry_id", sorted(CASES))
def test_one_mistake_fails_only_its_checks_each_with_a_hint_at_its_class(entry_id, tmp_path):
    failing, hint_word, cls = CASES[entry_id]
    entry = next(e for e in load_catalog(["optimizers"]) if e.id == entry_id)
    folder = tmp_path / "student"
    folder.mkdir()
    path = materialize(entry, folder)
    run = _grader_ci(folder, tmp_path / "ci")
    assert run.returncode == 1, run.stdout + run.stderr
    tests = json.loads((tmp_path / "ci" / "results.json").read_text())["tests"]
    failed = {t["name"].removeprefix("optimizers: "): t for t in tests if t["status"] != "passed"}
    assert set(failed) == failing, {name: t["output"][:300] for name, t in failed.items()}
    for name, test in failed.items():
        hints = [line for line in test["output"].splitlines()
                 if line.startswith("Likely mistake: ")]
        assert len(hints) == 1 and hint_word in hints[0], (name, test["output"])
    # Every annotation is on the line `class <cls>:` and quotes the hint.
    class_line = definition_lines(path)[cls]
    errors = [line for line in run.stdout.splitlines() if line.startswith("::error ")]
    assert errors, run.stdout
    for error in errors:
        assert re.match(rf"::error file=optimizers\.py,line={class_line},", error), error
        assert "Likely mistake: " in error, error
    for name in failing:
        assert any(f"{name} (failed, " in error for error in errors), (name, errors)


# The other exercises: catalog entry -> the public checks it must fail, exactly. A check that
# calls the mistaken function to test something else (backward on forward's cache, training
# on backward's gradients, hygiene on the loss) anchors to values that a mistake graded
# elsewhere leaves intact.
OTHER_CASES = {
    ("xor_net", "sigmoid_tanh_swapped"): {
        "all_zero_network_on_the_xor_data", "forward_pinned_values", "learns_xor_for_most_seeds"},
    ("xor_net", "bce_sum_not_mean"): {"all_zero_network_on_the_xor_data",
                                      "bce_loss_pinned_values"},
    ("xor_net", "db2_mean_not_sum"): {"backward_matches_central_differences"},
    ("softmax_ce", "loss_sum_not_mean"): {"loss_is_mean_over_examples", "loss_pinned_values"},
    ("softmax_ce", "labels_off_by_one"): {"loss_is_mean_over_examples", "loss_pinned_values"},
    ("softmax_ce", "normalise_columns"): {
        "softmax_rows_are_distributions", "softmax_is_stable_under_row_shifts",
        "gradient_rows_sum_to_zero", "any_batch_size_and_class_count"},
    ("linreg_gd", "mse-sum"): {"mse_loss_pinned_values"},
    ("linreg_gd", "grad-missing-2"): {"mse_gradients_pinned_values",
                                      "mse_gradients_match_central_differences"},
}


@pytest.mark.parametrize("exercise,entry_id", sorted(OTHER_CASES))
def test_one_mistake_fails_only_the_checks_that_test_it(exercise, entry_id, tmp_path):
    entry = next(e for e in load_catalog([exercise]) if e.id == entry_id)
    folder = tmp_path / "student"
    folder.mkdir()
    materialize(entry, folder)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GITHUB_ACTIONS": "true",
           "GITHUB_WORKSPACE": str(folder), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}
    env.pop("GRADER_COURSE_SECRET", None)
    run = subprocess.run([sys.executable, "-m", "grader", "ci", exercise, "--submission",
                          str(folder), "--output", str(tmp_path / "ci")], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run.stdout + run.stderr
    tests = json.loads((tmp_path / "ci" / "results.json").read_text())["tests"]
    failed = {t["name"].removeprefix(f"{exercise}: "): t["output"] for t in tests
              if t["status"] != "passed"}
    assert set(failed) == OTHER_CASES[exercise, entry_id], \
        {name: output[:300] for name, output in failed.items()}
    # Each failure says what to look at: a likely mistake, or the observed and expected values.
    for name, output in failed.items():
        assert "Likely mistake: " in output or "observed" in output, (name, output)
