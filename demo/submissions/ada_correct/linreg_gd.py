import numpy as np


def predict(X, w, b):
    return X.dot(w) + b


def mse_loss(y_pred, y):
    return float(((y_pred - y) ** 2).mean())


def mse_gradients(X, y, w, b):
    err = predict(X, w, b) - y
    m = len(y)
    return 2 * X.T.dot(err) / m, 2 * err.sum() / m


def gradient_descent(X, y, lr=0.1, n_iters=100):
    w, b = np.zeros(X.shape[1]), 0.0
    history = []
    for _ in range(n_iters):
        history.append(mse_loss(predict(X, w, b), y))
        dw, db = mse_gradients(X, y, w, b)
        w, b = w - lr * dw, b - lr * db
    return w, float(b), history
