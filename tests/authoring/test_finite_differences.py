"""The directional filter in front of entry-by-entry gradient comparisons."""

import numpy as np
import pytest

from grader.authoring.finite_differences import agrees_along_random_directions


def _loss(p):
    return float(np.sum(np.sin(p["W"]) * p["W"]) + np.sum(np.exp(0.5 * p["b"])))


def _grads(p):
    return {"W": np.cos(p["W"]) * p["W"] + np.sin(p["W"]), "b": 0.5 * np.exp(0.5 * p["b"])}


@pytest.fixture
def params():
    rng = np.random.default_rng(0)
    return {"W": rng.normal(size=(3, 4)), "b": rng.normal(size=5)}


def test_a_correct_gradient_agrees(params):
    assert agrees_along_random_directions(_loss, params, _grads(params), seed=1)


@pytest.mark.parametrize("wrong", [
    lambda g: {**g, "W": 2 * g["W"]},                       # a factor on one parameter
    lambda g: {k: -v for k, v in g.items()},                # a sign flip
    lambda g: {**g, "b": g["b"] + np.eye(5)[3] * 1e-3},     # one entry, slightly
    lambda g: {**g, "W": g["W"].T.reshape(3, 4)},           # values in the wrong places
])
def test_a_wrong_gradient_disagrees(params, wrong):
    assert not agrees_along_random_directions(_loss, params, wrong(_grads(params)), seed=1)


def test_nan_never_agrees(params):
    grads = _grads(params)
    grads["b"][0] = np.nan
    assert not agrees_along_random_directions(_loss, params, grads, seed=1)


def test_inputs_are_not_changed(params):
    before = {k: v.copy() for k, v in params.items()}
    grads = _grads(params)
    grads_before = {k: v.copy() for k, v in grads.items()}
    agrees_along_random_directions(_loss, params, grads, seed=1)
    assert all(np.array_equal(params[k], before[k]) for k in params)
    assert all(np.array_equal(grads[k], grads_before[k]) for k in grads)
