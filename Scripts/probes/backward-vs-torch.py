"""The package's backward kernel against PyTorch's native_layer_norm_backward in one process,
on the same buffers, the two interleaved (31 repetitions, the order alternating): a ratio
that the machine's drift from second to second cannot tilt, unlike two separate runs.

The kernel is Sources/_LayerNormKernels built as a shared library (by Scripts/probe.sh)
with Scripts/probes/backward-scheme.c, which runs it over the package's blocks of rows,
each block with its own weight and bias partial sums, in one ctypes call (a call per block
cost about 3 µs each, 0.4 ms at 32768x128). The Swift layer above it (validation, the
per-block statistics, adding the partials) is not included. PyTorch computes dx, dweight
and dbias, as in shared/bench. Float, then Double.

    Scripts/probe.sh backward-vs-torch [ROWSxCOLS ...]   (default 32768x128 8192x1024 512x16384)
"""
import ctypes
import statistics
import sys
import time

import numpy as np
import torch

torch.set_num_threads(1)
kernels = ctypes.CDLL(sys.argv[1])
P, L = ctypes.c_void_p, ctypes.c_long
for scheme in (kernels.probe_backward_f32, kernels.probe_backward_f64):
    scheme.argtypes = [P, P, P, L, L, P, P, P, P, P, P]
kernels.probe_backward_block_rows.argtypes = [L, L]
kernels.probe_backward_block_rows.restype = L

shapes = sys.argv[2:] or ["32768x128", "8192x1024", "512x16384"]
kinds = ((np.float32, kernels.probe_backward_f32), (np.float64, kernels.probe_backward_f64))
for (dtype, backward), shape in ((kind, shape) for kind in kinds for shape in shapes):
    rows, n = map(int, shape.split("x"))
    rng = np.random.default_rng(0)
    x = (3.0 + 4.0 * (rng.random((rows, n)) - 0.5)).astype(dtype)
    dy = (rng.random((rows, n)) - 0.5).astype(dtype)
    w = (1.0 + 0.001 * (np.arange(n) % 13)).astype(dtype)
    b = (0.01 * (np.arange(n) % 7)).astype(dtype)
    xt, dyt, wt, bt = (torch.from_numpy(v) for v in (x, dy, w, b))
    _, mean, rstd = torch.ops.aten.native_layer_norm(xt, [n], wt, bt, 1e-5)
    shift = mean.numpy().reshape(rows).copy()
    scale = rstd.numpy().reshape(rows).copy()
    center = np.zeros(rows, dtype)
    dx = np.empty_like(x)
    block = kernels.probe_backward_block_rows(rows, n)
    blocks = (rows + block - 1) // block
    dw = np.zeros((blocks, n), dtype)
    db = np.zeros((blocks, n), dtype)
    arguments = [P(v.ctypes.data) for v in (dy, x, dx)] + [rows, n] + [
        P(v.ctypes.data) for v in (shift, center, scale, w, dw, db)]

    def package():
        backward(*arguments)

    def pytorch():
        torch.ops.aten.native_layer_norm_backward(dyt, xt, [n], mean, rstd, wt, bt, [True, True, True])

    times = {"package kernel": [], "torch": []}
    for repetition in range(31):
        order = [("package kernel", package), ("torch", pytorch)]
        for name, run in order if repetition % 2 else order[::-1]:
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    ours, theirs = (statistics.median(times[name]) * 1e6 for name in ("package kernel", "torch"))
    print(f"{np.dtype(dtype).name:>7} {shape:>10}  package kernel {ours:8.0f} us  "
          f"torch {theirs:8.0f} us  ratio {theirs / ours:.2f}x")
