"""The package's backward kernel against PyTorch's native_layer_norm_backward in one process,
on the same buffers, the two interleaved (31 repetitions, the order alternating): a ratio
that the machine's drift from second to second cannot tilt, unlike two separate runs.

The kernel is Sources/_LayerNormKernels built as a shared library (by Scripts/probe.sh) and
called through ctypes over the package's blocks of rows, with the weight and bias partial
sums per block as the package keeps them; the Swift layer above it (validation, the
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
for kernel in (kernels.lnk_backward_rows_f32, kernels.lnk_backward_rows_f64):
    kernel.argtypes = [P, P, P, L, L, P, P, P, ctypes.c_int, P, P, P, ctypes.c_int]
fence = kernels.lnk_store_fence

shapes = sys.argv[2:] or ["32768x128", "8192x1024", "512x16384"]
kinds = ((np.float32, kernels.lnk_backward_rows_f32), (np.float64, kernels.lnk_backward_rows_f64))
for (dtype, backward), shape in ((kind, shape) for kind in kinds for shape in shapes):
    size = np.dtype(dtype).itemsize
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
    block = max(1, min(256, (1 << 20) // n))  # backwardBlockRows in BackwardKernel.swift
    if rows * n >= 2 * (1 << 15):
        block = min(block, (rows + 3) // 4)
    blocks = (rows + block - 1) // block
    dw = np.zeros((blocks, n), dtype)
    db = np.zeros((blocks, n), dtype)
    # As runBackward decides (shouldStream in VectorKernels.swift): streamed stores for large
    # outputs; the kernel itself loads ahead when dx sits just after x or dy.
    streaming = int(rows * n * size >= (8 << 20))
    calls = []
    for k in range(blocks):
        first, count = k * block, min(block, rows - k * block)
        calls.append((P(dy.ctypes.data + size * first * n), P(x.ctypes.data + size * first * n),
                      P(dx.ctypes.data + size * first * n), count, n,
                      P(shift.ctypes.data + size * first), P(center.ctypes.data + size * first),
                      P(scale.ctypes.data + size * first), 1, P(w.ctypes.data),
                      P(dw.ctypes.data + size * k * n), P(db.ctypes.data + size * k * n),
                      streaming))

    def package():
        dw[:] = 0
        db[:] = 0
        for arguments in calls:
            backward(*arguments)
        fence()

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
