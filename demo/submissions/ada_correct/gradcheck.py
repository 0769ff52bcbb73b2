import numpy as np


def numerical_gradient(f, x, eps=1e-5):
    g = np.zeros_like(x, dtype=float)
    for idx in np.ndindex(x.shape):
        saved = x[idx]
        x[idx] = saved + eps
        hi = f(x)
        x[idx] = saved - eps
        lo = f(x)
        x[idx] = saved
        g[idx] = (hi - lo) / (2 * eps)
    return g


def relative_error(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float((abs(a - b) / np.maximum(1e-8, abs(a) + abs(b))).max())


def mlp_loss_and_grads(params, X, y):
    W1, b1, W2, b2 = (params[k] for k in ("W1", "b1", "W2", "b2"))
    n = len(y)
    h_pre = X @ W1.T + b1
    h = np.where(h_pre > 0, h_pre, 0.0)
    scores = h @ W2.T + b2
    scores = scores - scores.max(axis=1, keepdims=True)
    logp = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
    loss = -logp[np.arange(n), y].mean()
    d_scores = np.exp(logp)
    d_scores[np.arange(n), y] -= 1
    d_scores /= n
    d_h = (d_scores @ W2) * (h_pre > 0)
    return loss, {"W1": d_h.T @ X, "b1": d_h.sum(0), "W2": d_scores.T @ h, "b2": d_scores.sum(0)}


def gradient_check(f, x, analytic_grad, num_checks=10, eps=1e-5, seed=0):
    rng = np.random.default_rng(seed)
    errors = []
    for _ in range(num_checks):
        idx = tuple(rng.integers(0, s) for s in x.shape)
        saved = x[idx]
        x[idx] = saved + eps
        hi = f(x)
        x[idx] = saved - eps
        lo = f(x)
        x[idx] = saved
        num = (hi - lo) / (2 * eps)
        errors.append(abs(num - analytic_grad[idx]) / max(1e-8, abs(num) + abs(analytic_grad[idx])))
    return float(max(errors))
