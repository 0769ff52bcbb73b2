"""Correct, different: everything from log-softmax."""
import numpy as np


def log_softmax(z):
    m = z.max(axis=-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


def softmax(logits):
    return np.exp(log_softmax(logits))


def softmax_cross_entropy(logits, y):
    n = len(y)
    logp = log_softmax(logits)
    loss = -logp[np.arange(n), y].mean()
    onehot = np.eye(logits.shape[1])[y]
    return loss, (np.exp(logp) - onehot) / n
