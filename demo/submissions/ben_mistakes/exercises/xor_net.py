"""Exercise 5: a 2-4-1 network that learns XOR.

XOR is the classic function no linear model can represent: its positive points (0,1) and
(1,0) sit diagonally across from the negative ones. One hidden layer of tanh units bends the
plane enough to separate them.
"""

import numpy as np

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1],
                  [0.1, 0.1], [0.1, 0.9], [0.9, 0.1], [0.9, 0.9]], dtype=np.float64)
XOR_Y = np.array([[0], [1], [1], [0], [0], [1], [1], [0]], dtype=np.float64)


def init_params(hidden=4, seed=0):
    """Random starting weights: W1 (hidden, 2) and W2 (1, hidden) from N(0, 1), biases zero.

    Use rng = np.random.default_rng(seed) and draw W1 before W2 (rng.standard_normal), so
    the same seed always gives the same network. b1 has shape (hidden,), b2 shape (1,).
    """
    rng = np.random.default_rng(seed)
    W1 = rng.standard_normal((hidden, 2))
    W2 = rng.standard_normal((1, hidden))
    return {"W1": W1, "b1": np.zeros(hidden), "W2": W2, "b2": np.zeros(1)}


def sigmoid(z):
    """1 / (1 + exp(-z)), mapping any real number into (0, 1)."""
    return 1.0 / (1.0 + np.exp(-z))


def forward(params, X):
    """H = tanh(X @ W1.T + b1);  p = sigmoid(H @ W2.T + b2).  Returns (p (m, 1), cache).

    cache is a dict holding what backward needs: X, H and p.
    """
    H = np.tanh(X @ params["W1"].T + params["b1"])
    p = sigmoid(H @ params["W2"].T + params["b2"])
    return p, {"X": X, "H": H, "p": p}


def bce_loss(p, y):
    """Mean binary cross-entropy: -mean(y*log(p) + (1-y)*log(1-p)), a float.

    p and y are (m, 1). log(0) is -inf, so clip p into [1e-12, 1 - 1e-12] first: the loss
    must be finite for every p in [0, 1].
    """
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def backward(params, cache, y):
    """Gradients of bce_loss(forward(params, X)) with respect to every parameter.

    With m examples: dZ2 = (p - y)/m (sigmoid and cross-entropy together give this clean
    form);  dW2 = dZ2.T @ H;  db2 = dZ2.sum(0);  dZ1 = (dZ2 @ W2) * (1 - H**2) (tanh'(z) is
    1 - tanh(z)**2);  dW1 = dZ1.T @ X;  db1 = dZ1.sum(0).
    Returns a dict W1, b1, W2, b2 with the shapes of params.
    """
    X, H, p = cache["X"], cache["H"], cache["p"]
    m = X.shape[0]
    dZ2 = (p - y) / m
    dZ1 = (dZ2 @ params["W2"]) * (1 - H)
    return {"W1": dZ1.T @ X, "b1": dZ1.sum(axis=0), "W2": dZ2.T @ H, "b2": dZ2.sum(axis=0)}


def train(X, y, hidden=4, lr=2.0, epochs=2000, seed=0):
    """Full-batch gradient descent from init_params(hidden, seed) for `epochs` updates.

    losses[i] is the loss before update i. Returns (params, losses), losses a list of floats.
    A few seeds stay stuck in a local minimum: that is XOR's landscape, not a bug.
    """
    params = init_params(hidden, seed)
    losses = []
    for _ in range(epochs):
        p, cache = forward(params, X)
        losses.append(bce_loss(p, y))
        grads = backward(params, cache, y)
        for name in params:
            params[name] = params[name] - lr * grads[name]
    return params, losses


def predict(params, X):
    """Class predictions: 1 where p >= 0.5, else 0, as an (m, 1) integer array."""
    p, _ = forward(params, X)
    return (p >= 0.5).astype(np.int64)
