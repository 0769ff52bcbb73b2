"""Exercise 4: SGD, momentum and Adam from scratch.

An optimizer owns some state (velocities, moment estimates) sized from the parameters it
will update, and a `step(params, grads)` that updates every parameter array *in place*: the
same array objects, so that whoever holds them (a model) sees the new values.
"""

import copy

import numpy as np


class SGD:
    """Plain gradient descent: p -= lr * g for every parameter."""

    def __init__(self, params, lr=0.01):
        self.lr = lr

    def step(self, params, grads):
        """Update every params[i] in place (p -= ..., never p = p - ...). Returns None."""
        for p, g in zip(params, grads):
            p -= self.lr * g


class Momentum:
    """Momentum, velocity form: v = mu*v - lr*g; p += v. Velocities start at zero.

    The velocity accumulates past gradients, so steps grow along directions that agree
    (a ravine's floor) and cancel across directions that oscillate. One velocity per
    parameter, kept between steps. With mu = 0 this is exactly SGD.
    """

    def __init__(self, params, lr=0.01, mu=0.9):
        self.lr = lr
        self.mu = mu
        self.velocities = [np.zeros_like(p) for p in params]

    def step(self, params, grads):
        """v = mu*v - lr*g; p += v, for every parameter, in place. Returns None."""
        for p, g, v in zip(params, grads, self.velocities):
            v *= self.mu
            v -= self.lr * g
            p += v


class Adam:
    """Adam: per-parameter step sizes from running moments of the gradient.

    t += 1 (t = 1 on the first step);  m = beta1*m + (1-beta1)*g;  v = beta2*v + (1-beta2)*g**2
    m_hat = m / (1 - beta1**t);  v_hat = v / (1 - beta2**t);  p -= lr * m_hat / (sqrt(v_hat) + eps)
    m and v start at zero, one pair per parameter, and t counts steps (not parameters).

    Bias correction: m and v start at zero, so early on they underestimate the moments; the
    division by (1 - beta**t) undoes that, making the first step exactly lr*g/(|g| + eps).
    eps goes outside the square root.
    """

    def __init__(self, params, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.t = 0
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]

    def step(self, params, grads):
        """One Adam update of every parameter, in place. Returns None."""
        self.t += 1
        for p, g, m, v in zip(params, grads, self.m, self.v):
            m *= self.beta1
            m += (1 - self.beta1) * g
            v *= self.beta2
            v += (1 - self.beta2) * g * g
            m_hat = m
            v_hat = v
            p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


def run_optimizer(optimizer, loss_and_grads, params, n_steps):
    """Run n_steps of optimization and return the list of n_steps losses.

    loss_and_grads(params) -> (loss, grads). Each step records the loss at the current
    params, then calls optimizer.step(params, grads) with those grads.
    """
    losses = []
    for _ in range(n_steps):
        loss, grads = loss_and_grads(params)
        losses.append(float(loss))
        optimizer.step(params, grads)
    return losses


def compare_optimizers(loss_and_grads, init_params, configs, n_steps):
    """Run each configured optimizer from the same start; return {name: losses}.

    configs maps a name to (OptimizerClass, kwargs). Every run starts from its own deep copy
    of init_params (copy.deepcopy), so init_params is left unchanged and no run starts where
    another one stopped.
    """
    results = {}
    for name, (optimizer_class, kwargs) in configs.items():
        params = copy.deepcopy(init_params)
        optimizer = optimizer_class(params, **kwargs)
        results[name] = run_optimizer(optimizer, loss_and_grads, params, n_steps)
    return results
