"""Exercise 3: linear regression by gradient descent.

Fit y ≈ X @ w + b by minimising the mean squared error, walking downhill along the gradient.
"""



def predict(X, w, b):
    """Predictions X @ w + b. X: (m, d), w: (d,), b: float. Returns (m,)."""
    # YOUR CODE HERE
    raise NotImplementedError()


def mse_loss(y_pred, y):
    """Mean squared error mean((y_pred - y)**2), a float. Both arrays are (m,)."""
    # YOUR CODE HERE
    raise NotImplementedError()


def mse_gradients(X, y, w, b):
    """Gradients of the MSE with respect to w and b. Returns (dw (d,), db float).

    With r = predict(X, w, b) - y (the residuals, shape (m,)):
      dw = (2/m) * X.T @ r        db = (2/m) * sum(r)
    The 2 comes from differentiating the square; the 1/m from the mean. X.T @ r sums
    x_i * r_i over the examples, giving one entry per feature.
    """
    # YOUR CODE HERE
    raise NotImplementedError()


def gradient_descent(X, y, lr=0.1, n_iters=100):
    """Fit w and b by n_iters steps of gradient descent from w = zeros(d), b = 0.0.

    Each iteration first records the loss at the current parameters, then steps downhill:
    w -= lr * dw; b -= lr * db. Returns (w (d,), b float, losses) where losses is a list of
    n_iters floats and losses[0] is the loss at the zero initialisation. Do not modify X or y.
    """
    # YOUR CODE HERE
    raise NotImplementedError()
