"""Exercise 3, written with explicit loops (a correct but unvectorised submission)."""

import numpy as np


def predict(X, w, b):
    m, d = X.shape
    out = np.zeros(m)
    for i in range(m):
        total = b
        for j in range(d):
            total += X[i, j] * w[j]
        out[i] = total
    return out


def mse_loss(y_pred, y):
    total = 0.0
    for p, t in zip(y_pred, y):
        total += (p - t) ** 2
    return total / len(y)


def mse_gradients(X, y, w, b):
    m, d = X.shape
    y_hat = predict(X, w, b)
    dw = np.zeros(d)
    db = 0.0
    for i in range(m):
        r = y_hat[i] - y[i]
        for j in range(d):
            dw[j] += 2.0 * r * X[i, j] / m
        db += 2.0 * r / m
    return dw, db


def gradient_descent(X, y, lr=0.1, n_iters=100):
    w = np.zeros(X.shape[1])
    b = 0.0
    losses = []
    for _ in range(n_iters):
        losses.append(mse_loss(predict(X, w, b), y))
        dw, db = mse_gradients(X, y, w, b)
        for j in range(len(w)):
            w[j] -= lr * dw[j]
        b -= lr * db
    return w, b, losses
