"""Train a 2-layer MLP with pyseq: regression of y = sin(x1) + x2^2 by full-batch gradient descent.

    python examples/train_mlp.py

Everything is pyseq: data, parameters, forward pass, autograd and the SGD update. The loss is
printed every 50 steps; the script exits with status 1 if training did not clearly reduce it.
"""

import math
import sys
import time

import pyseq

N_TRAIN, N_TEST = 1024, 256
HIDDEN = 64
STEPS = 500
LR = 0.05
PRINT_EVERY = 50


def make_data(n):
    """n random inputs, uniform in [-2, 2]^2, and their targets sin(x1) + x2^2, shaped (n, 1)."""
    x = pyseq.rand(n, 2) * 4 - 2
    y = pyseq.sin(x[:, 0]) + x[:, 1] ** 2
    return x, y.unsqueeze(1)


def init_linear(fan_in, fan_out):
    """Weight ~ N(0, 1/fan_in) and zero bias, both leaf tensors that require grad."""
    w = (pyseq.randn(fan_in, fan_out) / math.sqrt(fan_in)).requires_grad_()
    b = pyseq.zeros(fan_out, requires_grad=True)
    return w, b


def mlp(x, params):
    """2 -> HIDDEN (tanh) -> 1."""
    w1, b1, w2, b2 = params
    return pyseq.tanh(x @ w1 + b1) @ w2 + b2


def mse(pred, target):
    return ((pred - target) ** 2).mean()


def main():
    pyseq.manual_seed(0)  # fixes the data and the initial weights
    # Tensors this small gain nothing from threads, and on a busy machine every parallel op can
    # wait for a preempted worker thread (several ms each): one thread is the fastest choice.
    pyseq.set_num_threads(1)
    x_train, y_train = make_data(N_TRAIN)
    x_test, y_test = make_data(N_TEST)
    params = [*init_linear(2, HIDDEN), *init_linear(HIDDEN, 1)]

    start = time.perf_counter()
    losses = []
    for step in range(STEPS + 1):
        loss = mse(mlp(x_train, params), y_train)
        loss.backward()
        # Plain SGD on the leaf tensors, outside the graph; grads are reset for the next step.
        with pyseq.no_grad():
            for p in params:
                p.sub_(p.grad * LR)
                p.grad = None
        losses.append(loss.item())
        if step % PRINT_EVERY == 0:
            print(f"step {step:4d}  train mse {losses[-1]:.4f}")
    elapsed = time.perf_counter() - start

    with pyseq.no_grad():
        test_mse = mse(mlp(x_test, params), y_test).item()
        baseline = y_test.var().item()  # MSE of always predicting the mean
    print(f"test mse {test_mse:.4f} (predicting the mean: {baseline:.4f}); "
          f"{STEPS} steps in {elapsed:.1f} s")

    # Training must have worked: the last loss well below the first.
    if not losses[-1] < 0.1 * losses[0]:
        print(f"FAIL: final loss {losses[-1]:.4f} is not below 10% of the first {losses[0]:.4f}")
        return 1
    print(f"OK: loss fell from {losses[0]:.4f} to {losses[-1]:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
