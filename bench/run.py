"""pyseq vs numpy vs torch on the CPU, in one process, on the same data and thread count.

    python bench/run.py [--threads N] [--repeat R] [--quick] [--only TEXT]

Every case builds its numpy input arrays once and hands the very same buffers to pyseq and torch
(`from_numpy`, zero copy). Each library's result is first checked against a reference (numpy, or
torch where numpy has no equivalent), then timed: median of R calls after a warm-up. The report
also gives the import time and installed size of each package. Prints markdown tables.
"""

import argparse
import operator
import os
import platform
import sys
import time

import common  # standard library only: safe to import before numpy

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--threads", type=int, default=2, help="threads for every library (default 2)")
parser.add_argument("--repeat", type=int, default=None, help="timed calls per case (default 10, --quick 3)")
parser.add_argument("--quick", action="store_true", help="fewer repeats and import runs (under ~30 s)")
parser.add_argument("--only", default="",
                    help="run only the cases whose name contains one of these comma-separated texts, e.g. copy,softmax")
args = parser.parse_args()
START = time.perf_counter()
sys.stdout.reconfigure(line_buffering=True)  # report lines appear in order with stderr progress
repeat = args.repeat or (3 if args.quick else 12)
rounds = 1 if args.quick else 3  # libraries timed in turns, `rounds` times (see common.time_interleaved)
import_runs = 3 if args.quick else 7
WARMUP = 2

# BLAS reads its thread count when it is loaded, so this must come before `import numpy`.
common.pin_blas_threads(args.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import pyseq  # noqa: E402

torch.set_num_threads(args.threads)
pyseq.set_num_threads(args.threads)

LIBS = ("numpy", "torch", "pyseq")


def same_op(op, *arrays):
    """`op` applied to the numpy arrays, and to torch and pyseq tensors sharing their memory."""
    inputs = {
        "numpy": arrays,
        "torch": [torch.from_numpy(a) for a in arrays],
        "pyseq": [pyseq.from_numpy(a) for a in arrays],
    }
    return {lib: (lambda xs=xs: op(*xs)) for lib, xs in inputs.items()}


def numpy_softmax(x):
    """Numerically stable softmax over the last dim, the way one writes it in numpy."""
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    e /= e.sum(axis=-1, keepdims=True)
    return e


def numpy_log_softmax(x):
    """(x - max) - log(sum(exp(x - max))) over the last dim."""
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def mlp_step_fns(rng, batch=256, d_in=784, hidden=512, classes=10, lr=0.1):
    """One SGD step of a 2-layer MLP (relu, log_softmax + NLL via gather) in torch and pyseq.

    pyseq follows torch's API, so the same code runs with `lib` = torch or pyseq. Both start
    from identical weights (separate copies, since each library updates its own in place).
    """
    x = rng.standard_normal((batch, d_in), dtype=np.float32)
    y = rng.integers(0, classes, size=(batch, 1))  # int64 class indices, shaped for gather
    init = [
        rng.standard_normal((d_in, hidden), dtype=np.float32) / np.float32(np.sqrt(d_in)),
        np.zeros(hidden, dtype=np.float32),
        rng.standard_normal((hidden, classes), dtype=np.float32) / np.float32(np.sqrt(hidden)),
        np.zeros(classes, dtype=np.float32),
    ]

    def make_step(lib):
        params = [lib.from_numpy(p.copy()).requires_grad_() for p in init]
        xt, yt = lib.from_numpy(x), lib.from_numpy(y)

        def step():
            w1, b1, w2, b2 = params
            h = lib.relu(xt @ w1 + b1)
            logp = lib.log_softmax(h @ w2 + b2, 1)
            loss = -lib.gather(logp, 1, yt).mean()
            loss.backward()
            with lib.no_grad():
                for p in params:
                    p.sub_(p.grad * lr)
                    p.grad = None
            return loss.detach()

        return step

    return {"torch": make_step(torch), "pyseq": make_step(pyseq)}


def layer_norm_fns(rng, rows=8192, d=1024, backward=False):
    """layer_norm over the last dim with weight and bias in each library (numpy: the formula), or
    its backward: the input gradient from one backward pass through a kept graph."""
    x = rng.standard_normal((rows, d), dtype=np.float32)
    w, b = rng.standard_normal(d, dtype=np.float32), rng.standard_normal(d, dtype=np.float32)
    g = rng.standard_normal((rows, d), dtype=np.float32)

    def numpy_layer_norm():
        mean = x.mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(x.var(-1, keepdims=True) + 1e-5) * w + b

    def make(lib, functional):
        xt, wt, bt = (lib.from_numpy(a) for a in (x, w, b))
        if not backward:
            return lambda: functional.layer_norm(xt, (d,), wt, bt, 1e-5)
        xt, wt, bt = (t.clone().requires_grad_() for t in (xt, wt, bt))
        y, gt = functional.layer_norm(xt, (d,), wt, bt, 1e-5), lib.from_numpy(g)

        def step():
            xt.grad = wt.grad = bt.grad = None
            y.backward(gt, retain_graph=True)
            return xt.grad

        return step

    fns = {"torch": make(torch, torch.nn.functional), "pyseq": make(pyseq, pyseq.nn.functional)}
    return fns if backward else {"numpy": numpy_layer_norm, **fns}


def gemm_cases(rng):
    """matmul on the square and skinny shapes of the GEMM targets (M x K @ K x N), with GFLOP/s."""
    shapes = [(256, 256, 256), (512, 512, 512), (2048, 2048, 2048), (1, 384, 1536), (32, 512, 2048), (16, 64, 64)]
    if args.quick:
        shapes = shapes[:2] + shapes[3:]
    cases = []
    for m, k, n in shapes:
        x = rng.standard_normal((m, k), dtype=np.float32)
        w = rng.standard_normal((k, n), dtype=np.float32)
        cases.append((f"matmul {m}x{k}x{n} f32", same_op(operator.matmul, x, w), 1e-4, 2 * m * k * n, None))
    # A few rows times a linear layer's weight W (out, in) as stored, x W^T + b: BERT's batch-1 shapes
    for m, k, n in [(8, 384, 1152), (16, 1536, 384)]:
        x = rng.standard_normal((m, k), dtype=np.float32)
        w = rng.standard_normal((n, k), dtype=np.float32)
        b = rng.standard_normal(n, dtype=np.float32)
        fns = {"numpy": lambda x=x, w=w, b=b: x @ w.T + b}
        for name, lib, functional in (("torch", torch, torch.nn.functional), ("pyseq", pyseq, pyseq.nn.functional)):
            xt, wt, bt = (lib.from_numpy(a) for a in (x, w, b))
            fns[name] = lambda f=functional, xt=xt, wt=wt, bt=bt: f.linear(xt, wt, bt)
        cases.append((f"linear {m}x{k} -> {n} f32 (x W^T + b)", fns, 1e-4, 2 * m * k * n, None))
    return cases


def build_cases(rng):
    """(name, {lib: fn}, rel. tolerance of the check or None, flop count or None, bytes moved or
    None) per case."""
    n = 10_000_000
    a = rng.standard_normal(n, dtype=np.float32)
    b = rng.standard_normal(n, dtype=np.float32)
    acc = np.zeros(n, dtype=np.float32)  # own buffer for the in-place case
    positive = np.abs(a) + np.float32(1e-3)
    s = rng.standard_normal((4096, 4096), dtype=np.float32)
    m1 = rng.standard_normal((1024, 1024), dtype=np.float32)
    m2 = rng.standard_normal((1024, 1024), dtype=np.float32)
    s_torch, s_pyseq = torch.from_numpy(s), pyseq.from_numpy(s)  # zero-copy views of `s`
    nbytes = 4 * n  # one 10M float32 array
    return [
        # a plain copy: the memory bandwidth the elementwise cases are measured against
        ("copy 10M f32", {"numpy": lambda: a.copy(), "torch": lambda: torch.from_numpy(a).clone(),
                          "pyseq": lambda: pyseq.from_numpy(a).clone()}, 0.0, None, 2 * nbytes),
        ("add 10M f32", same_op(operator.add, a, b), 1e-6, None, 3 * nbytes),
        # Same kernel work as `add` but no fresh 40 MB output: separates compute from allocation.
        ("add in place 10M f32 (x += y)", same_op(operator.iadd, acc, b), None, None, 3 * nbytes),
        ("mul 10M f32", same_op(operator.mul, a, b), 1e-6, None, 3 * nbytes),
        ("exp 10M f32", same_op(lambda x: x.exp() if hasattr(x, "exp") else np.exp(x), a), 1e-6, None, 2 * nbytes),
        ("log 10M f32", same_op(lambda x: x.log() if hasattr(x, "log") else np.log(x), positive), 1e-6, None,
         2 * nbytes),
        ("tanh 10M f32", same_op(lambda x: x.tanh() if hasattr(x, "tanh") else np.tanh(x), a), 1e-6, None, 2 * nbytes),
        ("sigmoid 10M f32", {"numpy": lambda: 1 / (1 + np.exp(-a)), "torch": lambda: torch.sigmoid(torch.from_numpy(a)),
                             "pyseq": lambda: pyseq.sigmoid(pyseq.from_numpy(a))}, 1e-6, None, 2 * nbytes),
        ("sum 10M f32", same_op(lambda x: x.sum(), a), 1e-4, None, nbytes),
        ("softmax 4096x4096 f32, last dim", {
            "numpy": lambda: numpy_softmax(s),
            "torch": lambda: torch.softmax(s_torch, -1),
            "pyseq": lambda: pyseq.softmax(s_pyseq, -1),
        }, 1e-5, None, 2 * s.nbytes),
        ("log_softmax 4096x4096 f32, last dim", {
            "numpy": lambda: numpy_log_softmax(s),
            "torch": lambda: torch.log_softmax(s_torch, -1),
            "pyseq": lambda: pyseq.log_softmax(s_pyseq, -1),
        }, 1e-5, None, 2 * s.nbytes),
        ("layer_norm 8192x1024 f32 (weight, bias)", layer_norm_fns(rng), 1e-4, None, 2 * 8192 * 1024 * 4),
        # reads x and dy, writes dx (the weight and bias gradients are small)
        ("layer_norm backward 8192x1024 f32", layer_norm_fns(rng, backward=True), 1e-4, None, 3 * 8192 * 1024 * 4),
        ("gelu (erf) 10M f32", {
            "torch": lambda: torch.nn.functional.gelu(torch.from_numpy(a)),
            "pyseq": lambda: pyseq.nn.functional.gelu(pyseq.from_numpy(a)),
        }, 1e-6, None, 2 * nbytes),
        ("gelu (tanh form) 10M f32", {
            "torch": lambda: torch.nn.functional.gelu(torch.from_numpy(a), approximate="tanh"),
            "pyseq": lambda: pyseq.nn.functional.gelu(pyseq.from_numpy(a), approximate="tanh"),
        }, 1e-6, None, 2 * nbytes),
        ("matmul 1024x1024x1024 f32", same_op(operator.matmul, m1, m2), 1e-4, 2 * 1024**3, None),
        *gemm_cases(rng),
        ("MLP train step 256x784-512-10", mlp_step_fns(rng), 1e-4, None, None),
    ]


def as_numpy(out):
    """A numpy copy of a library's result (tensor, array or numpy scalar)."""
    if hasattr(out, "detach"):
        out = out.detach().numpy()
    return np.array(out, dtype=np.float64)


def check(fns, tol):
    """Runs each library once and compares it with the reference (numpy, else torch)."""
    if tol is None:
        return "n/a (in place)"
    outs = {lib: as_numpy(fn()) for lib, fn in fns.items()}
    ref = outs["numpy"] if "numpy" in outs else outs["torch"]
    worst = max(np.abs(o - ref).max() / max(np.abs(ref).max(), 1e-30) for o in outs.values())
    return f"{'ok' if worst <= tol else 'MISMATCH'} (rel err {worst:.0e})"


def progress(step):
    """A progress line on stderr, so long runs show life; stdout keeps only the report."""
    print(f"  [{time.perf_counter() - START:5.1f} s] done: {step}", file=sys.stderr, flush=True)


def busy_text(busy):
    """How busy other processes kept the CPUs, with a warning when it skews the timings."""
    if busy is None:
        return "CPU use by other processes: unknown"
    warn = " (WARNING: the machine is busy, timings are unreliable)" if busy > 0.1 else ""
    return f"CPU use by other processes: {busy:.0%}{warn}"


def fmt_ms(seconds):
    return "-" if seconds is None else f"{seconds * 1e3:.2f}"


def run_cases():
    rng = np.random.default_rng(0)
    rows = []
    for name, fns, tol, flops, moved in build_cases(rng):
        if not any(part in name for part in args.only.split(",")):
            continue
        status = check(fns, tol)
        timed = common.time_interleaved({lib: fns[lib] for lib in LIBS if lib in fns}, repeat, WARMUP, rounds)
        t = {lib: timed.get(lib) for lib in LIBS}
        notes = ""
        if flops:
            notes = "GFLOP/s: " + ", ".join(f"{lib} {flops / t[lib] / 1e9:.1f}" for lib in LIBS)
        if moved:
            notes = "GB/s: " + ", ".join(f"{lib} {moved / t[lib] / 1e9:.1f}" for lib in LIBS if t[lib])
        rows.append([
            name,
            *(fmt_ms(t[lib]) for lib in LIBS),
            common.ratio_text(t["pyseq"], t["numpy"]) if t["numpy"] else "-",
            common.ratio_text(t["pyseq"], t["torch"]),
            status,
            notes,
        ])
        progress(name)
    headers = ["case", "numpy ms", "torch ms", "pyseq ms", "pyseq/numpy", "pyseq/torch", "check", "notes"]
    return common.markdown_table(headers, rows)


# scikit-build-core's editable install can rebuild the C++ core on every `import pyseq`. This
# setup snippet switches that check off, to time the import a regular (wheel) install would have.
NO_REBUILD = ("import sys\n"
              "for f in sys.meta_path:\n"
              "    if hasattr(f, 'rebuild_flag'): f.rebuild_flag = False")


def run_imports_and_sizes():
    core = os.path.realpath(pyseq._core.__file__)
    rows = []
    for name in ("numpy", "torch", "pyseq"):
        files = common.package_files(name)
        note = ""
        if name == "pyseq":
            files.add(core)  # the editable install keeps the compiled module in the build dir
            note = f"incl. the _core extension, {os.path.getsize(core) / 1e6:.1f} MB, in the build dir"
        elif name == "torch":
            note = "imports numpy too"
        size = f"{common.files_size(files) / 1e6:.1f}"
        rows.append([f"{name} {sys.modules[name].__version__}",
                     f"{common.import_time(name, import_runs):.3f}", size, note])
        progress(f"import {name}")
    if any(hasattr(f, "rebuild_flag") for f in sys.meta_path):
        rows.append(["pyseq, editable rebuild check off",
                     f"{common.import_time('pyseq', import_runs, NO_REBUILD):.3f}", "",
                     "what a wheel install would pay"])
    headers = ["package", "import s", "size MB", "notes"]
    table = common.markdown_table(headers, rows)
    return table + f"\n\npyseq's compiled module: {core}"


def main():
    busy = common.cpu_busy_now()
    start = common.cpu_snapshot()
    print(f"# pyseq vs numpy vs torch ({'quick' if args.quick else 'full'} run)\n")
    print(f"- CPU: {common.cpu_name()}; {os.cpu_count()} logical cores visible; "
          f"python {platform.python_version()}")
    print(f"- threads: pyseq {pyseq.get_num_threads()}, torch {torch.get_num_threads()}, "
          f"numpy BLAS via OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}")
    print(f"- times: median of {-(-repeat // rounds) * rounds} calls per library in milliseconds, timed in "
          f"{rounds} round(s) that take the libraries in turn ({WARMUP} warm-up calls and a short pause before "
          "each library's turn); every library reads the same numpy buffers")
    print(f"- OpenMP/BLAS libraries loaded: {'; '.join(common.loaded_libraries('omp', 'blas', 'mkl'))}")
    print(f"- {busy_text(busy)} before the run")
    print("- ratio = pyseq time / other time: below 1 pyseq is faster, above 1 it is slower")
    print("- check: largest |result - reference| / max|reference| (reference: numpy, torch for the MLP)\n")
    print(run_cases())
    if args.only:  # a partial run: the cases asked for, no import report
        return
    print("\n## Import time and installed size\n")
    print(f"- import s: median over {import_runs} fresh `python -c 'import X'` processes, minus a "
          "bare interpreter's start-up; includes the package's own imports (pyseq and torch load numpy)")
    print("- size MB: files under the package directories (find_spec(...).submodule_search_locations), "
          "1 MB = 10^6 bytes\n")
    print(run_imports_and_sizes())
    print(f"\n{busy_text(common.other_cpu_use(start))} during the run")


if __name__ == "__main__":
    main()
