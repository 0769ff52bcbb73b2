"""A student's optimizers written entry by entry, with lazily created state."""

import copy
import math

import numpy as np


class SGD:
    def __init__(self, params, lr=0.01):
        self.lr = lr

    def step(self, params, grads):
        for p, g in zip(params, grads):
            for idx in np.ndindex(p.shape):
                p[idx] = p[idx] - self.lr * g[idx]


class Momentum:
    def __init__(self, params, lr=0.01, mu=0.9):
        self.lr = lr
        self.mu = mu
        self.velocities = {}

    def step(self, params, grads):
        for i, (p, g) in enumerate(zip(params, grads)):
            if i not in self.velocities:
                self.velocities[i] = np.zeros(p.shape)
            v = self.velocities[i]
            for idx in np.ndindex(p.shape):
                v[idx] = self.mu * v[idx] - self.lr * g[idx]
                p[idx] += v[idx]
        return None


class Adam:
    def __init__(self, params, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
        self.lr = lr
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.t = 0
        self.m = [np.zeros(p.shape) for p in params]
        self.v = [np.zeros(p.shape) for p in params]

    def step(self, params, grads):
        self.t = self.t + 1
        c1 = 1.0 - self.beta1 ** self.t
        c2 = 1.0 - self.beta2 ** self.t
        for k in range(len(params)):
            p, g, m, v = params[k], grads[k], self.m[k], self.v[k]
            for idx in np.ndindex(p.shape):
                gi = float(g[idx])
                m[idx] = self.beta1 * m[idx] + (1.0 - self.beta1) * gi
                v[idx] = self.beta2 * v[idx] + (1.0 - self.beta2) * gi ** 2
                p[idx] -= self.lr * (m[idx] / c1) / (math.sqrt(v[idx] / c2) + self.eps)


def run_optimizer(optimizer, loss_and_grads, params, n_steps):
    losses = []
    step = 0
    while step < n_steps:
        loss, grads = loss_and_grads(params)
        losses.append(loss)
        optimizer.step(params, grads)
        step += 1
    return losses


def compare_optimizers(loss_and_grads, init_params, configs, n_steps):
    out = {}
    for name in configs:
        cls, kwargs = configs[name]
        start = copy.deepcopy(init_params)
        out[name] = run_optimizer(cls(start, **kwargs), loss_and_grads, start, n_steps)
    return out
