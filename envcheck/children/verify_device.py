"""verify's correctness suite on one device, then its performance measurements with ``--perf``
(a child: ``run_child(python, "verify_device", ["--events", FILE, "--device", "cuda:0"])``).

Events (:mod:`envcheck.children.events`, written to the events file the parent reads as they
come): ``start``; ``imported`` and ``torch`` (the build, and where it came from), or
``import-failed``; ``resolved``/``unavailable``/``absent`` (which device); ``device``; then
``begin``/``end`` around every check (``end`` carries ``status``: passed, failed (a wrong
answer), error (an exception: the parent classifies it), skipped or not-run); and ``done``.
Lines are flushed as written, so a check that hangs or crashes is known by its ``begin``.
Standard library and torch only.
"""

from __future__ import annotations

import math
import sys

from envcheck.children.checks import (
    Ctx,
    Wrong,
    child_main,
    cudnn_info,
    device_info,
    full_error,
    math_mode,
    matmul_skip,
    mem_available,
    normwise,
    random_bits,
    run_check,
    same_bytes,
)
from envcheck.children.timing import PERF_CHECKS, perf_copy, perf_matmul

__all__ = ["CHECKS", "PERF_CHECKS", "main", "run_device"]

CHECKS = (
    "tensor",
    "copy",
    "matmul-fp32",
    "matmul-tf32",
    "matmul-fp16",
    "matmul-bf16",
    "autograd",
    "conv",
    "memory",
)


MEMORY_FRACTION = 0.5  # of the free GPU memory, for the memory test


CPU_MEMORY_BYTES = 64 << 20  # the CPU memory test's size (at most a tenth of MemAvailable)


MATMUL_SHAPE = (256, 512, 384)  # m, k, n: not square, so a transposed result cannot pass


# ------------------------------------------------------------------------------------- checks



def check_tensor(c):
    torch = c.torch
    extra = ""
    if c.cuda:
        torch.cuda.set_device(c.index)
        free, total = torch.cuda.mem_get_info(c.index)  # creates the CUDA context
        extra = "; context created, %.1f of %.1f GiB free" % (free / 2.0 ** 30, total / 2.0 ** 30)
    n = 1 << 20
    a = torch.arange(n, dtype=torch.int64, device=c.dev)
    got = int(a.sum().item())
    if got != n * (n - 1) // 2:
        raise Wrong("arange(%d).sum() gave %d, expected %d" % (n, got, n * (n - 1) // 2))
    z = torch.zeros(4096, device=c.dev)
    o = torch.ones(4096, device=c.dev)
    f = torch.full((4096,), 2.5, device=c.dev)
    r = z + o * f - 0.5
    if not bool((r == 2.0).all().item()):
        raise Wrong("0 + 1 * 2.5 - 0.5 did not give 2.0 everywhere")
    x = torch.linspace(0.0, 1.0, 1025, dtype=torch.float64, device=c.dev)
    s = torch.sin(x).cpu()
    worst = max(abs(float(s[i]) - math.sin(i / 1024.0)) for i in range(0, 1025, 64))
    if worst > 1e-12:
        raise Wrong("sin() differs from Python's by %.3g" % worst)
    c.sync()
    return {
        "detail": "zeros/ones/full/arange/linspace and elementwise arithmetic are exact" + extra,
    }


def check_copy(c):
    torch = c.torch
    n = 4 << 20  # 16 MiB of random bits
    bits = random_bits(torch, n, 1)
    cases = [
        ("float32", bits.view(torch.float32)),
        ("float16", bits.view(torch.float16)),
        ("bfloat16", bits.view(torch.bfloat16)),
        ("int64", bits.view(torch.int64)),
        ("uint8", bits.view(torch.uint8)),
    ]
    for name, host in cases:
        dev = host.to(c.dev, copy=True)
        again = dev.clone()  # device to device
        back = dev.to("cpu", copy=True)
        back2 = again.to("cpu", copy=True)
        c.sync()
        for what, got in (("host->device->host", back), ("device->device", back2)):
            if not same_bytes(torch, got, host):
                bad = int((got.contiguous().view(torch.uint8) != host.view(torch.uint8)).sum())
                raise Wrong(
                    "%s %s copy changed %d of %d bytes" % (name, what, bad, host.numel() * host.element_size()),
                    {"dtype": name, "bad_bytes": bad},
                )
    pinned = "pinned memory: not applicable on the CPU"
    if c.cuda:
        p = torch.empty(n, dtype=torch.int32, pin_memory=True)
        if not p.is_pinned():
            raise Wrong("torch.empty(pin_memory=True) returned memory that is not pinned")
        p.copy_(bits)
        d = torch.empty(n, dtype=torch.int32, device=c.dev)
        d.copy_(p, non_blocking=True)
        q = torch.empty(n, dtype=torch.int32, pin_memory=True)
        q.copy_(d, non_blocking=True)
        c.sync()
        if not torch.equal(q, bits):
            raise Wrong("pinned host->device->host copy (non_blocking) changed the data")
        pinned = "pinned memory with non_blocking copies round-trips"
    return {
        "detail": "float32/float16/bfloat16/int64/uint8 (16 MiB of random bits, NaN patterns "
        "included) round-trip bit-exact; " + pinned,
    }


def matmul_tolerance(name, k):
    """Bound on |C - C_ref| / (|A| |B|) (elementwise): 4x the worst-case rounding of an fp32
    dot product of length k ((k+1) u, u = 2^-24; 4x for tensor cores, which truncate), plus the
    output's rounding in its format, plus TF32's input rounding (2 x 2^-10) for tf32."""
    acc = 4.0 * (k + 1) * 2.0 ** -24
    out = {"fp32": 2.0 ** -24, "tf32": 2.0 ** -24, "fp16": 2.0 ** -11, "bf16": 2.0 ** -8}[name]
    inputs = 2.0 * 2.0 ** -10 if name == "tf32" else 0.0
    return acc + out + inputs


def check_matmul(c, name):
    torch = c.torch
    matmul_skip(c, name)
    dtype = {"fp32": torch.float32, "tf32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[name]
    m, k, n = MATMUL_SHAPE
    g = torch.Generator().manual_seed(2)
    a = torch.randn(m, k, dtype=torch.float64, generator=g).to(dtype)
    b = torch.randn(k, n, dtype=torch.float64, generator=g).to(dtype)
    ref = a.double() @ b.double()
    scale = a.double().abs() @ b.double().abs()
    with math_mode(torch, tf32=(name == "tf32"), reduced=False):
        out = a.to(c.dev) @ b.to(c.dev)
        c.sync()
    out = out.to("cpu", torch.float64)
    if not bool(torch.isfinite(out).all()):
        raise Wrong("%s matmul produced %d non-finite values" % (name, int((~torch.isfinite(out)).sum())))
    error = float(((out - ref).abs() / scale).max())
    tol = matmul_tolerance(name, k)
    values = {"max_error": error, "tolerance": tol, "shape": [m, k, n]}
    if error > tol:
        bad = int((((out - ref).abs() / scale) > tol).sum())
        values["bad_elements"] = bad
        raise Wrong(
            "%s matmul (%dx%d @ %dx%d) differs from the float64 CPU reference by %.3g x |A||B| "
            "(tolerance %.3g) in %d of %d elements" % (name, m, k, k, n, error, tol, bad, m * n),
            values,
        )
    mode = {"fp32": "TF32 off", "tf32": "TF32 on", "fp16": "reduced-precision reduction off",
            "bf16": "reduced-precision reduction off"}[name]
    return {
        "detail": "%dx%d @ %dx%d (%s): max error %.2g x |A||B| against float64 on the CPU "
        "(tolerance %.2g)" % (m, k, k, n, mode, error, tol),
        "values": values,
    }


def check_autograd(c):
    torch = c.torch
    nn = torch.nn
    torch.manual_seed(0)
    ref = nn.Sequential(
        nn.Linear(32, 64), nn.Tanh(), nn.Linear(64, 64), nn.GELU(), nn.Linear(64, 8)
    ).double()
    import copy

    model = copy.deepcopy(ref).to(device=c.dev, dtype=torch.float32)
    g = torch.Generator().manual_seed(4)
    x = torch.randn(16, 32, dtype=torch.float64, generator=g)
    y = torch.randn(16, 8, dtype=torch.float64, generator=g)

    def step(net, xs, ys):
        # SGD with momentum 0.9, first step (the momentum buffer is the gradient), through the
        # multi-tensor kernels torch.optim's foreach SGD uses; torch.optim itself is not used
        # because constructing an optimizer imports torch._dynamo (~1.7 s).
        params = list(net.parameters())
        loss = nn.functional.mse_loss(net(xs), ys)
        loss.backward()
        grads = [p.grad.detach().clone() for p in params]
        with torch.no_grad():
            if hasattr(torch, "_foreach_add_"):
                torch._foreach_add_(params, grads, alpha=-0.05)
            else:  # pragma: no cover - very old torch
                for p, g_ in zip(params, grads):
                    p.add_(g_, alpha=-0.05)
            after = nn.functional.mse_loss(net(xs), ys)
        return (
            loss.item(),
            [t.to("cpu", torch.float64) for t in grads],
            [p.detach().to("cpu", torch.float64) for p in params],
            after.item(),
        )

    with math_mode(torch, tf32=False):
        got = step(model, x.to(c.dev, torch.float32), y.to(c.dev, torch.float32))
        c.sync()
    want = step(ref, x, y)
    tol = 1e-4
    errors = {
        "loss": abs(got[0] - want[0]) / abs(want[0]),
        "gradients": max(normwise(a, b) for a, b in zip(got[1], want[1])),
        "parameters after the step": max(normwise(a, b) for a, b in zip(got[2], want[2])),
        "loss after the step": abs(got[3] - want[3]) / abs(want[3]),
    }
    values = {"errors": errors, "tolerance": tol}
    worst = max(errors, key=lambda key: errors[key])
    if not all(math.isfinite(v) for v in errors.values()) or errors[worst] > tol:
        raise Wrong(
            "MLP %s differ from the float64 CPU reference by %.3g (tolerance %.0e, relative to "
            "the largest value)" % (worst, errors[worst], tol),
            values,
        )
    if not want[3] < want[0]:
        raise Wrong("the optimizer step did not lower the loss on the CPU reference", values)
    return {
        "detail": "3-layer MLP forward, backward and an SGD step: loss, gradients and updated weights "
        "within %.2g of float64 on the CPU (tolerance %.0e)" % (errors[worst], tol),
        "values": values,
    }


def check_conv(c):
    torch = c.torch
    F = torch.nn.functional
    g = torch.Generator().manual_seed(5)
    x = torch.randn(2, 3, 16, 16, dtype=torch.float64, generator=g)
    w = torch.randn(8, 3, 3, 3, dtype=torch.float64, generator=g)
    b = torch.randn(8, dtype=torch.float64, generator=g)
    gy = torch.randn(2, 8, 16, 16, dtype=torch.float64, generator=g)

    def run(dev, dtype):
        xs = x.to(dev, dtype).requires_grad_()
        ws = w.to(dev, dtype).requires_grad_()
        bs = b.to(dev, dtype).requires_grad_()
        y = F.conv2d(xs, ws, bs, padding=1)
        y.backward(gy.to(dev, dtype))
        return [t.detach().to("cpu", torch.float64) for t in (y, xs.grad, ws.grad, bs.grad)]

    values = {}
    library = "oneDNN/native CPU kernels"
    if c.cuda:
        info = cudnn_info(torch)
        values["cudnn"] = info
        if not info["available"]:
            raise Wrong("cuDNN is not available in this CUDA build of torch: convolutions fall back to slow kernels", values)
        if info.get("matches_build") is False:
            raise Wrong(
                "cuDNN %s is loaded but torch was built for %s (same major and a minor at least the "
                "build's are needed): another cuDNN shadows the one torch ships" % (info["runtime"], info["compiled"]),
                values,
            )
        library = "cuDNN %s" % info.get("runtime", info.get("version"))
        if info.get("compiled"):
            library += " (torch built for %s)" % info["compiled"]
    with math_mode(torch, tf32=False):
        got = run(c.dev, torch.float32)
        c.sync()
    want = run("cpu", torch.float64)
    tol = 1e-3
    names = ("output", "input gradient", "weight gradient", "bias gradient")
    errors = dict((n, normwise(a, b)) for n, a, b in zip(names, got, want))
    values.update({"errors": errors, "tolerance": tol})
    worst = max(errors, key=lambda key: errors[key])
    if not all(math.isfinite(v) for v in errors.values()) or errors[worst] > tol:
        raise Wrong(
            "conv2d %s differs from float64 on the CPU by %.3g (tolerance %.0e)" % (worst, errors[worst], tol),
            values,
        )
    return {
        "detail": "conv2d forward and backward with %s: within %.2g of float64 on the CPU "
        "(tolerance %.0e%s)" % (library, errors[worst], tol, "; cuDNN may pick Winograd/FFT algorithms" if c.cuda else ""),
        "values": values,
    }


def check_memory(c):
    torch = c.torch
    if c.cuda:
        free, total = torch.cuda.mem_get_info(c.index)
        target = int(free * MEMORY_FRACTION)
        chunk = 256 << 20
        where = "%.0f%% of the %.1f GiB free" % (MEMORY_FRACTION * 100, free / 2.0 ** 30)
    else:
        avail = mem_available() or (4 << 30)
        target = min(CPU_MEMORY_BYTES, avail // 10)
        chunk = 16 << 20
        where = "a %d MiB sample of host memory" % (target >> 20)
    elems = chunk // 4
    count = max(1, target // chunk)
    chunks = []
    short = ""
    for _ in range(count):
        try:
            chunks.append(torch.empty(elems, dtype=torch.int32, device=c.dev))
        except RuntimeError as exc:
            if "out of memory" in str(exc).lower() and len(chunks) >= 2:
                short = " (stopped at %d of %d chunks: out of memory)" % (len(chunks), count)
                break
            raise
    base = torch.arange(elems, dtype=torch.int32, device=c.dev)
    expected = torch.empty_like(base)
    bad = 0
    first_bad = None
    for flip in (False, True):
        for i, ch in enumerate(chunks):
            torch.bitwise_xor(base, (i * 40503 + 12345 + (7 if flip else 0)) & 0x7FFFFFFF, out=ch)
            if flip:
                ch.bitwise_not_()
        c.sync()
        for i, ch in enumerate(chunks):
            torch.bitwise_xor(base, (i * 40503 + 12345 + (7 if flip else 0)) & 0x7FFFFFFF, out=expected)
            if flip:
                expected.bitwise_not_()
            if not torch.equal(ch, expected):
                wrong = int((ch != expected).sum())
                bad += wrong
                if first_bad is None:
                    first_bad = "chunk %d (%s pass)" % (i, "inverted" if flip else "plain")
    tested = len(chunks) * chunk
    del chunks
    if c.cuda:
        torch.cuda.empty_cache()
    values = {"bytes": tested, "bad_words": bad}
    if bad:
        raise Wrong(
            "memory test: %d of %d words read back wrong, first in %s" % (bad, tested // 4 * 2, first_bad),
            values,
        )
    return {
        "detail": "wrote and verified %.2f GiB (%s%s) with an address pattern and its inverse"
        % (tested / 2.0 ** 30, where, short),
        "values": values,
    }


def run_device(ev, torch, info, args):
    spec = args.device
    if spec == "auto":
        if info.get("is_available") and info.get("device_count"):
            spec = "cuda:0"
        else:
            spec = "cpu"
        ev.emit("resolved", device=spec)
    index = None
    if spec != "cpu":
        index = int(spec.split(":", 1)[1])
        if not info.get("is_available"):
            ev.emit("unavailable", device=spec)
            return
        if index >= info.get("device_count", 0):
            ev.emit("absent", device=spec, count=info.get("device_count", 0))
            return
    ev.emit("device", **device_info(torch, spec, index))
    state = {}
    only = set(args.only.split(",")) if args.only else None
    try:
        c = Ctx(torch, spec, index, args.link_lock)
    except Exception as exc:  # the device cannot even be selected: report it on the first check
        first = True
        for name in CHECKS + (PERF_CHECKS if args.perf else ()):
            if only is not None and name not in only:
                continue
            if first:
                ev.emit("begin", check=name)
                ev.emit("end", check=name, status="error", error=full_error(exc), seconds=0.0)
                first = False
            else:
                ev.emit("end", check=name, status="not-run", detail="not run: %s could not be opened" % spec)
        return
    plan = [
        ("tensor", lambda: check_tensor(c)),
        ("copy", lambda: check_copy(c)),
        ("matmul-fp32", lambda: check_matmul(c, "fp32")),
        ("matmul-tf32", lambda: check_matmul(c, "tf32")),
        ("matmul-fp16", lambda: check_matmul(c, "fp16")),
        ("matmul-bf16", lambda: check_matmul(c, "bf16")),
        ("autograd", lambda: check_autograd(c)),
        ("conv", lambda: check_conv(c)),
        ("memory", lambda: check_memory(c)),
    ]
    if args.perf:
        plan += [
            ("perf:matmul-bf16", lambda: perf_matmul(c, "bf16")),
            ("perf:matmul-fp16", lambda: perf_matmul(c, "fp16")),
            ("perf:matmul-tf32", lambda: perf_matmul(c, "tf32")),
            ("perf:matmul-fp32", lambda: perf_matmul(c, "fp32")),
            ("perf:copy-d2d", lambda: perf_copy(c, "d2d")),
            ("perf:copy-h2d", lambda: perf_copy(c, "h2d")),
            ("perf:copy-d2h", lambda: perf_copy(c, "d2h")),
        ]
    for name, fn in plan:
        if only is None or name in only:
            run_check(ev, name, fn, state)


def main(argv=None):
    return child_main(run_device, argv)


if __name__ == "__main__":
    sys.exit(main())
