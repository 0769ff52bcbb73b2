"""A student's XOR network written with explicit loops over examples and units."""

import math

import numpy as np

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1],
                  [0.1, 0.1], [0.1, 0.9], [0.9, 0.1], [0.9, 0.9]], dtype=float)
XOR_Y = np.array([[0], [1], [1], [0], [0], [1], [1], [0]], dtype=float)


def init_params(hidden=4, seed=0):
    rng = np.random.default_rng(seed)
    params = {}
    params["W1"] = rng.standard_normal(size=(hidden, 2))
    params["b1"] = np.zeros(hidden)
    params["W2"] = rng.standard_normal(size=(1, hidden))
    params["b2"] = np.zeros(1)
    return params


def sigmoid(z):
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def forward(params, X):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    m, hidden = X.shape[0], W1.shape[0]
    H = np.zeros((m, hidden))
    p = np.zeros((m, 1))
    for i in range(m):
        for j in range(hidden):
            H[i, j] = math.tanh(W1[j, 0] * X[i, 0] + W1[j, 1] * X[i, 1] + b1[j])
        z = b2[0]
        for j in range(hidden):
            z += W2[0, j] * H[i, j]
        p[i, 0] = sigmoid(z)
    return p, {"X": X, "H": H, "p": p}


def bce_loss(p, y):
    total = 0.0
    for i in range(p.shape[0]):
        q = min(max(float(p[i, 0]), 1e-12), 1 - 1e-12)
        total += y[i, 0] * math.log(q) + (1 - y[i, 0]) * math.log(1 - q)
    return -total / p.shape[0]


def backward(params, cache, y):
    X, H, p = cache["X"], cache["H"], cache["p"]
    W2 = params["W2"]
    m, hidden = H.shape
    grads = {"W1": np.zeros((hidden, 2)), "b1": np.zeros(hidden),
             "W2": np.zeros((1, hidden)), "b2": np.zeros(1)}
    for i in range(m):
        dz2 = (p[i, 0] - y[i, 0]) / m
        grads["b2"][0] += dz2
        for j in range(hidden):
            grads["W2"][0, j] += dz2 * H[i, j]
            dz1 = dz2 * W2[0, j] * (1 - H[i, j] ** 2)
            grads["b1"][j] += dz1
            grads["W1"][j, 0] += dz1 * X[i, 0]
            grads["W1"][j, 1] += dz1 * X[i, 1]
    return grads


def train(X, y, hidden=4, lr=2.0, epochs=2000, seed=0):
    params = init_params(hidden, seed)
    losses = []
    for epoch in range(epochs):
        p, cache = forward(params, X)
        losses.append(bce_loss(p, y))
        grads = backward(params, cache, y)
        for key in ("W1", "b1", "W2", "b2"):
            params[key] = params[key] - lr * grads[key]
    return params, losses


def predict(params, X):
    p, _ = forward(params, X)
    out = np.zeros((X.shape[0], 1), dtype=int)
    for i in range(X.shape[0]):
        if p[i, 0] >= 0.5:
            out[i, 0] = 1
    return out
