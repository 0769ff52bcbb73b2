import numpy as np

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1],
                  [.1, .1], [.1, .9], [.9, .1], [.9, .9]], dtype=float)
XOR_Y = np.array([0, 1, 1, 0, 0, 1, 1, 0], dtype=float).reshape(-1, 1)


def init_params(hidden=4, seed=0):
    rng = np.random.default_rng(seed)
    W1 = rng.standard_normal((hidden, 2))
    W2 = rng.standard_normal((1, hidden))
    return {"W1": W1, "b1": np.zeros(hidden), "W2": W2, "b2": np.zeros(1)}


def forward(params, X):
    H = np.tanh(X @ params["W1"].T + params["b1"])
    p = 1 / (1 + np.exp(-(H @ params["W2"].T + params["b2"])))
    return p, {"X": X, "H": H, "p": p}


def bce_loss(p, y):
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())


def backward(params, cache, y):
    X, H, p = cache["X"], cache["H"], cache["p"]
    dZ2 = (p - y) / len(X)
    dZ1 = dZ2 @ params["W2"] * (1 - H ** 2)
    return {"W1": dZ1.T @ X, "b1": dZ1.sum(0), "W2": dZ2.T @ H, "b2": dZ2.sum(0)}


def train(X, y, hidden=4, lr=2.0, epochs=2000, seed=0):
    params = init_params(hidden, seed)
    losses = []
    for _ in range(epochs):
        p, cache = forward(params, X)
        losses.append(bce_loss(p, y))
        grads = backward(params, cache, y)
        params = {k: params[k] - lr * grads[k] for k in params}
    return params, losses


def predict(params, X):
    return (forward(params, X)[0] >= 0.5).astype(int)
