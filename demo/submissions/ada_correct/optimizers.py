import copy

import numpy as np


class SGD:
    def __init__(self, params, lr=0.01):
        self.lr = lr

    def step(self, params, grads):
        for p, g in zip(params, grads):
            p -= self.lr * g


class Momentum:
    def __init__(self, params, lr=0.01, mu=0.9):
        self.lr, self.mu = lr, mu
        self.v = [np.zeros_like(p) for p in params]

    def step(self, params, grads):
        for i, (p, g) in enumerate(zip(params, grads)):
            self.v[i] = self.mu * self.v[i] - self.lr * g
            p += self.v[i]


class Adam:
    def __init__(self, params, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
        self.lr, self.b1, self.b2, self.eps = lr, beta1, beta2, eps
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def step(self, params, grads):
        self.t += 1
        for i, (p, g) in enumerate(zip(params, grads)):
            self.m[i] = self.b1 * self.m[i] + (1 - self.b1) * g
            self.v[i] = self.b2 * self.v[i] + (1 - self.b2) * g ** 2
            m_hat = self.m[i] / (1 - self.b1 ** self.t)
            v_hat = self.v[i] / (1 - self.b2 ** self.t)
            p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


def run_optimizer(optimizer, loss_and_grads, params, n_steps):
    losses = []
    for _ in range(n_steps):
        loss, grads = loss_and_grads(params)
        losses.append(float(loss))
        optimizer.step(params, grads)
    return losses


def compare_optimizers(loss_and_grads, init_params, configs, n_steps):
    out = {}
    for name, (cls, kwargs) in configs.items():
        params = copy.deepcopy(init_params)
        out[name] = run_optimizer(cls(params, **kwargs), loss_and_grads, params, n_steps)
    return out
