"""Shared helpers for pyseq benchmark scripts.

Only the standard library is imported here, so a script can `import common` and call
`pin_blas_threads` *before* it imports numpy or torch (BLAS reads its thread count at load time).
"""

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


def pin_blas_threads(n):
    """Limits numpy's BLAS (and OpenMP) to `n` threads. Must run before numpy is imported."""
    if "numpy" in sys.modules:
        raise RuntimeError("pin_blas_threads() must be called before numpy is imported")
    for var in _THREAD_ENV_VARS:
        os.environ[var] = str(n)


def time_median(fn, repeat, warmup=1):
    """Median wall-clock seconds of `fn()` over `repeat` calls, after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _python_c_seconds(code):
    """Wall-clock seconds of one fresh `python -c code`, run from a neutral directory."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tempfile.gettempdir())
    return time.perf_counter() - start


def import_time(module, runs, setup=""):
    """Median seconds `import module` takes in a fresh interpreter.

    Each sample is a new `python -c "<setup>; import module"` process; the median start-up and
    shutdown time of a bare interpreter (`python -c "<setup>"`) is subtracted, so what remains
    is the import itself (including everything the module imports, e.g. numpy).
    """
    setup = setup or "pass"
    baseline = statistics.median(_python_c_seconds(setup) for _ in range(runs))
    total = statistics.median(_python_c_seconds(f"{setup}\nimport {module}") for _ in range(runs))
    return total - baseline


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
    widths = [max(len(str(h)), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"

    out = [line([str(h) for h in headers]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in rows]
    return "\n".join(out)
