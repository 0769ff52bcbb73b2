"""Exercise 2: numerical gradients, and checking a backward pass with them.

A backward pass is easy to get subtly wrong. Central differences give an independent,
slow but reliable estimate of every partial derivative, to compare against.
"""



def numerical_gradient(f, x, eps=1e-5):
    """Central-difference estimate of the gradient of a scalar function f at x.

    grad[i] = (f(x + eps*e_i) - f(x - eps*e_i)) / (2*eps)   for every entry i of x.
    x: float64 array of any shape (1-D, 2-D, ... even a non-contiguous view). Returns an
    array shaped like x. Calls f at most 2*x.size + 1 times.

    Central differences have error O(eps**2) (forward differences only O(eps)); eps near
    1e-5 balances that against round-off. Perturb x in place one entry at a time (np.nditer
    with multi_index visits every entry of any shape), and put the saved original value
    back exactly: x[i] += eps; ...; x[i] -= eps does not always restore x bit for bit.
    """
    # YOUR CODE HERE
    raise NotImplementedError()


def relative_error(a, b):
    """max over entries of |a - b| / max(1e-8, |a| + |b|), as a float.

    Symmetric in a and b, and 0 when a equals b, even where both are 0 (the 1e-8 floor
    avoids 0/0). Relative rather than absolute: 1e-7 is a good match for values near 1 and a
    bad one for values near 1e-7.
    """
    # YOUR CODE HERE
    raise NotImplementedError()


def mlp_loss_and_grads(params, X, y):
    """Loss and gradients of a one-hidden-layer ReLU network with softmax cross-entropy.

    params: W1 (H, D), b1 (H,), W2 (C, H), b2 (C,); X (N, D); y (N,) integer labels.
    Forward:  z1 = X @ W1.T + b1;  a1 = max(0, z1);  z2 = a1 @ W2.T + b2;
              loss = mean softmax cross-entropy of z2 (stable: subtract the row max).
    Backward: dz2 = (softmax(z2) - onehot(y)) / N;  dW2 = dz2.T @ a1;  db2 = dz2.sum(0);
              da1 = dz2 @ W2;  dz1 = da1 * (z1 > 0);  dW1 = dz1.T @ X;  db1 = dz1.sum(0).
    ReLU's derivative is 1 where z1 > 0 and 0 elsewhere (0 at the kink z1 == 0).
    Returns (loss, grads) with grads a dict of the same keys and shapes as params.
    """
    # YOUR CODE HERE
    raise NotImplementedError()


def gradient_check(f, x, analytic_grad, num_checks=10, eps=1e-5, seed=0):
    """Spot-check an analytic gradient at a few random entries; return the worst relative error.

    Draw num_checks entries of x uniformly at random, with replacement, using
    rng = np.random.default_rng(seed); at each, estimate df/dx by central differences with
    eps and compute |num - ana| / max(1e-8, |num| + |ana|). Return the largest (a float).
    x must hold its original values on return. As a rule of thumb, below 1e-7 is right,
    above 1e-2 is a bug.
    """
    # YOUR CODE HERE
    raise NotImplementedError()
