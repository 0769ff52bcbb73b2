"""Exercise 4: SGD, momentum and Adam from scratch.

An optimizer owns some state (velocities, moment estimates) sized from the parameters it
will update, and a `step(params, grads)` that updates every parameter array *in place*: the
same array objects, so that whoever holds them (a model) sees the new values.
"""




class SGD:
    """Plain gradient descent: p -= lr * g for every parameter."""

    def __init__(self, params, lr=0.01):
        # YOUR CODE HERE
        raise NotImplementedError()

    def step(self, params, grads):
        """Update every params[i] in place (p -= ..., never p = p - ...). Returns None."""
        # YOUR CODE HERE
        raise NotImplementedError()


class Momentum:
    """Momentum, velocity form: v = mu*v - lr*g; p += v. Velocities start at zero.

    The velocity accumulates past gradients, so steps grow along directions that agree
    (a ravine's floor) and cancel across directions that oscillate. One velocity per
    parameter, kept between steps. With mu = 0 this is exactly SGD.
    """

    def __init__(self, params, lr=0.01, mu=0.9):
        # YOUR CODE HERE
        raise NotImplementedError()

    def step(self, params, grads):
        """v = mu*v - lr*g; p += v, for every parameter, in place. Returns None."""
        # YOUR CODE HERE
        raise NotImplementedError()


class Adam:
    """Adam: per-parameter step sizes from running moments of the gradient.

    t += 1 (t = 1 on the first step);  m = beta1*m + (1-beta1)*g;  v = beta2*v + (1-beta2)*g**2
    m_hat = m / (1 - beta1**t);  v_hat = v / (1 - beta2**t);  p -= lr * m_hat / (sqrt(v_hat) + eps)
    m and v start at zero, one pair per parameter, and t counts steps (not parameters).

    Bias correction: m and v start at zero, so early on they underestimate the moments; the
    division by (1 - beta**t) undoes that, making the first step exactly lr*g/(|g| + eps).
    eps goes outside the square root.
    """

    def __init__(self, params, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
        # YOUR CODE HERE
        raise NotImplementedError()

    def step(self, params, grads):
        """One Adam update of every parameter, in place. Returns None."""
        # YOUR CODE HERE
        raise NotImplementedError()


def run_optimizer(optimizer, loss_and_grads, params, n_steps):
    """Run n_steps of optimization and return the list of n_steps losses.

    loss_and_grads(params) -> (loss, grads). Each step records the loss at the current
    params, then calls optimizer.step(params, grads) with those grads.
    """
    # YOUR CODE HERE
    raise NotImplementedError()


def compare_optimizers(loss_and_grads, init_params, configs, n_steps):
    """Run each configured optimizer from the same start; return {name: losses}.

    configs maps a name to (OptimizerClass, kwargs). Every run starts from its own deep copy
    of init_params (copy.deepcopy), so init_params is left unchanged and no run starts where
    another one stopped.
    """
    # YOUR CODE HERE
    raise NotImplementedError()
