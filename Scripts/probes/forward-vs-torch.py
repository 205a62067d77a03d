"""The package's forward scheme against PyTorch's F.layer_norm in one process, on the same
input, the two interleaved (31 repetitions, the order alternating), Float and Double, one
thread: a ratio that the machine's drift cannot tilt. On this machine the same code runs
up to 1.5x faster or slower from one minute to the next (and within one process), so two
numbers taken a minute apart, as in a round of Scripts/compare-peers.sh, can tip a ratio
near a target either way.

The scheme is Scripts/probes/forward-scheme.c (the package's C kernels over its blocks of
rows, which since 23796e2 take every LayerNorm row's moments without a BLAS pass; one
ctypes call) built into a shared library by Scripts/probe.sh; the Swift layer (checks, the
choice of path) is not included, and the ctypes call costs about as much as PyTorch's
Python dispatch. PyTorch allocates its output, as in shared/bench;
the package writes into one caller-owned output.

    Scripts/probe.sh forward-vs-torch [ROWSxCOLS ...]   (default 64x768 4096x768 32768x128)
"""
import ctypes
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)
kernels = ctypes.CDLL(sys.argv[1])
P, L = ctypes.c_void_p, ctypes.c_long
schemes = {np.float32: kernels.probe_forward_f32, np.float64: kernels.probe_forward_f64}
for scheme in schemes.values():
    scheme.argtypes = [P, P, L, L, P, P, P, P]
    scheme.restype = L

for shape in sys.argv[2:] or ["64x768", "4096x768", "32768x128"]:
    rows, n = map(int, shape.split("x"))
    for dtype, scheme in schemes.items():
        if n * np.dtype(dtype).itemsize >= 1 << 17:
            print(f"{shape:>10} {np.dtype(dtype).name:8} rows of 128 KiB or more: the package's "
                  "chunked long-row path, not in this probe")
            continue
        rng = np.random.default_rng(0)
        x = (0.5 + 2.0 * (rng.random((rows, n)) - 0.5)).astype(dtype)
        w = (1.0 + 0.5 * (rng.random(n) - 0.5)).astype(dtype)
        b = (0.5 * (rng.random(n) - 0.5)).astype(dtype)
        y = np.zeros_like(x)
        mean = np.zeros(rows, dtype)
        rstd = np.zeros(rows, dtype)
        xt, wt, bt = (torch.from_numpy(v) for v in (x, w, b))
        arguments = [P(v.ctypes.data) for v in (x, y)] + [rows, n] + [
            P(v.ctypes.data) for v in (w, b, mean, rstd)]

        def package():
            if scheme(*arguments) != 0:
                raise SystemExit("the probe's rows are ordinary; the scheme found extreme ones")

        def pytorch():
            F.layer_norm(xt, (n,), wt, bt, 1e-5)

        package()
        reference = F.layer_norm(xt.double(), (n,), wt.double(), bt.double(), 1e-5).numpy()
        error = float(np.max(np.abs(y.astype(np.float64) - reference)))
        # Calls back to back, about 2 ms a timing, as the benchmark and shared/bench time.
        start = time.perf_counter()
        package()
        calls = max(1, int(2e-3 / max(time.perf_counter() - start, 1e-7)))
        times = {"package": [], "torch": []}
        for repetition in range(31):
            order = [("package", package), ("torch", pytorch)]
            for name, run in order if repetition % 2 else order[::-1]:
                start = time.perf_counter()
                for _ in range(calls):
                    run()
                times[name].append((time.perf_counter() - start) / calls)
        medians = {name: statistics.median(t) * 1e6 for name, t in times.items()}
        print(f"{shape:>10} {np.dtype(dtype).name:8} package scheme {medians['package']:9.1f} us  "
              f"torch {medians['torch']:9.1f} us  ratio {medians['torch'] / medians['package']:.2f}x  "
              f"(max |error| against float64 {error:.1e})")
