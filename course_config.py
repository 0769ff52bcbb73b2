"""The course in one place: exercises, points per check, visibility, limits, due dates.

Every check in tests/checks/{public,hidden}/test_<exercise>.py is listed here with its points;
the grader refuses to run when the two disagree. Public checks ship to students and show
them the smallest failing input; hidden checks run only when instructors grade, and report
nothing but their statement.
"""

COURSE_NAME = "Backpropagation and optimization"
COURSE_VERSION = "2026.1"

# Fixed seed for every random input the checks make outside Hypothesis (which is derandomized).
SEED = 20261122

# Examples Hypothesis tries per check. Raising it finds rarer bugs and costs time linearly.
HYPOTHESIS_MAX_EXAMPLES = 40

EXERCISES = {
    "softmax_ce": {
        "title": "Softmax cross-entropy and its gradient",
        "functions": ["softmax", "softmax_cross_entropy"],
        "public": {
            "softmax_rows_are_distributions": 2,
            "softmax_is_stable_under_row_shifts": 2,
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
        "time_limit_s": 30,
        "memory_limit_mb": 512,
        "due": "2026-12-04T23:59:00+00:00",
    },
    "gradcheck": {
        "title": "Numerical gradients and gradient checking",
        "functions": ["numerical_gradient", "relative_error", "mlp_loss_and_grads", "gradient_check"],
        "public": {
        },
        "hidden": {
        },
        "time_limit_s": 30,
        "memory_limit_mb": 512,
        "due": "2026-12-04T23:59:00+00:00",
    },
    "linreg_gd": {
        "title": "Linear regression by gradient descent",
        "functions": ["predict", "mse_loss", "mse_gradients", "gradient_descent"],
        "public": {
        },
        "hidden": {
        },
        "time_limit_s": 30,
        "memory_limit_mb": 512,
        "due": "2026-12-11T23:59:00+00:00",
    },
    "optimizers": {
        "title": "SGD, momentum and Adam from scratch",
        "functions": ["SGD", "Momentum", "Adam", "run_optimizer", "compare_optimizers"],
        "public": {
        },
        "hidden": {
        },
        "time_limit_s": 30,
        "memory_limit_mb": 512,
        "due": "2026-12-11T23:59:00+00:00",
    },
    "xor_net": {
        "title": "A 2-4-1 network that learns XOR",
        "functions": ["XOR_X", "XOR_Y", "init_params", "forward", "bce_loss", "backward", "train", "predict"],
        "public": {
        },
        "hidden": {
        },
        "time_limit_s": 30,
        "memory_limit_mb": 512,
        "due": "2026-12-18T23:59:00+00:00",
    },
}
