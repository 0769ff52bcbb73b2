"""Exercise 2, written with explicit loops (a correct but unvectorised submission)."""

import math

import numpy as np


def numerical_gradient(f, x, eps=1e-5):
    grad = np.zeros(x.shape)
    for index in np.ndindex(x.shape):
        keep = float(x[index])
        x[index] = keep + eps
        up = f(x)
        x[index] = keep - eps
        down = f(x)
        x[index] = keep
        grad[index] = (up - down) / (2.0 * eps)
    return grad


def relative_error(a, b):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    result = 0.0
    for index in np.ndindex(a.shape):
        u, v = float(a[index]), float(b[index])
        denominator = max(1e-8, abs(u) + abs(v))
        result = max(result, abs(u - v) / denominator)
    return result


def mlp_loss_and_grads(params, X, y):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    N, D = X.shape
    H, C = W1.shape[0], W2.shape[0]
    z1 = np.zeros((N, H))
    for n in range(N):
        for h in range(H):
            total = b1[h]
            for d in range(D):
                total += X[n, d] * W1[h, d]
            z1[n, h] = total
    a1 = np.where(z1 > 0, z1, 0.0)
    z2 = np.zeros((N, C))
    for n in range(N):
        for c in range(C):
            total = b2[c]
            for h in range(H):
                total += a1[n, h] * W2[c, h]
            z2[n, c] = total
    loss = 0.0
    dz2 = np.zeros((N, C))
    for n in range(N):
        top = max(z2[n])
        exps = [math.exp(z2[n, c] - top) for c in range(C)]
        total = sum(exps)
        loss += (math.log(total) + top - z2[n, y[n]]) / N
        for c in range(C):
            dz2[n, c] = (exps[c] / total - (1.0 if c == y[n] else 0.0)) / N
    dW2 = np.zeros((C, H))
    db2 = np.zeros(C)
    da1 = np.zeros((N, H))
    for n in range(N):
        for c in range(C):
            db2[c] += dz2[n, c]
            for h in range(H):
                dW2[c, h] += dz2[n, c] * a1[n, h]
                da1[n, h] += dz2[n, c] * W2[c, h]
    dW1 = np.zeros((H, D))
    db1 = np.zeros(H)
    for n in range(N):
        for h in range(H):
            if z1[n, h] > 0:
                db1[h] += da1[n, h]
                for d in range(D):
                    dW1[h, d] += da1[n, h] * X[n, d]
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def gradient_check(f, x, analytic_grad, num_checks=10, eps=1e-5, seed=0):
    rng = np.random.default_rng(seed)
    picks = rng.integers(x.size, size=num_checks)
    worst = 0.0
    for flat in picks:
        index = np.unravel_index(int(flat), x.shape)
        keep = float(x[index])
        x[index] = keep + eps
        up = f(x)
        x[index] = keep - eps
        down = f(x)
        x[index] = keep
        numeric = (up - down) / (2.0 * eps)
        analytic = float(analytic_grad[index])
        worst = max(worst, abs(numeric - analytic) / max(1e-8, abs(numeric) + abs(analytic)))
    return worst
