"""The course in one place: exercises, points per check, visibility, limits, due dates.

Every check in tests/checks/{public,hidden}/test_<exercise>.py is listed here with its points;
the grader refuses to run when the two disagree. Public checks ship to students and show
them the smallest failing input; hidden checks run only when instructors grade, and report
nothing but their statement.

"written" lists the parts graded by hand (nbgrader's manually graded answer cells, released
by `grader release nbgrader`); their prompts are in grader/integrations/nbgrader/written.py.

An exercise may name the Canvas assignment its grades go to, `"canvas_id": 1234` (the number
in the assignment's Canvas URL): `grader report`'s canvas_import.csv then titles its column
"Title (1234)", the header Canvas matches on import; without it, the column is the title alone.
"""

COURSE_NAME = "Backpropagation and optimization"
COURSE_VERSION = "2026.1"

# Fixed seed for every random input the checks make outside Hypothesis (which is derandomized).
SEED = 20261122

# Examples Hypothesis tries per check (besides each check's explicit @example cases; checks
# that set their own number scale it with this one: grader.authoring.strategies.examples). Raising
# it finds rarer bugs and costs time linearly. At 10 (and even at 8) `grader audit` kills every
# known-wrong implementation in its catalog, and 10 grades a class of 200 through sandboxed
# workers in about 2.2 minutes on 2 cores (README, Performance).
HYPOTHESIS_MAX_EXAMPLES = 10

EXERCISES = {
    "softmax_ce": {
        "title": "Softmax cross-entropy and its gradient",
        "functions": ["softmax", "softmax_cross_entropy"],
        "public": {
            "softmax_rows_are_distributions": 2,
            "softmax_is_stable_under_row_shifts": 2,
            "loss_is_invariant_to_row_shifts": 2,
            "loss_pinned_values": 2,
            "loss_is_mean_over_examples": 2,
            "gradient_matches_central_differences": 3,
            "gradient_rows_sum_to_zero": 1,
            "inputs_not_modified": 1,
            "any_batch_size_and_class_count": 1,
        },
        "hidden": {
            "loss_matches_reference_for_extreme_logits": 2,
            "gradient_matches_reference": 2,
            "softmax_matches_reference": 2,
        },
        "written": {"gradient_derivation": 4},
        "time_limit_s": 30,
        "memory_limit_mb": 512,
        "due": "2026-12-04T23:59:00+00:00",
    },
    "gradcheck": {
        "title": "Numerical gradients and gradient checking",
        "functions": ["numerical_gradient", "relative_error", "mlp_loss_and_grads",
                      "gradient_check"],
        "public": {
            "numerical_gradient_matches_calculus": 3,
            "numerical_gradient_works_on_views_and_any_shape": 2,
            "numerical_gradient_restores_x_exactly": 2,
            "numerical_gradient_calls_f_at_most_2n_plus_1_times": 1,
            "numerical_gradient_honours_eps": 1,
            "relative_error_pinned_values": 2,
            "relative_error_is_symmetric_and_between_0_and_1": 1,
            "mlp_gradients_match_central_differences": 3,
            "mlp_loss_pinned_values": 2,
            "mlp_relu_derivative_is_0_at_the_kink": 1,
            "mlp_leaves_params_and_inputs_unchanged": 1,
            "gradient_check_is_tiny_for_a_correct_gradient": 2,
            "gradient_check_restores_x_exactly": 1,
            "gradient_check_reports_the_worst_entry": 3,
            "gradient_check_honours_eps": 1,
            "gradient_check_is_deterministic_for_a_seed": 2,
        },
        "hidden": {
            "numerical_gradient_matches_reference_on_unusual_shapes": 1,
            "relative_error_matches_reference": 1,
            "mlp_matches_reference": 2,
            "mlp_gradients_at_the_relu_kink": 2,
            "mlp_loss_is_stable_for_huge_logits": 2,
            "gradient_check_matches_reference_on_any_shape": 1,
            "gradient_check_finds_one_wrong_entry_on_any_shape": 1,
            "gradient_check_is_zero_where_both_gradients_are_zero": 1,
        },
        "time_limit_s": 30,
        "memory_limit_mb": 512,
        "due": "2026-12-04T23:59:00+00:00",
    },
    "linreg_gd": {
        "title": "Linear regression by gradient descent",
        "functions": ["predict", "mse_loss", "mse_gradients", "gradient_descent"],
        "public": {
            "predict_values_and_shape": 2,
            "mse_loss_pinned_values": 2,
            "mse_gradients_pinned_values": 2,
            "mse_gradients_match_central_differences": 3,
            "gradient_descent_first_step_is_exact": 3,
            "gradient_descent_loss_never_increases_for_a_small_learning_rate": 2,
            "gradient_descent_converges_to_least_squares": 3,
            "gradient_descent_history_semantics": 2,
            "inputs_not_modified": 1,
            "any_number_of_examples_and_features": 1,
        },
        "hidden": {
            "predict_and_mse_loss_match_reference": 1,
            "mse_gradients_match_reference": 1,
            "gradient_descent_matches_reference": 2,
            "gradient_descent_edge_cases": 1,
        },
        "time_limit_s": 30,
        "memory_limit_mb": 512,
        "due": "2026-12-11T23:59:00+00:00",
    },
    "optimizers": {
        "title": "SGD, momentum and Adam from scratch",
        "functions": ["SGD", "Momentum", "Adam", "run_optimizer", "compare_optimizers"],
        "public": {
            "sgd_moves_each_parameter_by_lr_times_gradient": 2,
            "momentum_velocity_is_a_decaying_sum_of_gradients": 3,
            "momentum_with_mu_zero_is_sgd": 1,
            "adam_first_step_moves_lr_times_sign_of_gradient": 2,
            "adam_constant_gradient_moves_about_lr_per_step": 2,
            "adam_steps_use_bias_corrected_moment_averages": 3,
            "adam_eps_outside_the_square_root_for_small_gradients": 2,
            "adam_is_invariant_to_gradient_scale": 1,
            "default_hyperparameters": 1,
            "step_updates_the_given_arrays_in_place": 2,
            "run_optimizer_records_the_loss_before_each_step": 2,
            "run_optimizer_with_your_sgd_follows_the_closed_form": 1,
            "compare_optimizers_runs_every_config_from_a_fresh_copy": 3,
            "compare_optimizers_with_your_optimizers": 1,
        },
        "hidden": {
            "sgd_matches_reference_trajectory": 1,
            "momentum_matches_reference_trajectory": 2,
            "adam_matches_reference_trajectory": 2,
            "optimizers_handle_any_shapes_and_edge_cases": 1,
            "run_optimizer_matches_reference": 1,
            "compare_optimizers_matches_reference": 2,
        },
        "written": {"lr_sweep_experiment": 3, "lr_sweep_explanation": 4},
        "time_limit_s": 30,
        "memory_limit_mb": 512,
        "due": "2026-12-11T23:59:00+00:00",
    },
    "xor_net": {
        "title": "A 2-4-1 network that learns XOR",
        "functions": ["XOR_X", "XOR_Y", "init_params", "forward", "bce_loss", "backward",
                      "train", "predict"],
        "public": {
            "all_zero_network_on_the_xor_data": 2,
            "forward_pinned_values": 2,
            "bce_loss_pinned_values": 2,
            "backward_matches_central_differences": 3,
            "init_params_shapes_zero_biases_and_determinism": 2,
            "one_training_step_is_exact": 3,
            "train_defaults_are_hidden_4_lr_2_seed_0": 1,
            "train_is_deterministic_and_lowers_the_loss": 1,
            "predict_thresholds_p_at_one_half": 2,
            "learns_xor_for_most_seeds": 2,
        },
        "hidden": {
            "init_params_matches_reference_draws": 2,
            "forward_matches_reference": 1,
            "bce_loss_matches_reference": 1,
            "backward_matches_reference": 2,
            "train_matches_reference": 2,
            "train_defaults_match_reference": 1,
            "predict_matches_reference": 1,
        },
        "time_limit_s": 30,
        "memory_limit_mb": 512,
        "due": "2026-12-18T23:59:00+00:00",
    },
    "lr_schedules": {
        "title": "Learning-rate schedules",
        "functions": ["step_decay", "cosine_annealing", "linear_warmup",
                      "train_with_schedule"],
        "public": {
            "step_decay_matches_the_formula": 3,
            "step_decay_defaults_are_drop_half_every_10": 1,
            "cosine_annealing_matches_the_formula": 3,
            "cosine_annealing_starts_at_lr0_and_ends_at_lr_min": 1,
            "linear_warmup_matches_the_formula": 3,
            "train_with_schedule_follows_gradient_descent": 3,
            "train_with_schedule_calls_schedule_once_per_step_in_order": 2,
        },
        "hidden": {
            "schedules_match_reference_at_any_step": 2,
            "training_on_linear_regression_matches_reference": 2,
        },
        "time_limit_s": 30,
        "memory_limit_mb": 512,
        "due": "2026-12-21T23:59:00+00:00",
    },
}

# Late submissions (grader/course/late.py). Each exercise's "due" above is its deadline, ISO 8601
# with a time zone. A submission up to grace_minutes after it is on time; after that every started
# day late costs penalty_per_day of the points earned ("basis": "possible" takes it of the
# exercise's points instead), at most max_penalty. Extensions move one student's deadline:
# {"student folder": {"exercise id" or "*": a new ISO due date, or a number of extra days}}.
# Submission times come from nbgrader's timestamp.txt in the student's folder, else from the
# last git commit of each exercise file; reports mark a time that could not be found.
LATE_POLICY = {
    "grace_minutes": 15,
    "penalty_per_day": 0.10,
    "max_penalty": 0.50,
    "basis": "earned",
    "extensions": {},
}
