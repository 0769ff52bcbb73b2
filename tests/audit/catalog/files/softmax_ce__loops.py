"""Correct, different: plain loops, math-module style."""
import math

import numpy as np


def softmax(logits):
    out = np.empty_like(logits, dtype=np.float64)
    for i in range(logits.shape[0]):
        row_max = max(logits[i])
        exps = [math.exp(v - row_max) for v in logits[i]]
        total = sum(exps)
        for j, e in enumerate(exps):
            out[i, j] = e / total
    return out


def softmax_cross_entropy(logits, y):
    n, c = logits.shape
    probs = softmax(logits)
    loss = 0.0
    grad = np.zeros((n, c))
    for i in range(n):
        row_max = max(logits[i])
        lse = row_max + math.log(sum(math.exp(v - row_max) for v in logits[i]))
        loss += lse - logits[i, y[i]]
        for j in range(c):
            grad[i, j] = (probs[i, j] - (1.0 if j == y[i] else 0.0)) / n
    return loss / n, grad
