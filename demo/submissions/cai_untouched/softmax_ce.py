"""Exercise 1: softmax cross-entropy and its gradient.

For a batch of N examples with C classes, a classifier produces scores `logits` (N, C).
Softmax turns each row into probabilities; cross-entropy scores how much probability the
correct class `y[i]` received. Paired together, their gradient is remarkably simple:
`(softmax(logits) - onehot(y)) / N`.
"""



def softmax(logits):
    """Row-wise softmax: p[i, c] = exp(logits[i, c]) / sum_k exp(logits[i, k]).

    logits: (N, C) float64. Returns (N, C); every row is non-negative and sums to 1.

    Numerical pitfall: exp(1000) overflows to inf. Softmax does not change when a constant
    is added to a row, so subtract each row's maximum first: the largest exponent is then
    exp(0) = 1 and nothing overflows. Use keepdims=True so the (N, 1) row maxima broadcast.
    Do not modify `logits`.
    """
    # YOUR CODE HERE
    raise NotImplementedError()


def softmax_cross_entropy(logits, y):
    """Mean cross-entropy loss of softmax(logits) against integer labels, and its gradient.

    logits: (N, C) float64; y: (N,) integers in [0, C).
    loss    = (1/N) * sum_i [ logsumexp(logits[i]) - logits[i, y[i]] ]
    dlogits = (softmax(logits) - onehot(y)) / N           shape (N, C)
    Returns (loss, dlogits).

    Numerical pitfall: compute the loss from the shifted logits (log-sum-exp), not as
    -log(p + 1e-12): that saturates near 27.6 and is wrong for logits=[[1000., 0.]], y=[1],
    whose loss is exactly 1000. Pick the correct class of each row with
    logits[np.arange(N), y] (not logits[:, y], which takes whole columns).
    """
    # YOUR CODE HERE
    raise NotImplementedError()
