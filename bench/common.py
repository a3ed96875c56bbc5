"""Shared helpers for pyseq benchmark scripts.

Only the standard library is imported here, so a script can `import common` and call
`pin_blas_threads` *before* it imports numpy or torch (BLAS reads its thread count at load time).
"""

import contextlib
import importlib.util
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

# Environment variables the BLAS / OpenMP runtimes behind numpy and torch read when they load.
# pyseq also reads OMP_NUM_THREADS for its default, but scripts set it explicitly anyway.
_THREAD_ENV_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def leave_bench_folder_off_path():
    """Takes bench/ off sys.path, so that bench/tokenizers.py does not shadow the `tokenizers` package
    (which transformers imports). Call it right after `import common`."""
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]


def pin_blas_threads(n):
    """Limits numpy's BLAS (and OpenMP) to `n` threads. Must run before numpy is imported."""
    if "numpy" in sys.modules:
        raise RuntimeError("pin_blas_threads() must be called before numpy is imported")
    for var in _THREAD_ENV_VARS:
        os.environ[var] = str(n)


def time_median(fn, repeat, warmup=1, settle=0.25):
    """Median wall-clock seconds of `fn()` over `repeat` calls, after `warmup` untimed calls.

    First sleeps `settle` seconds: after a call, OpenBLAS and OpenMP worker threads spin-wait for
    a while, and those of the library timed just before would steal cores from this one.
    """
    time.sleep(settle)
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_interleaved(fns, repeat, warmup=1, rounds=3, settle=0.25, around=None):
    """Median wall-clock seconds of each of `fns` ({name: fn}), timed in turns: `rounds` rounds,
    each timing every function for about repeat / rounds calls (after `settle` seconds and
    `warmup` untimed calls). On a shared machine a slow spell then lands on all of them alike,
    not on whichever happened to run during it. `around` ({name: context manager factory})
    wraps a function's turns, e.g. to change a setting while it runs."""
    per_round = max(1, -(-repeat // rounds))
    times = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            time.sleep(settle)
            with (around or {}).get(name, contextlib.nullcontext)():
                for _ in range(warmup):
                    fn()
                for _ in range(per_round):
                    start = time.perf_counter()
                    fn()
                    times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def _python_c_seconds(code):
    """Wall-clock seconds of one fresh `python -c code`, run from a neutral directory."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tempfile.gettempdir())
    return time.perf_counter() - start


def import_time(module, runs, setup=""):
    """Median seconds `import module` takes in a fresh interpreter.

    Each sample is a new `python -c "<setup>; import module"` process minus a bare interpreter
    (`python -c "<setup>"`) started right before it, so what remains is the import itself
    (including everything the module imports, e.g. numpy). One untimed import first warms the
    disk cache (and lets an editable install finish any pending rebuild).
    """
    setup = setup or "pass"
    code = f"{setup}\nimport {module}"
    _python_c_seconds(code)
    samples = []
    for _ in range(runs):
        bare = _python_c_seconds(setup)
        samples.append(_python_c_seconds(code) - bare)
    return statistics.median(samples)


def package_files(name):
    """Real paths of all regular files under the directories of the installed package `name`."""
    spec = importlib.util.find_spec(name)
    files = set()
    for location in spec.submodule_search_locations or []:
        for root, _dirs, names in os.walk(location):
            for fname in names:
                path = os.path.join(root, fname)
                if os.path.isfile(path) and not os.path.islink(path):
                    files.add(os.path.realpath(path))
    return files


def files_size(paths):
    """Total size in bytes of the given files."""
    return sum(os.path.getsize(p) for p in paths)


def cpu_snapshot():
    """(busy jiffies of all CPUs, total jiffies, this process's CPU seconds incl. waited-for
    children), or None where /proc/stat is missing (not Linux)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + fields[4]  # idle + iowait
    t = os.times()
    return sum(fields) - idle, sum(fields), t.user + t.system + t.children_user + t.children_system


def other_cpu_use(since):
    """Fraction of all cores that *other* processes kept busy since the snapshot `since`.

    Other processes competing for the cores skew every timing. None if unknown.
    """
    now = cpu_snapshot()
    if since is None or now is None:
        return None
    others = (now[0] - since[0]) - (now[2] - since[2]) * os.sysconf("SC_CLK_TCK")
    return max(0.0, others / max(now[1] - since[1], 1))


def cpu_busy_now(seconds=0.5):
    """Fraction of all cores other processes use over the next `seconds` (this one sleeps)."""
    start = cpu_snapshot()
    time.sleep(seconds)
    return other_cpu_use(start)


def loaded_libraries(*words):
    """"name (directory)" of each shared library mapped into this process whose name contains a word
    (e.g. "gomp", "blas": which OpenMP / BLAS runtime is really in use). Linux only."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "/" in line}
    except OSError:
        return []
    return sorted(os.path.basename(p) + f" ({os.path.dirname(p)})" for p in paths
                  if any(w in os.path.basename(p).lower() for w in words))


def cpu_name():
    """The CPU model name from /proc/cpuinfo, or platform.processor() elsewhere."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def ratio_text(mine, other):
    """`mine / other` with a word saying which side is faster (times: lower is better)."""
    r = mine / other
    return f"{r:.2f} ({'slower' if r > 1 else 'faster'})"


def markdown_table(headers, rows):
    """A markdown table as a string; cells are converted with str()."""
    rows = [[str(c) for c in row] for row in rows]
    widths = [max([len(str(h))] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]  # (rows may be empty)

    def line(cells):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"

    out = [line([str(h) for h in headers]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in rows]
    return "\n".join(out)
