"""`grader audit`: the instructor's proof that the checks work.

It grades, with every check (public and hidden):
  - the references, several times: full marks, identical results every time;
  - the stubs, as `grader stubs` makes them from the references: zero, and no check may
    crash;
  - the catalog of known-wrong implementations (tests/audit/catalog/<exercise>.toml, [[wrong]]):
    each must lose points ("killed"); one that keeps full marks is a survivor;
  - the catalog of correct-but-different implementations ([[correct]]): full marks each;
  - the catalog of trivial implementations ([[trivial]]: constants, zeros, NaN, random
    numbers, echoed inputs, steps that do nothing, ...): exactly 0 points each, since a check
    pays only for real work (docs/authoring.md).
When the course has a secret (course_secret.txt), every implementation is graded twice: with
the examples students see locally and with the ones instructor grading draws from the secret;
a verdict must hold under both.
A catalog entry is a patch of the reference (`find` -> `replace`; several edits as
`[[wrong.patches]]` tables; each `find` must occur exactly once in the reference without its
solution markers), a whole file (`file`, relative to tests/audit/catalog/files/), or, for
trivial ones mostly, the module's whole text (`source`).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import tomllib

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


def load_catalog(exercise_ids: list[str]) -> list[Entry]:
    entries = []
    for ex_id in exercise_ids:
        path = catalog_dir() / f"{ex_id}.toml"
        if not path.is_file():
            continue
        data = tomllib.loads(path.read_text())
        for kind in KINDS:
            for item in data.get(kind, []):
                patches = [(p["find"], p["replace"]) for p in item.get("patches", [])]
                if "find" in item:
                    patches.insert(0, (item["find"], item["replace"]))
                entries.append(Entry(ex_id, kind, item["id"], item["description"],
                                     tuple(patches), item.get("file"), item.get("source")))
    return entries


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


def _grade(exercise: str, path: Path, stop_early: bool, engine: str) -> tuple[float, float, list]:
    from grader.engine.run_check import grade_exercise
    from grader.engine.sessions import WorkerSession

    ex = load_course().exercise(exercise)
    session = WorkerSession(path, exercise) if engine == "worker" else None
    results = grade_exercise(ex, path, stop_at_first_failure=stop_early, session=session)
    return (sum(r.score for r in results), ex.points,
            [(r.check, r.status, r.message) for r in results])


Job = tuple[str, str, str, object, str, str]  # name, exercise, kind, payload, engine, examples


def _run_job(job: Job) -> Outcome:
    name, exercise, kind, payload, engine, examples = job
    from grader.authoring import checks

    try:
        if examples == "graded":
            checks.use_course_secret()
        else:
            checks.use_local_examples()
        if kind == "reference":
            score, max_score, statuses = _grade(exercise, Path(str(payload)), False, engine)
            return Outcome(name, exercise, kind, name, score, max_score, statuses,
                           examples=examples)
        if kind == "stub":
            # The stub as `grader stubs` makes it from the reference, not whatever file sits in
            # exercises/ (someone may have worked there): the audit proves the course.
            reference = Path(str(payload))
            with tempfile.TemporaryDirectory(prefix="audit-") as tmp:
                stub = Path(tmp) / f"{exercise}.py"
                stub.write_text(make_stub(reference.read_text(), str(reference)))
                score, max_score, statuses = _grade(exercise, stub, False, engine)
            return Outcome(name, exercise, kind, name, score, max_score, statuses,
                           examples=examples)
        assert isinstance(payload, Entry)
        with tempfile.TemporaryDirectory(prefix="audit-") as tmp:
            path = materialize(payload, Path(tmp))
            score, max_score, statuses = _grade(exercise, path, kind == "wrong", engine)
        return Outcome(name, exercise, kind, payload.description, score, max_score, statuses,
                       examples=examples)
    except Exception as e:  # a broken catalog entry is a finding, not a crash of the audit
        return Outcome(name, exercise, kind, str(payload), 0.0, 0.0, [],
                       problem=f"{type(e).__name__}: {e}", examples=examples)


def _run_numbered(numbered: tuple[int, Job]) -> tuple[int, Outcome]:
    number, job = numbered
    return number, _run_job(job)


def _lost(numbered: tuple[int, Job], error: BaseException) -> tuple[int, Outcome]:
    """The outcome of a job whose process died: a finding, like a broken catalog entry."""
    number, (name, exercise, kind, payload, _, examples) = numbered
    return number, Outcome(name, exercise, kind, str(payload), 0.0, 0.0, [],
                           problem=f"{type(error).__name__}: {error}", examples=examples)


def jobs(exercise_ids: list[str], engine: str = "inprocess",
         kinds: frozenset[str] = ALL_KINDS,
         reference_runs: int = REFERENCE_RUNS, graded: bool = True) -> list[Job]:
    """Every implementation once per set of examples: the local ones, then (when the course
    has a secret, unless GRADED is false) the graded ones. One set after the other, so a
    process switches rarely."""
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
                                str(course.solutions_dir / f"{ex_id}.py"), engine, examples))
            if "stub" in kinds:
                out.append(("stub", ex_id, "stub", str(course.solutions_dir / f"{ex_id}.py"),
                            engine, examples))
        for entry in load_catalog(exercise_ids):
            if entry.kind in kinds:
                out.append((entry.id, entry.exercise, entry.kind, entry, engine, examples))
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


def audit(exercise_ids: list[str] | None = None, workers: int | None = None,
          verbose: bool = False, engine: str = "inprocess",
          kinds: frozenset[str] = ALL_KINDS,
          reference_runs: int = REFERENCE_RUNS, graded: bool = True) -> int:
    """Grade the references, stubs and catalog; `engine="worker"` grades them the way
    `grader grade` does (in sandbox-less worker processes), to prove both engines agree.
    `graded=False` leaves out the course secret's examples (the local ones only)."""
    course = load_course()
    ids = exercise_ids or list(course.exercises)
    all_jobs = jobs(ids, engine, kinds, reference_runs, graded)
    workers = workers or os.cpu_count() or 1
    start = time.perf_counter()
    executor: Executor[tuple[int, Job], tuple[int, Outcome]] = \
        LocalPool(_run_numbered, workers, lost=_lost) if workers > 1 \
        else InProcess(_run_numbered, lost=_lost)
    try:
        # Results come as they finish; the report lists them in the order of the jobs.
        outcomes = [o for _, o in sorted(executor.results(enumerate(all_jobs)),
                                         key=lambda numbered: numbered[0])]
    finally:
        executor.close()
    problems, kills, zeros = judge(outcomes)
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
    if verbose:
        for o in outcomes:
            if o.kind == "wrong":
                killer = next(((c, s) for c, s, _ in o.statuses if s != "passed"), None)
                verdict = f"killed by {killer[0]} ({killer[1]})" if killer else "SURVIVED"
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
