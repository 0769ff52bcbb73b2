"""`grader audit`: the instructor's proof that the checks work.

Trusted: it grades the course's own files (references, stubs, the catalog), never a
student's; the implementations it grades run where `grader check` or `grader grade` would
run them (this process, or workers with `engine="worker"`).

It grades, with every check (public and hidden):
  - the references, several times: full marks, identical results every time;
  - the stubs, as `grader stubs` makes them from the references: zero, and no check may
    crash;
  - the catalog of known-wrong implementations (tests/audit/catalog/<exercise>.toml, [[wrong]]):
    each must lose points ("killed"); one that keeps full marks is a survivor. Each is graded
    by every check, so the report can say, per check, how many it kills and how many no
    other check of the exercise kills (its unique kills): a check with none adds nothing the
    others miss, and one that kills nothing is named;
  - the catalog of correct-but-different implementations ([[correct]]): full marks each;
  - the catalog of trivial implementations ([[trivial]]: constants, zeros, NaN, random
    numbers, echoed inputs, steps that do nothing, ...): exactly 0 points each, since a check
    pays only for real work (docs/authoring.md).
When the course has a secret (course_secret.txt), every implementation is graded twice: with
the examples students see locally and with the ones instructor grading draws from the secret;
a verdict must hold under both (a check kills an entry when it fails it under both).

The catalog of an exercise is tests/audit/catalog/<exercise>.toml, whose file name is an
exercise of course_config.py. It holds arrays of tables `[[wrong]]`, `[[correct]]` and
`[[trivial]]`, and nothing else; every entry has these keys and no other:
  id           string, unique in the file: the entry's name in every report;
  description  string: one line saying what the implementation does (the mistake, or how the
               variant differs);
and exactly one way to build the implementation:
  find, replace     strings: a patch of the reference, solutions/<exercise>.py read without
                    its ### BEGIN/END SOLUTION lines; `find` must occur exactly once in it;
  [[<kind>.patches]]  tables of `find` and `replace` (nothing else): several edits, applied in
                    order after the entry's own find/replace if it has one; each `find` must
                    occur exactly once in the text the edits before it left;
  file              string: a whole .py or .ipynb file, relative to tests/audit/catalog/files/
                    (written as <exercise>.py or <exercise>.ipynb);
  source            string: the module's whole text (mostly trivial implementations).
An exercise must have at least AUDIT_MIN_WRONG (course_config.py, default 5) [[wrong]] entries.
Entries that do not apply (a `find` that is not there, a file that does not exist, an unknown
key, ...) are errors reported before anything is graded, never verdicts.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import tomllib
from hypothesis import Phase, settings

from grader.authoring import hypothesis_compat as compat
from grader.authoring.hypothesis_compat import HIDDEN_PHASES
from grader.course.model import load_course
from grader.course.stubs import make_stub
from grader.grading.executor import Executor, InProcess, LocalPool

REFERENCE_RUNS = 5
KINDS = ("wrong", "correct", "trivial")
ALL_KINDS = frozenset({"reference", "stub", *KINDS})


@dataclass(frozen=True)
class Entry:
    exercise: str
    kind: str  # "wrong", "correct" or "trivial"
    id: str
    description: str
    patches: tuple[tuple[str, str], ...] = ()
    file: str | None = None
    source: str | None = None


@dataclass
class Outcome:
    job: str
    exercise: str
    kind: str
    description: str
    score: float
    max_score: float
    statuses: list[tuple[str, str, str]] = field(default_factory=list)  # (check, status, message)
    problem: str | None = None
    examples: str = "local"  # or "graded": drawn from the course secret

    @property
    def where(self) -> str:
        graded = " (graded examples)" if self.examples == "graded" else ""
        return f"{self.exercise}/{self.job}{graded}"


def catalog_dir() -> Path:
    return load_course().root / "tests" / "audit" / "catalog"


ENTRY_KEYS = ("id", "description", "find", "replace", "patches", "file", "source")
NOTEBOOK_OR_MODULE = (".py", ".ipynb")


class CatalogError(ValueError):
    """Catalog entries that do not apply: grading them would prove nothing."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


def load_catalog(exercise_ids: list[str]) -> list[Entry]:
    """The catalog entries of these exercises; CatalogError if any does not apply."""
    entries, errors = read_catalog(exercise_ids)
    if errors:
        raise CatalogError(errors)
    return entries


def read_catalog(exercise_ids: list[str]) -> tuple[list[Entry], list[str]]:
    """The entries of these exercises' catalogs that apply, and one line per error of the
    catalog (these exercises' entries, and every catalog file that names no exercise)."""
    course = load_course()
    folder = catalog_dir()
    errors: list[str] = []
    if folder.is_dir():
        for path in sorted(folder.glob("*.toml")):
            if path.stem not in course.exercises:
                errors.append(f"{_relative(path)}: the course has no exercise {path.stem!r} "
                              f"(it has {', '.join(course.exercises)}): rename the file to "
                              "<exercise>.toml or remove it")
    entries: list[Entry] = []
    for ex_id in exercise_ids:
        path = folder / f"{ex_id}.toml"
        if path.is_file():
            entries += _read_file(ex_id, path, errors)
    return entries, errors


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(load_course().root))
    except ValueError:
        return str(path)


def _read_file(ex_id: str, path: Path, errors: list[str]) -> list[Entry]:
    rel = _relative(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        errors.append(f"{rel}: not valid TOML ({e}): fix its syntax")
        return []
    for key in data:
        if key not in KINDS:
            errors.append(f"{rel}: unknown table {key!r}{_did_you_mean(key, KINDS)}: a catalog "
                          "holds only [[wrong]], [[correct]] and [[trivial]] entries")
    reference: str | None = None
    reference_path = load_course().solutions_dir / f"{ex_id}.py"
    if reference_path.is_file():
        from grader.course.stubs import strip_markers

        reference = strip_markers(reference_path.read_text(encoding="utf-8"))
    entries: list[Entry] = []
    seen: dict[str, str] = {}
    for kind in KINDS:
        items = data.get(kind, [])
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            errors.append(f"{rel}: {kind!r} must be an array of tables, each entry headed "
                          f"[[{kind}]]")
            continue
        for number, item in enumerate(items, 1):
            entry_id = item.get("id")
            where = f"{rel}: [[{kind}]] #{number}" + (
                f" {entry_id!r}" if isinstance(entry_id, str) else "")
            found = len(errors)
            entry = _read_entry(ex_id, kind, item, where, reference, rel, errors)
            if isinstance(entry_id, str) and entry_id:
                if entry_id in seen:
                    errors.append(f"{where}: the id is also {seen[entry_id]}'s: give each "
                                  "entry of the file its own id")
                else:
                    seen[entry_id] = f"[[{kind}]] #{number}"
            if entry is not None and len(errors) == found:
                entries.append(entry)
    return entries


def _did_you_mean(key: str, known: tuple[str, ...]) -> str:
    import difflib

    close = difflib.get_close_matches(key, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _read_entry(ex_id: str, kind: str, item: dict, where: str, reference: str | None,
                rel: str, errors: list[str]) -> Entry | None:
    for key in item:
        if key not in ENTRY_KEYS:
            errors.append(f"{where}: unknown key {key!r}{_did_you_mean(key, ENTRY_KEYS)}: an "
                          f"entry has only {', '.join(ENTRY_KEYS)}")
    for key, what in (("id", 'a name, unique in the file: id = "..."'),
                      ("description", 'one line saying what it does: description = "..."')):
        value = item.get(key)
        if not isinstance(value, str) or not value.strip():
            errors.append(f"{where}: {'no' if value is None else 'an empty or non-text'} "
                          f"{key!r}: give it {what}")
    for key in ("find", "replace", "file", "source"):
        if key in item and not isinstance(item[key], str):
            errors.append(f"{where}: {key!r} must be a string, got {type(item[key]).__name__}")
    ways = [w for w, keys in (("find/replace or [[patches]]", ("find", "replace", "patches")),
                              ("file", ("file",)), ("source", ("source",)))
            if any(k in item for k in keys)]
    if len(ways) != 1:
        errors.append(f"{where}: " + ("gives no implementation" if not ways else
                                      f"gives {len(ways)} implementations ({', '.join(ways)})")
                      + ": give exactly one of find/replace (or [[patches]]), file, source")
        return None
    patches: list[tuple[str, str]] = []
    if "find" in item or "replace" in item:
        for have, lacks in (("find", "replace"), ("replace", "find")):
            if have in item and lacks not in item:
                errors.append(f"{where}: {have!r} without {lacks!r}: a patch needs both "
                              "(replace = \"\" deletes the text)")
        patches.append((item.get("find"), item.get("replace")))
    listed = item.get("patches", [])
    if not isinstance(listed, list) or not all(isinstance(p, dict) for p in listed):
        errors.append(f"{where}: 'patches' must be an array of tables, each headed "
                      f"[[{kind}.patches]]")
        listed = []
    for number, patch in enumerate(listed, 1):
        unknown = sorted(set(patch) - {"find", "replace"})
        missing = [k for k in ("find", "replace") if not isinstance(patch.get(k), str)]
        if unknown or missing:
            errors.append(f"{where}: [[{kind}.patches]] #{number} must have exactly a text "
                          f"'find' and 'replace'" + (f"; unknown: {unknown}" if unknown else "")
                          + (f"; missing or not text: {missing}" if missing else ""))
        patches.append((patch.get("find"), patch.get("replace")))
    if "patches" in item and not listed and "find" not in item:
        errors.append(f"{where}: 'patches' is empty: add [[{kind}.patches]] tables")
    if patches and all(isinstance(f, str) and isinstance(r, str) for f, r in patches):
        if reference is None:
            errors.append(f"{where}: patches solutions/{ex_id}.py, which does not exist")
            return None
        text = reference
        for number, (find, replace) in enumerate(patches, 1):
            count = text.count(find)
            if count != 1:
                own = "find" in item
                which = "'find'" if number == 1 and own else \
                    f"[[{kind}.patches]] #{number - own}'s 'find'"
                fix = ("copy it from the reference, indentation and line breaks included"
                       if count == 0 else "take in more of the lines around it, so that it "
                       "is unique")
                after = " after the patches before it" if number > 1 else ""
                errors.append(f"{where}: {which} occurs {count} times in solutions/{ex_id}.py "
                              f"without its solution markers{after} (must be exactly once): "
                              + fix)
                return None
            text = text.replace(find, replace)
    file = item.get("file")
    if isinstance(file, str):
        files = catalog_dir() / "files"
        target = (files / file).resolve()
        if not target.is_relative_to(files.resolve()) or not target.is_file():
            errors.append(f"{where}: the file {file!r} does not exist in "
                          f"{_relative(files)}/: add it there, or correct the name")
            return None
        if target.suffix not in NOTEBOOK_OR_MODULE:
            errors.append(f"{where}: the file {file!r} is neither .py nor .ipynb: the grader "
                          "reads an exercise from one of those")
            return None
    return Entry(ex_id, kind, str(item.get("id")), str(item.get("description")),
                 tuple(patches), file, item.get("source"))  # type: ignore[arg-type]


def materialize(entry: Entry, folder: Path) -> Path:
    """Write the entry's implementation into `folder` and return its path."""
    if entry.source is not None:
        target = folder / f"{entry.exercise}.py"
        target.write_text(entry.source)
        return target
    if entry.file:
        source = catalog_dir() / "files" / entry.file
        target = folder / f"{entry.exercise}{source.suffix}"
        target.write_bytes(source.read_bytes())
        return target
    from grader.course.stubs import strip_markers

    text = strip_markers((load_course().solutions_dir / f"{entry.exercise}.py").read_text())
    for find, replace in entry.patches:
        count = text.count(find)
        if count != 1:
            raise ValueError(f"{entry.exercise}/{entry.id}: the text to replace occurs {count} "
                             f"times in the reference (must be exactly once):\n{find}")
        text = text.replace(find, replace)
    target = folder / f"{entry.exercise}.py"
    target.write_text(text)
    return target


def _grade(exercise: str, path: Path, engine: str, only: frozenset[str] | None = None,
           stop_early: bool = False) -> tuple[float, float, list]:
    from grader.engine.run_check import grade_exercise
    from grader.engine.sessions import WorkerSession

    ex = load_course().exercise(exercise)
    session = WorkerSession(path, exercise) if engine == "worker" else None
    results = grade_exercise(ex, path, stop_at_first_failure=stop_early, session=session,
                             only=only)
    return (sum(r.score for r in results), ex.points,
            [(r.check, r.status, r.message) for r in results])


def _grade_wrong(exercise: str, path: Path, engine: str,
                 killers: frozenset[str] | None,
                 per_check: bool = True) -> tuple[float, float, list]:
    """A known-wrong implementation, by every check; or, given KILLERS (the checks that
    failed it under the local examples), by those first: a check kills an entry when it
    fails it under both sets of examples, so the checks it passed locally run only when none
    of these fails (to see whether it survives). That spares most of the second grading.
    Without PER_CHECK, only the verdict: the grading stops at the first check it fails."""
    from grader.authoring.checks import checks_for
    from grader.engine import replay

    # The verdict is all the audit needs: shrinking a failing example to the smallest one
    # changes no verdict, and would cost more than all the rest.
    saved = []
    for check in checks_for(exercise, include_hidden=True):
        own = compat.settings_of(check.function)
        if own is not None and Phase.shrink in own.phases:
            replay.known_examples(check.function)  # kept under its own settings' key
            saved.append((check.function, own))
            compat.use_settings(check.function, settings(own, phases=HIDDEN_PHASES))
    try:
        if killers is None:
            return _grade(exercise, path, engine, stop_early=not per_check)
        score, max_score, statuses = _grade(exercise, path, engine, only=killers)
        if all(s == "passed" for _, s, _ in statuses):
            rest = frozenset(c.name for c in checks_for(exercise, include_hidden=True)) - killers
            more, _, more_statuses = _grade(exercise, path, engine, only=rest, stop_early=True)
            score, statuses = score + more, statuses + more_statuses
        return score, max_score, statuses
    finally:
        for fn, own in saved:
            compat.use_settings(fn, own)


# name, exercise, kind, payload, engine, examples, per_check
Job = tuple[str, str, str, object, str, str, bool]


def _run_job(job: Job) -> Outcome:
    name, exercise, kind, payload, engine, examples, per_check = job
    from grader.authoring import checks

    try:
        if examples == "graded":
            checks.use_course_secret()
        else:
            checks.use_local_examples()
        if kind == "reference":
            score, max_score, statuses = _grade(exercise, Path(str(payload)), engine)
            return Outcome(name, exercise, kind, name, score, max_score, statuses,
                           examples=examples)
        if kind == "stub":
            # The stub as `grader stubs` makes it from the reference, not whatever file sits in
            # exercises/ (someone may have worked there): the audit proves the course.
            reference = Path(str(payload))
            with tempfile.TemporaryDirectory(prefix="audit-") as tmp:
                stub = Path(tmp) / f"{exercise}.py"
                stub.write_text(make_stub(reference.read_text(), str(reference)))
                score, max_score, statuses = _grade(exercise, stub, engine)
            return Outcome(name, exercise, kind, name, score, max_score, statuses,
                           examples=examples)
        killers = None
        if isinstance(payload, tuple):  # a known-wrong one again, with its local killers
            payload, killers = payload
        assert isinstance(payload, Entry)
        with tempfile.TemporaryDirectory(prefix="audit-") as tmp:
            path = materialize(payload, Path(tmp))
            if kind == "wrong":
                score, max_score, statuses = _grade_wrong(exercise, path, engine, killers,
                                                          per_check)
            else:
                score, max_score, statuses = _grade(exercise, path, engine)
        return Outcome(name, exercise, kind, payload.description, score, max_score, statuses,
                       examples=examples)
    except Exception as e:  # a job that cannot run is a finding, not a crash of the audit
        return Outcome(name, exercise, kind, str(payload), 0.0, 0.0, [],
                       problem=f"{type(e).__name__}: {e}", examples=examples)


def _run_numbered(numbered: tuple[int, Job]) -> tuple[int, Outcome]:
    number, job = numbered
    return number, _run_job(job)


def _lost(numbered: tuple[int, Job], error: BaseException) -> tuple[int, Outcome]:
    """The outcome of a job whose process died: a finding, like a broken catalog entry."""
    number, (name, exercise, kind, payload, _, examples, _) = numbered
    return number, Outcome(name, exercise, kind, str(payload), 0.0, 0.0, [],
                           problem=f"{type(error).__name__}: {error}", examples=examples)


def jobs(exercise_ids: list[str], engine: str = "inprocess",
         kinds: frozenset[str] = ALL_KINDS,
         reference_runs: int = REFERENCE_RUNS, graded: bool = True,
         per_check: bool = True) -> list[Job]:
    """Every implementation once per set of examples: the local ones, then (when the course
    has a secret, unless GRADED is false) the graded ones. One set after the other, so a
    process switches rarely. PER_CHECK: see audit."""
    from grader.course import secret as course_secret

    course = load_course()
    has_secret = course_secret.read(course.root) is not None
    sets = ["local"] + (["graded"] if graded and has_secret else [])
    out: list[Job] = []
    for examples in sets:
        for ex_id in exercise_ids:
            if "reference" in kinds:
                for run in range(reference_runs):
                    out.append((f"reference #{run + 1}", ex_id, "reference",
                                str(course.solutions_dir / f"{ex_id}.py"), engine, examples,
                                per_check))
            if "stub" in kinds:
                out.append(("stub", ex_id, "stub", str(course.solutions_dir / f"{ex_id}.py"),
                            engine, examples, per_check))
        for entry in load_catalog(exercise_ids):
            if entry.kind in kinds:
                out.append((entry.id, entry.exercise, entry.kind, entry, engine, examples,
                            per_check))
    return out


def judge(outcomes: list[Outcome]) -> tuple[list[str], dict[str, tuple[int, int]],
                                             dict[str, tuple[int, int]]]:
    """Problems found (empty when the checks are proven), kills per exercise, and trivial
    implementations that earned nothing per exercise."""
    problems: list[str] = []
    survived: dict[tuple[str, str], bool] = {}  # (exercise, entry): kept full marks under a set
    paid: dict[tuple[str, str], bool] = {}
    reference_runs: dict[tuple[str, str], list] = {}
    for o in outcomes:
        where = o.where
        if o.problem:
            problems.append(f"{where}: could not be audited: {o.problem}")
            continue
        if o.kind == "reference":
            reference_runs.setdefault((o.exercise, o.examples), []).append(o.statuses)
            if o.score != o.max_score:
                bad = [f"{c} ({s}): {m.splitlines()[0] if m else ''}"
                       for c, s, m in o.statuses if s != "passed"]
                problems.append(f"{where}: the reference lost points: {'; '.join(bad)}")
        elif o.kind == "stub":
            crashed = [c for c, s, _ in o.statuses if s == "error"]
            if o.score != 0 or crashed:
                problems.append(f"{where}: the stub scored {o.score:g} (must be 0)"
                                + (f"; checks crashed: {crashed}" if crashed else ""))
        elif o.kind == "wrong":
            kept = o.score >= o.max_score
            survived[o.exercise, o.job] = survived.get((o.exercise, o.job), False) or kept
            if kept:
                problems.append(f"SURVIVOR {where}: {o.description}")
        elif o.kind == "trivial":
            earned = o.score != 0
            paid[o.exercise, o.job] = paid.get((o.exercise, o.job), False) or earned
            if earned:
                passed = [f"{c} ({s})" for c, s, _ in o.statuses if s == "passed"]
                problems.append(f"TRIVIAL PAID {where}: {o.description}: {o.score:g} points "
                                f"from {', '.join(passed)}")
        elif o.kind == "correct" and o.score != o.max_score:
            bad = [f"{c} ({s}): {m.splitlines()[0] if m else ''}"
                   for c, s, m in o.statuses if s != "passed"]
            problems.append(f"FALSE FAILURE {where}: {o.description}: {'; '.join(bad)}")
    for (ex_id, examples), runs in reference_runs.items():
        if any(r != runs[0] for r in runs):
            graded = " (graded examples)" if examples == "graded" else ""
            problems.append(f"{ex_id}/reference{graded}: results differ between runs (not "
                            "deterministic)")
    kills: dict[str, tuple[int, int]] = {}
    for (ex_id, _), kept in survived.items():
        killed, total = kills.get(ex_id, (0, 0))
        kills[ex_id] = (killed + (not kept), total + 1)
    zeros: dict[str, tuple[int, int]] = {}
    for (ex_id, _), earned in paid.items():
        nothing, total = zeros.get(ex_id, (0, 0))
        zeros[ex_id] = (nothing + (not earned), total + 1)
    return problems, kills, zeros


def catalog_problems(exercise_ids: list[str], entries: list[Entry], min_wrong: int,
                     kinds: frozenset[str] = ALL_KINDS) -> list[str]:
    """Exercises whose catalog proves too little: none, no entries, or fewer than MIN_WRONG
    known-wrong implementations (course_config.py's AUDIT_MIN_WRONG)."""
    if not kinds & set(KINDS):
        return []
    problems = []
    for ex_id in exercise_ids:
        rel = f"tests/audit/catalog/{ex_id}.toml"
        mine = [e for e in entries if e.exercise == ex_id]
        wrong = sum(e.kind == "wrong" for e in mine)
        if not (catalog_dir() / f"{ex_id}.toml").is_file():
            problems.append(f"{ex_id}: no audit catalog: add {rel} with at least {min_wrong} "
                            "[[wrong]] entries (known mistakes the checks must catch)")
        elif not mine:
            problems.append(f"{ex_id}: {rel} has no entries: add at least {min_wrong} [[wrong]] "
                            "entries (known mistakes the checks must catch)")
        elif "wrong" in kinds and wrong < min_wrong:
            problems.append(f"{ex_id}: only {wrong} known-wrong implementation(s) in {rel}, the "
                            f"course asks for at least {min_wrong} (AUDIT_MIN_WRONG in "
                            "course_config.py): add [[wrong]] entries")
    return problems


def check_kills(outcomes: list[Outcome]) -> dict[str, dict[str, tuple[int, int]]]:
    """Per exercise and check: how many known-wrong implementations the check kills (fails
    under every set of examples graded), and how many of those no other check kills."""
    checks: dict[str, dict[str, None]] = {}  # every check of the exercise, in grading order
    failed: dict[tuple[str, str], set[str]] = {}
    for o in outcomes:
        if o.kind != "wrong" or o.problem:
            continue
        checks.setdefault(o.exercise, {}).update(dict.fromkeys(c for c, _, _ in o.statuses))
        mine = {c for c, s, _ in o.statuses if s != "passed"}
        key = (o.exercise, o.job)
        failed[key] = failed[key] & mine if key in failed else mine
    table: dict[str, dict[str, tuple[int, int]]] = {}
    for ex_id, names in checks.items():
        sets = [f for (e, _), f in failed.items() if e == ex_id]
        table[ex_id] = {c: (sum(c in f for f in sets), sum(f == {c} for f in sets))
                        for c in names}
    return table


def killers_of(outcomes: list[Outcome]) -> dict[tuple[str, str], frozenset[str]]:
    """(exercise, entry) -> the checks that failed a known-wrong implementation."""
    return {(o.exercise, o.job): frozenset(c for c, s, _ in o.statuses if s != "passed")
            for o in outcomes if o.kind == "wrong" and not o.problem}


def _kills_report(table: dict[str, dict[str, tuple[int, int]]]) -> list[str]:
    """Every check's kills: checks that overlap are the rule (a hidden check comparing with
    the reference catches what public ones do), so the zeros are most of the table, and an
    author reads them best next to the kills."""
    lines = ["", "Known-wrong implementations each check kills (fails under every set of "
             "examples), and how many of them no other check of the exercise kills:"]
    warnings = []
    for ex_id, checks in table.items():
        width = max(len(c) for c in checks)
        with_unique = sum(unique > 0 for _, unique in checks.values())
        lines.append(f"  {ex_id:<{width + 2}}{'kills':>6}{'unique':>7}   ({with_unique} of "
                     f"{len(checks)} checks kill a mistake no other check kills)")
        lines += [f"    {name:<{width}}{kills:>6}{unique:>7}"
                  for name, (kills, unique) in checks.items()]
        warnings += [f"  {ex_id}::{name} kills nothing in the catalog" for name, (kills, _)
                     in checks.items() if kills == 0]
    if warnings:
        lines += ["", f"{len(warnings)} warning(s) (fine for a public hygiene check; otherwise "
                  "add the mistake it catches as a [[wrong]] entry, or drop the check):",
                  *warnings]
    return lines


def audit(exercise_ids: list[str] | None = None, workers: int | None = None,
          verbose: bool = False, engine: str = "inprocess",
          kinds: frozenset[str] = ALL_KINDS,
          reference_runs: int = REFERENCE_RUNS, graded: bool = True,
          per_check: bool = True) -> int:
    """Grade the references, stubs and catalog; `engine="worker"` grades them the way
    `grader grade` does (in sandbox-less worker processes), to prove both engines agree.
    `graded=False` leaves out the course secret's examples (the local ones only).
    `per_check=False` proves the verdicts only: a known-wrong implementation's grading stops
    at the first check it fails, and the table of kills per check is left out.
    Returns 0 when everything is proven, 1 for problems found by grading or a catalog that
    proves too little, 3 for catalog entries that do not apply (nothing is graded then)."""
    course = load_course()
    ids = exercise_ids or list(course.exercises)
    for ex_id in ids:
        course.exercise(ex_id)  # CourseError for an unknown one
    entries, errors = read_catalog(ids)
    if errors:
        print(f"grader audit: {len(errors)} catalog error(s), nothing was graded "
              "(the catalog's format: grader/grading/audit.py):", file=sys.stderr)
        for error in errors:
            print(f"  {error}", file=sys.stderr)
        return 3
    all_jobs = jobs(ids, engine, kinds, reference_runs, graded, per_check)
    workers = workers or os.cpu_count() or 1
    start = time.perf_counter()
    executor: Executor[tuple[int, Job], tuple[int, Outcome]] = \
        LocalPool(_run_numbered, workers, lost=_lost) if workers > 1 \
        else InProcess(_run_numbered, lost=_lost)
    numbered = list(enumerate(all_jobs))
    try:
        # The local examples first: under the graded ones, a known-wrong implementation meets
        # first the checks that killed it locally (_grade_wrong). Results come as they
        # finish; the report lists them in the order of the jobs.
        done = dict(executor.results(n for n in numbered if n[1][5] == "local"))
        killers = killers_of(list(done.values()))
        again: list[tuple[int, Job]] = []
        for n, (name, ex_id, kind, payload, engine_, examples, per_check_) in numbered:
            if examples == "local":
                continue
            if kind == "wrong" and (ex_id, name) in killers:
                payload = (payload, killers[ex_id, name])
            again.append((n, (name, ex_id, kind, payload, engine_, examples, per_check_)))
        done.update(executor.results(again))
        outcomes = [done[n] for n, _ in numbered]
    finally:
        executor.close()
    problems, kills, zeros = judge(outcomes)
    problems = catalog_problems(ids, entries, course.audit_min_wrong, kinds) + problems
    elapsed = time.perf_counter() - start

    graded_too = any(j[5] == "graded" for j in all_jobs)
    print(f"Audit of {len(ids)} exercise(s), {len(all_jobs)} gradings in {elapsed:.1f} s with "
          f"{workers} process(es), engine {engine}; examples: local"
          + (" and graded (course secret)." if graded_too else
             " only." if not graded else " (the course has no secret)."))
    print(f"  {'exercise':<12}{'killed':>10}{'kill rate':>11}{'correct variants':>18}"
          f"{'trivial earning 0':>19}")
    for ex_id in ids:
        killed, total = kills.get(ex_id, (0, 0))
        rate = f"{100 * killed / total:.0f}%" if total else "-"
        n_correct = len({o.job for o in outcomes if o.exercise == ex_id and o.kind == "correct"})
        nothing, trivial = zeros.get(ex_id, (0, 0))
        print(f"  {ex_id:<12}{f'{killed}/{total}':>10}{rate:>11}{n_correct:>18}"
              f"{f'{nothing}/{trivial}':>19}")
    table = check_kills(outcomes) if per_check else None
    if table:
        print("\n".join(_kills_report(table)))
    if verbose:
        print("\nEvery known-wrong implementation and the checks that failed it:")
        for o in outcomes:
            if o.kind == "wrong":
                failed = [f"{c} ({s})" for c, s, _ in o.statuses if s != "passed"]
                verdict = (f"could not be audited: {o.problem}" if o.problem
                           else f"killed by {', '.join(failed)}" if failed else "SURVIVED")
                print(f"  {o.where}: {verdict}")
    if problems:
        print(f"\n{len(problems)} problem(s):")
        for p in problems:
            print(f"  {p}")
        return 1
    proven = {"wrong": "every known-wrong implementation lost points",
              "reference": "references got full marks, identically every run",
              "stub": "stubs got zero without crashing",
              "correct": "every correct variant got full marks",
              "trivial": "every trivial implementation earned 0"}
    print("\nNo problems: " + "; ".join(v for k, v in proven.items() if k in kinds) + ".")
    return 0


if __name__ == "__main__":
    sys.exit(audit())
