"""Every check runs under the deterministic grading profile, however it was reached."""

from hypothesis import Phase, settings

from grader.authoring.checks import checks_for, use_profile


def test_grading_profile_is_deterministic_and_shrinks():
    use_profile()
    current = settings()
    assert current.derandomize and current.database is None and current.deadline is None
    assert Phase.shrink in current.phases


def test_reregistering_does_not_inherit_a_loaded_profile():
    settings.register_profile("no-shrink-probe", phases=[Phase.explicit])
    settings.load_profile("no-shrink-probe")
    use_profile()
    assert Phase.shrink in settings().phases


def test_checks_with_their_own_settings_inherit_the_grading_profile():
    seen = 0
    for exercise in ("softmax_ce", "gradcheck", "linreg_gd", "optimizers", "xor_net"):
        for check in checks_for(exercise, include_hidden=True):
            own = getattr(check.function, "_hypothesis_internal_use_settings", None)
            if own is not None and own.max_examples != settings().max_examples:
                seen += 1
                assert own.derandomize and own.database is None, check.id
    assert seen > 0  # some checks lower max_examples; they must keep the profile's rules


def test_hidden_checks_do_not_shrink_and_public_ones_do():
    # A hidden check shows no input, so shrinking its failure would only cost time; a
    # public one shows the smallest failing input. Neither runs Phase.explain. The one
    # exception: a public check of a single drawn example (xor_net's learns_xor_for_most_seeds
    # draws only the order of the points, which no verdict depends on) names it unshrunk.
    kinds = {True: 0, False: 0}
    single = []
    for exercise in ("softmax_ce", "gradcheck", "linreg_gd", "optimizers", "xor_net"):
        for check in checks_for(exercise, include_hidden=True):
            own = getattr(check.function, "_hypothesis_internal_use_settings", None)
            if own is None:
                continue  # not a Hypothesis check
            kinds[check.hidden] += 1
            if not check.hidden and own.max_examples == 1:
                single.append(check.id)
                assert Phase.shrink not in own.phases, check.id
                continue
            assert (Phase.shrink in own.phases) is not check.hidden, check.id
            assert Phase.explain not in own.phases and Phase.generate in own.phases, check.id
            assert own.derandomize and own.database is None, check.id
    assert kinds[True] > 0 and kinds[False] > 0
    assert single == ["xor_net::learns_xor_for_most_seeds"]


def test_every_hypothesis_check_has_its_own_fixed_seed():
    # Fixed once per check (not recomputed from a digest of its source on every run), and
    # distinct: checks drawing from one seed would explore correlated examples.
    seeds = {}
    for exercise in ("softmax_ce", "gradcheck", "linreg_gd", "optimizers", "xor_net"):
        for check in checks_for(exercise, include_hidden=True):
            if getattr(check.function, "hypothesis", None) is None:
                continue
            own = check.function._hypothesis_internal_use_seed
            assert isinstance(own, int), check.id
            seeds[check.id] = own
    assert len(seeds) > 50 and len(set(seeds.values())) == len(seeds)


def test_a_checks_examples_do_not_depend_on_the_modules_imported(tmp_path):
    # Hypothesis draws literal constants from the "local" modules imported so far. A grading
    # process imports more of the grader once its first worker starts, and `grader check`
    # imports the student's file: neither may change the examples a check runs.
    import importlib.util
    import sys

    from grader.engine.example_cache import _same
    from grader.engine.replay import _draw_examples

    use_profile()
    checks = [c.function for exercise in ("softmax_ce", "gradcheck", "optimizers")
              for c in checks_for(exercise, include_hidden=True)
              if getattr(c.function, "hypothesis", None) is not None][:12]
    before = [_draw_examples(fn) for fn in checks]
    path = tmp_path / "student_constants.py"
    path.write_text("VALUES = [" + ", ".join(f"{0.1 * k + 0.0137:.4f}, {-7 * k - 3}"
                                             for k in range(1, 400)) + "]\n")
    spec = importlib.util.spec_from_file_location("student_constants", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["student_constants"] = module
    try:
        spec.loader.exec_module(module)
        after = [_draw_examples(fn) for fn in checks]
    finally:
        del sys.modules["student_constants"]
    assert sum(len(e) for e in before) > 50
    for fn, b, a in zip(checks, before, after):
        assert len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b)), fn.__qualname__
