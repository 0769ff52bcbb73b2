

class SGD:
    def __init__(self, params):
        self.lr = 0.01

    def step(self, params, grads):
        for p, g in zip(params, grads):
            p -= self.lr * g
