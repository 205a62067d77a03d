#!/usr/bin/env python3
"""Writes the golden fixtures the tests compare against: PyTorch in float64.

Every case is a set of .npy files under Tests/LayerNormalizationTests/Fixtures/ named
CASE.NAME.npy (float64, C order) and one entry in manifest.json giving the op, the
normalized shape, eps and which parameters exist. Inputs are drawn in float32 and widened,
so the Float tests feed the package exactly the values the reference saw.

    python3 -m venv /tmp/peers && /tmp/peers/bin/pip install numpy torch
    /tmp/peers/bin/python Scripts/make_golden.py

The fixtures are committed; the tests need no Python.
"""
import json
import pathlib

import numpy as np
import torch
import torch.nn.functional as F

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "LayerNormalizationTests" / "Fixtures"
torch.set_default_dtype(torch.float64)
rng = np.random.default_rng(20261127)
manifest = []


def f32(a):
    """float32 values, widened to float64."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def rand(shape, scale=1.0, offset=0.0):
    return f32(rng.standard_normal(shape) * scale + offset)


def save(case, **arrays):
    for name, value in arrays.items():
        if value is None:
            continue
        if isinstance(value, torch.Tensor):
            value = value.detach().numpy()
        np.save(OUT / f"{case}.{name}.npy", np.ascontiguousarray(value, dtype=np.float64))


def t(a):
    return None if a is None else torch.tensor(a, dtype=torch.float64)


def layer_norm_case(case, x, normalized, weight=True, bias=True, eps=1e-5):
    k = int(np.prod(normalized))
    w = rand(normalized, 0.5, 1.0) if weight else None
    b = rand(normalized, 0.5) if bias else None
    y, mean, rstd = torch.ops.aten.native_layer_norm(t(x), list(normalized), t(w), t(b), eps)
    lead = x.shape[: x.ndim - len(normalized)]
    save(case, x=x, weight=w, bias=b, y=y, mean=mean.reshape(lead), rstd=rstd.reshape(lead))
    manifest.append(dict(case=case, op="layer_norm", shape=list(x.shape),
                         normalized_shape=list(normalized), eps=eps, weight=weight, bias=bias))
    assert k > 0


def rms_norm_case(case, x, normalized, weight=True, eps=1e-5):
    w = rand(normalized, 0.5, 1.0) if weight else None
    y = F.rms_norm(t(x), list(normalized), t(w), eps)
    xt = t(x)
    dims = tuple(range(x.ndim - len(normalized), x.ndim))
    rstd = torch.rsqrt(xt.pow(2).mean(dim=dims) + eps)
    save(case, x=x, weight=w, y=y, rstd=rstd)
    manifest.append(dict(case=case, op="rms_norm", shape=list(x.shape),
                         normalized_shape=list(normalized), eps=eps, weight=weight, bias=False))


def add_norm_case(case, x, r, normalized, kind="layer_norm", eps=1e-5):
    w = rand(normalized, 0.5, 1.0)
    b = rand(normalized, 0.5) if kind == "layer_norm" else None
    s = t(x) + t(r)
    if kind == "layer_norm":
        y = F.layer_norm(s, list(normalized), t(w), t(b), eps)
    else:
        y = F.rms_norm(s, list(normalized), t(w), eps)
    save(case, x=x, residual=r, weight=w, bias=b, y=y, sum=s)
    manifest.append(dict(case=case, op=f"add_{kind}", shape=list(x.shape),
                         normalized_shape=list(normalized), eps=eps, weight=True,
                         bias=kind == "layer_norm"))


def residual_block_case(case, x, placement, kind="layer_norm", eps=1e-5):
    """Pre-norm x + linear(norm(x)) or post-norm norm(x + linear(x)), linear(h) = h W^T + c."""
    d = x.shape[-1]
    w = rand((d,), 0.5, 1.0)
    b = rand((d,), 0.5) if kind == "layer_norm" else None
    lin_w = rand((d, d), 1.0 / np.sqrt(d))
    lin_b = rand((d,), 0.1)

    def norm(h):
        if kind == "layer_norm":
            return F.layer_norm(h, [d], t(w), t(b), eps)
        return F.rms_norm(h, [d], t(w), eps)

    def sublayer(h):
        return h @ t(lin_w).T + t(lin_b)

    xt = t(x)
    y = xt + sublayer(norm(xt)) if placement == "pre" else norm(xt + sublayer(xt))
    save(case, x=x, weight=w, bias=b, linear_weight=lin_w, linear_bias=lin_b, y=y)
    manifest.append(dict(case=case, op=f"{placement}_norm_{kind}", shape=list(x.shape),
                         normalized_shape=[d], eps=eps, weight=True, bias=kind == "layer_norm"))


def grad_case(case, op, x, normalized, weight=True, bias=True, eps=1e-5, residual=None):
    """Autograd gradients: dx, dweight, dbias for a random output gradient dy."""
    w = rand(normalized, 0.5, 1.0) if weight else None
    b = rand(normalized, 0.5) if (bias and op == "layer_norm") else None
    xt = t(x).requires_grad_(True)
    wt = t(w).requires_grad_(True) if w is not None else None
    bt = t(b).requires_grad_(True) if b is not None else None
    rt = t(residual).requires_grad_(True) if residual is not None else None
    h = xt + rt if rt is not None else xt
    if op == "layer_norm":
        y = F.layer_norm(h, list(normalized), wt, bt, eps)
    else:
        y = F.rms_norm(h, list(normalized), wt, eps)
    dy = rand(x.shape)
    outputs = [y]
    grads_out = [t(dy)]
    dsum = None
    if rt is not None:
        dsum = rand(x.shape, 0.5)
        outputs.append(h)
        grads_out.append(t(dsum))
    torch.autograd.backward(outputs, grads_out)
    arrays = dict(x=x, weight=w, bias=b, dy=dy, dx=xt.grad,
                  dweight=None if wt is None else wt.grad, dbias=None if bt is None else bt.grad)
    if rt is not None:
        arrays.update(residual=residual, dsum=dsum, dresidual=rt.grad, sum=h)
    save(case, **arrays)
    manifest.append(dict(case=case, op=f"{'add_' if residual is not None else ''}{op}_backward",
                         shape=list(x.shape), normalized_shape=list(normalized), eps=eps,
                         weight=weight, bias=b is not None))


def block_grad_case(case, x, placement, kind="layer_norm", eps=1e-5):
    """Gradients of a pre-norm or post-norm block with a linear sublayer."""
    d = x.shape[-1]
    w = rand((d,), 0.5, 1.0)
    b = rand((d,), 0.5) if kind == "layer_norm" else None
    lin_w = rand((d, d), 1.0 / np.sqrt(d))
    lin_b = rand((d,), 0.1)
    xt = t(x).requires_grad_(True)
    wt = t(w).requires_grad_(True)
    bt = t(b).requires_grad_(True) if b is not None else None

    def norm(h):
        if kind == "layer_norm":
            return F.layer_norm(h, [d], wt, bt, eps)
        return F.rms_norm(h, [d], wt, eps)

    def sublayer(h):
        return h @ t(lin_w).T + t(lin_b)

    s = None
    if placement == "pre":
        y = xt + sublayer(norm(xt))
    else:
        s = xt + sublayer(xt)
        y = norm(s)
    dy = rand(x.shape)
    y.backward(t(dy))
    save(case, x=x, weight=w, bias=b, linear_weight=lin_w, linear_bias=lin_b, dy=dy,
         dx=xt.grad, dweight=wt.grad, dbias=None if bt is None else bt.grad, sum=s)
    manifest.append(dict(case=case, op=f"{placement}_norm_{kind}_backward", shape=list(x.shape),
                         normalized_shape=[d], eps=eps, weight=True, bias=kind == "layer_norm"))


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.npy"):
        old.unlink()

    # LayerNorm forward.
    layer_norm_case("ln_2d", rand((7, 33), 2.0, 0.5), [33])
    layer_norm_case("ln_3d", rand((2, 5, 64)), [64])
    layer_norm_case("ln_rank4_two_dims", rand((2, 3, 4, 5)), [4, 5])
    layer_norm_case("ln_rank5_three_dims", rand((2, 2, 3, 4, 5), 3.0), [3, 4, 5])
    layer_norm_case("ln_no_affine", rand((6, 20)), [20], weight=False, bias=False)
    layer_norm_case("ln_weight_only", rand((6, 20)), [20], bias=False)
    layer_norm_case("ln_d1", rand((5, 1)), [1])
    layer_norm_case("ln_n1", rand((1, 768)), [768])
    layer_norm_case("ln_empty_batch", np.zeros((0, 16)), [16])
    layer_norm_case("ln_long_row", rand((2, 5000), 1.0, 3.0), [5000])
    layer_norm_case("ln_eps_large", rand((3, 10), 0.01), [10], eps=0.1)
    const = np.stack([np.full(12, v) for v in (0.0, 1.0, -3.5, 1e4, 0.1)])
    layer_norm_case("ln_constant_rows", f32(const), [12])
    offsets = np.stack([
        rng.standard_normal(64) * 0.01 + 100.0,
        rng.standard_normal(64) * 1.0 + 2000.0,
        np.tile([40000.0, 40001.0, 40002.0, 40003.0], 16),
        rng.standard_normal(64) * 1.0 - 5000.0,
    ])
    layer_norm_case("ln_offset_rows", f32(offsets), [64])
    layer_norm_case("ln_offset_4", f32([[40000.0, 40001.0, 40002.0, 40003.0]]), [4])
    nonfinite = rand((5, 9))
    nonfinite[1, 3] = np.nan
    nonfinite[3, 0] = np.inf
    nonfinite[4, 8] = -np.inf
    layer_norm_case("ln_nonfinite_rows", nonfinite, [9])

    # RMSNorm forward.
    rms_norm_case("rms_2d", rand((4, 32)), [32])
    rms_norm_case("rms_3d_no_weight", rand((2, 3, 16)), [16], weight=False)
    rms_norm_case("rms_two_dims", rand((3, 4, 6)), [4, 6])
    rms_norm_case("rms_d1", rand((4, 1)), [1])
    rms_norm_case("rms_long_row", rand((2, 5000), 1.0, 3.0), [5000])

    # Fused add-and-normalize.
    add_norm_case("add_ln_3d", rand((2, 3, 48)), rand((2, 3, 48)), [48])
    add_norm_case("add_rms_2d", rand((5, 40)), rand((5, 40)), [40], kind="rms_norm")

    # Residual blocks with a fixed linear sublayer.
    residual_block_case("pre_norm_ln", rand((2, 4, 24)), "pre")
    residual_block_case("post_norm_ln", rand((2, 4, 24)), "post")
    residual_block_case("pre_norm_rms", rand((3, 16)), "pre", kind="rms_norm")
    residual_block_case("post_norm_rms", rand((3, 16)), "post", kind="rms_norm")

    # Backward (autograd, float64).
    grad_case("ln_bwd_2d", "layer_norm", rand((7, 33), 2.0, 0.5), [33])
    grad_case("ln_bwd_3d", "layer_norm", rand((2, 5, 64)), [64])
    grad_case("ln_bwd_rank4_two_dims", "layer_norm", rand((2, 3, 4, 5)), [4, 5])
    grad_case("ln_bwd_no_affine", "layer_norm", rand((6, 20)), [20], weight=False, bias=False)
    grad_case("ln_bwd_weight_only", "layer_norm", rand((6, 20)), [20], bias=False)
    grad_case("ln_bwd_d1", "layer_norm", rand((5, 1)), [1])
    grad_case("ln_bwd_constant_rows", "layer_norm", f32(const), [12])
    grad_case("ln_bwd_offset_rows", "layer_norm", f32(offsets), [64])
    grad_case("ln_bwd_long_row", "layer_norm", rand((2, 5000), 1.0, 3.0), [5000])
    grad_case("ln_bwd_short_rows", "layer_norm", rand((37, 8)), [8])
    grad_case("rms_bwd_2d", "rms_norm", rand((4, 32)), [32])
    grad_case("rms_bwd_no_weight", "rms_norm", rand((2, 3, 16)), [16], weight=False)
    grad_case("rms_bwd_two_dims", "rms_norm", rand((3, 4, 6)), [4, 6])
    grad_case("add_ln_bwd", "layer_norm", rand((2, 3, 48)), [48], residual=rand((2, 3, 48)))
    grad_case("add_rms_bwd", "rms_norm", rand((5, 40)), [40], residual=rand((5, 40)))
    block_grad_case("pre_norm_ln_bwd", rand((2, 4, 24)), "pre")
    block_grad_case("post_norm_ln_bwd", rand((2, 4, 24)), "post")
    block_grad_case("pre_norm_rms_bwd", rand((3, 16)), "pre", kind="rms_norm")
    block_grad_case("post_norm_rms_bwd", rand((3, 16)), "post", kind="rms_norm")

    (OUT / "manifest.json").write_text(json.dumps(
        dict(generator=f"torch {torch.__version__}, float64", cases=manifest), indent=1) + "\n")
    print(f"wrote {len(manifest)} cases to {OUT}")


if __name__ == "__main__":
    main()
