"""Exercise 6: learning-rate schedules.

A schedule gives the learning rate for each step of gradient descent: large early to make
progress, smaller later to settle into a minimum. Steps count from 0.
"""

import math


def step_decay(lr0, step, drop=0.5, every=10):
    """The learning rate at STEP when it is multiplied by DROP every EVERY steps.

    lr0 * drop ** (step // every): lr0 for steps 0..every-1, lr0*drop for the next `every`
    steps, and so on. Returns a float.
    """
    # YOUR CODE HERE
    raise NotImplementedError()


def cosine_annealing(lr0, step, total_steps, lr_min=0.0):
    """The learning rate at STEP falling from lr0 to lr_min along half a cosine.

    With t = min(step, total_steps):
        lr_min + (lr0 - lr_min) * (1 + cos(pi * t / total_steps)) / 2
    lr0 at step 0, lr_min at total_steps and after. Returns a float.
    """
    # YOUR CODE HERE
    raise NotImplementedError()


def linear_warmup(lr0, step, warmup_steps):
    """The learning rate at STEP rising linearly to lr0 over the first WARMUP_STEPS steps.

    lr0 * min(1, (step + 1) / warmup_steps): lr0 / warmup_steps at step 0, lr0 from step
    warmup_steps - 1 on. Returns a float.
    """
    # YOUR CODE HERE
    raise NotImplementedError()


def train_with_schedule(loss_and_grads, params, schedule, n_steps):
    """Gradient descent whose learning rate at step i is schedule(i).

    params is a list of float64 arrays, updated in place. For each step i in 0..n_steps-1:
    loss, grads = loss_and_grads(params); record loss; then p -= schedule(i) * g for every
    parameter p and its gradient g. Call schedule exactly once per step, in order.
    Returns the list of the n_steps recorded losses (floats).
    """
    # YOUR CODE HERE
    raise NotImplementedError()
