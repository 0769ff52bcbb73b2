"""Every check runs under the deterministic grading profile, however it was reached."""

from hypothesis import Phase, settings

from grader.checks import checks_for, use_profile


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
