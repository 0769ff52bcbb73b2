"""The audit is part of the test suite: every known-wrong implementation must lose points."""

import shutil
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_audit_proves_the_checks():
    """References full marks x5 and deterministic, stubs zero, no survivor, no false failure."""
    run = subprocess.run([sys.executable, "-m", "grader", "audit"], capture_output=True,
                         text=True, timeout=600)
    print(run.stdout)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "every known-wrong implementation lost points" in run.stdout


@pytest.mark.slow
def test_the_worker_engine_agrees_with_the_in_process_one():
    """The whole audit through workers, the way `grader grade` runs submissions: the proxy
    must change no verdict, neither of honest code nor of a known mistake (a params dict
    rewritten by student code, say, must be as visible as in one process). The engines'
    agreement is shown on the local examples; the in-process audit covers the graded ones.
    Verdicts only (per_check=False: each known-wrong grading stops at its first failure): the
    in-process audit counts the kills per check."""
    code = (
        "import sys\n"
        "from grader.grading.audit import audit\n"
        "sys.exit(audit(engine='worker', reference_runs=2, graded=False, per_check=False))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=900)
    print(run.stdout)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "engine worker; examples: local" in run.stdout
    assert "every known-wrong implementation lost points" in run.stdout


def _audit(course, *args: str) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, "GRADER_COURSE_ROOT": str(course), "PYTHONPATH": str(course)}
    return subprocess.run([sys.executable, "-m", "grader", "audit", "--workers", "1", *args],
                          cwd=course, env=env, capture_output=True, text=True, timeout=600)


BROKEN_CATALOG = '''
[[wrong]]
id = "not_there"
description = "a find that is not in the reference"
find = "this text is in no reference"
replace = ""

[[wrong]]
id = "twice"
description = "a find that occurs twice"
find = "np."
replace = "numpy."

[[wrong]]
id = "typo"
description = "a key with a typo"
fnd = "    dlogits /= n\\n"
replace = ""

[[wrong]]
description = "no id"
find = "    dlogits /= n\\n"
replace = ""

[[wrong]]
id = "typo"
find = "    dlogits /= n\\n"
replace = ""

[[correct]]
id = "no_such_file"
description = "a file that does not exist"
file = "softmax_ce__nowhere.py"

[[correct]]
id = "two_ways"
description = "a patch and a file"
find = "    dlogits /= n\\n"
replace = "    dlogits = dlogits / n\\n"
file = "softmax_ce__loops.py"

[[trivial]]
id = "nothing"
description = "no implementation at all"
'''


def test_catalog_entries_that_do_not_apply_are_errors_before_anything_is_graded(tmp_path):
    """Each broken entry gets one line naming its file and id and what to do; nothing is
    graded, so no entry that did not apply can be reported as survived or killed."""
    from support import ROOT, course_copy

    course = course_copy(tmp_path)
    catalog = course / "tests" / "audit" / "catalog"
    (catalog / "files").mkdir(parents=True)
    shutil.copy(ROOT / "tests/audit/catalog/files/softmax_ce__loops.py", catalog / "files")
    (catalog / "softmax_ce.toml").write_text(BROKEN_CATALOG)
    (catalog / "softmax.toml").write_text("")  # names no exercise of the course
    run = _audit(course, "softmax_ce")
    assert run.returncode == 3, run.stdout + run.stderr
    assert "Audit of" not in run.stdout and "SURVIVED" not in run.stdout + run.stderr
    lines = run.stderr.splitlines()
    assert lines[0] == ("grader audit: 11 catalog error(s), nothing was graded (the catalog's "
                        "format: grader/grading/audit.py):")
    errors = [line.strip() for line in lines[1:]]
    file = "tests/audit/catalog/softmax_ce.toml"
    expected = [
        ("tests/audit/catalog/softmax.toml: the course has no exercise 'softmax'", "rename"),
        (f"{file}: [[wrong]] #1 'not_there': 'find' occurs 0 times in solutions/softmax_ce.py",
         "copy it from the reference"),
        (f"{file}: [[wrong]] #2 'twice': 'find' occurs ", "so that it is unique"),
        (f"{file}: [[wrong]] #3 'typo': unknown key 'fnd' (did you mean 'find'?)", ""),
        (f"{file}: [[wrong]] #3 'typo': 'replace' without 'find'", ""),
        (f"{file}: [[wrong]] #4: no 'id'", 'id = "..."'),
        (f"{file}: [[wrong]] #5 'typo': no 'description'", "description = "),
        (f"{file}: [[wrong]] #5 'typo': the id is also [[wrong]] #3's", "its own id"),
        (f"{file}: [[correct]] #1 'no_such_file': the file 'softmax_ce__nowhere.py' does not "
         "exist in tests/audit/catalog/files/", "add it there"),
        (f"{file}: [[correct]] #2 'two_ways': gives 2 implementations", "exactly one of"),
        (f"{file}: [[trivial]] #1 'nothing': gives no implementation", "exactly one of"),
    ]
    assert len(errors) == len(expected), run.stderr
    for (start, advice), line in zip(expected, errors, strict=True):
        assert line.startswith(start) and advice in line, (start, line)
    twice = int(errors[2].split("occurs ")[1].split(" ")[0])
    assert twice > 1 and f"occurs {twice} times" in errors[2]


THIN_CATALOG = '''
[[wrong]]
id = "gradient_not_divided_by_n"
description = "dlogits is not divided by the batch size N"
find = "    dlogits /= n\\n"
replace = ""

[[wrong]]
id = "normalise_columns"
description = "softmax normalises over axis 0 (columns) instead of each row"
find = "    return exps / np.sum(exps, axis=1, keepdims=True)"
replace = "    return exps / np.sum(exps, axis=0, keepdims=True)"

[[wrong.patches]]
find = "    dlogits /= n\\n"
replace = "    dlogits /= 2 * n\\n"
'''


def test_a_thin_catalog_fails_the_audit_and_every_check_is_credited(tmp_path):
    """AUDIT_MIN_WRONG from course_config.py: 2 known-wrong entries are too few for 3; an
    exercise without a catalog is told which file to add. Both entries are killed; the
    per-check table counts every check that fails each one, not just the first."""
    from support import course_copy

    course = course_copy(tmp_path)
    config = course / "course_config.py"
    config.write_text(config.read_text().replace("AUDIT_MIN_WRONG = 5", "AUDIT_MIN_WRONG = 3"))
    catalog = course / "tests" / "audit" / "catalog"
    catalog.mkdir(parents=True)
    (catalog / "softmax_ce.toml").write_text(THIN_CATALOG)
    run = _audit(course, "softmax_ce", "linreg_gd")
    out = run.stdout
    assert run.returncode == 1, out + run.stderr
    assert "softmax_ce         2/2       100%" in out
    assert ("softmax_ce: only 2 known-wrong implementation(s) in tests/audit/catalog/"
            "softmax_ce.toml, the course asks for at least 3 (AUDIT_MIN_WRONG in "
            "course_config.py): add [[wrong]] entries") in out
    assert ("linreg_gd: no audit catalog: add tests/audit/catalog/linreg_gd.toml with at "
            "least 3 [[wrong]] entries") in out
    assert "No problems" not in out and "SURVIVOR" not in out
    rows = {}
    table = out[out.index("Known-wrong implementations each check kills"):]
    for line in table.splitlines():
        if line.startswith("    ") and line.split()[-1].isdigit():
            name, kills, unique = line.split()
            rows[name] = (int(kills), int(unique))
    assert len(rows) == 12  # every check of softmax_ce, public and hidden
    # The gradient's mistake fails several gradient checks, the softmax's several softmax
    # ones: each of those kills one entry, more than one check per entry.
    assert rows["gradient_matches_reference"] == (2, 0)  # both entries get dlogits wrong
    assert rows["softmax_rows_are_distributions"][0] == 1
    assert sum(k for k, _ in rows.values()) > 2 * 2
    nothing = [name for name, (kills, _) in rows.items() if kills == 0]
    assert nothing, "2 entries cannot occupy 12 checks"
    for name in nothing:
        assert f"  softmax_ce::{name} kills nothing in the catalog" in out
