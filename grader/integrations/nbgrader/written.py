"""The written parts of the course: prompts and model answers of the hand-graded cells.

Their points are in course_config.py ("written"); `grader release nbgrader` turns each part
into a prompt (read-only markdown) and a manually graded answer cell. The model answer is in
the instructor's source notebook only: nbgrader replaces it with "YOUR ANSWER HERE" (markdown)
or with the scaffold around `### BEGIN SOLUTION` (code) in the released notebook.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WrittenPart:
    id: str
    kind: str  # "markdown" (an explanation) or "code" (an experiment the grader looks at)
    prompt: str
    answer: str  # the model answer; code answers keep their scaffold outside the markers


GRADIENT_DERIVATION = WrittenPart(
    id="gradient_derivation",
    kind="markdown",
    prompt=r"""### Written answer: where the clean gradient comes from

For one example with logits $z \in \mathbb{R}^C$ and label $y$, the loss is
$L = -\log p_y$ with $p = \mathrm{softmax}(z)$.

1. Derive $\partial L / \partial z_j$ step by step, and then the gradient of the batch loss
   (the mean over $N$ examples).
2. Explain why the result is the clean $(p - \mathrm{onehot}(y))/N$ only because softmax is
   **paired** with cross-entropy: write the Jacobian of softmax alone and the gradient of
   cross-entropy with respect to $p$, and say what cancels in the chain rule. What would you
   get, and what would go wrong, with another loss on the probabilities (for example the
   squared error $\sum_c (p_c - t_c)^2$)?

Write your answer in the cell below (Markdown and LaTeX are fine).""",
    answer=r"""**Derivation.** $L = -z_y + \log\sum_k e^{z_k}$, so
$\partial L/\partial z_j = -[j = y] + e^{z_j}/\sum_k e^{z_k} = p_j - [j = y]$.
The batch loss is the mean of the per-example losses, so each row of the gradient is divided
by $N$: $\partial L/\partial Z = (\mathrm{softmax}(Z) - \mathrm{onehot}(y))/N$.

**Why the pairing matters.** Through the chain rule:
softmax's Jacobian is $\partial p_c/\partial z_j = p_c(\delta_{cj} - p_j)$ and cross-entropy's
gradient is $\partial L/\partial p_c = -[c = y]/p_c$. Their product is
$\sum_c -\frac{[c=y]}{p_c}\,p_c(\delta_{cj} - p_j) = p_j - \delta_{yj}$: the $1/p_y$ of the
logarithm cancels the $p_y$ factor of the softmax Jacobian exactly. Neither factor is simple on
its own; only the pair is.

With the squared error on the probabilities the gradient is
$\sum_c 2(p_c - t_c)\,p_c(\delta_{cj} - p_j)$: nothing cancels, and the $p_c(1-p_c)$ factors
make the gradient vanish when softmax saturates, even when the prediction is confidently
wrong, so learning stalls exactly where it should be fastest. Computing $\log p$ after a
separate softmax is also numerically fragile ($p$ underflows to 0); the fused form works from
the shifted logits (log-sum-exp) and stays exact.""",
)

LR_SWEEP_EXPERIMENT = WrittenPart(
    id="lr_sweep_experiment",
    kind="code",
    prompt=r"""### Experiment: SGD, momentum and Adam on a ravine

The cell below sets up a small two-class problem (logistic regression on two Gaussian
blobs, one feature stretched ten times: the loss surface is a long, narrow ravine). Complete
it: for each learning rate of a sweep (at least four values spanning three orders of
magnitude), run `compare_optimizers` with your `SGD`, `Momentum` and `Adam`, and plot the loss
curves (one panel per learning rate, loss on a log scale). This cell is graded by hand.""",
    answer='''import numpy as np
import matplotlib.pyplot as plt

# Two Gaussian blobs; the second feature is stretched ten times, so the loss is a ravine:
# steep across it (feature 2), flat along it (feature 1).
rng = np.random.default_rng(0)
n = 100
X = np.vstack([rng.normal(-1.0, 1.0, size=(n, 2)), rng.normal(1.0, 1.0, size=(n, 2))])
X[:, 1] *= 10.0
y = np.concatenate([np.zeros(n), np.ones(n)])


def loss_and_grads(params):
    """Mean logistic loss of w, b on (X, y), and its gradients [dw, db]."""
    w, b = params
    z = np.clip(X @ w + b, -30.0, 30.0)
    p = 1.0 / (1.0 + np.exp(-z))
    loss = -np.mean(y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12))
    d = (p - y) / len(y)
    return float(loss), [X.T @ d, np.array([d.sum()])]


init_params = [np.zeros(2), np.zeros(1)]

### BEGIN SOLUTION
lrs = [0.001, 0.01, 0.1, 1.0]
fig, axes = plt.subplots(1, len(lrs), figsize=(16, 3.5), sharey=True)
for ax, lr in zip(axes, lrs):
    configs = {"SGD": (SGD, {"lr": lr}),
               "Momentum": (Momentum, {"lr": lr, "mu": 0.9}),
               "Adam": (Adam, {"lr": lr})}
    curves = compare_optimizers(loss_and_grads, init_params, configs, n_steps=200)
    for name, losses in curves.items():
        ax.plot(losses, label=name)
    ax.set_title(f"lr = {lr:g}")
    ax.set_xlabel("step")
    ax.set_yscale("log")
axes[0].set_ylabel("loss")
axes[0].legend()
plt.show()
### END SOLUTION''',
)

LR_SWEEP_EXPLANATION = WrittenPart(
    id="lr_sweep_explanation",
    kind="markdown",
    prompt=r"""### Written answer: what the curves show

From your plots: which optimizer converges fastest, which is the most sensitive to the
learning rate, and **why**? Use the shape of the loss surface (a ravine: one steep and one
flat direction) and how each method scales its step per parameter.""",
    answer=r"""**Fastest:** Adam, over most of the sweep: it reaches a low loss in the fewest
steps at every learning rate from 0.01 to 1. **Most sensitive:** plain SGD: at small
learning rates it crawls along the ravine's flat floor, and as soon as the rate exceeds about
2 divided by the largest curvature (the steep, stretched feature) it oscillates across the
ravine and diverges.

**Why.** SGD uses one step size for every parameter, so the steep direction caps the learning
rate and the flat direction then gets almost nothing. Momentum accumulates gradients that agree
(along the floor) and cancels those that flip sign (across the walls), so it moves faster than
SGD at the same rate, but its effective step is about lr/(1 - mu) = 10 lr, so it diverges at a
rate ten times smaller. Adam divides each parameter's step by the running RMS of its own
gradient: the steep and the flat directions both move by about lr per step, whatever the
scale of their gradients, which is why it is fast and nearly insensitive to the learning rate
(its steps are bounded by lr, so it does not blow up; too large an lr only makes it jitter).""",
)

PARTS: dict[str, tuple[WrittenPart, ...]] = {
    "softmax_ce": (GRADIENT_DERIVATION,),
    "optimizers": (LR_SWEEP_EXPERIMENT, LR_SWEEP_EXPLANATION),
}


def parts_for(exercise_id: str) -> tuple[WrittenPart, ...]:
    return PARTS.get(exercise_id, ())
