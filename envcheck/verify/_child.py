"""The verify child: real work on one device, reported as JSON lines to an events file.

Run as a program by :mod:`envcheck.verify.runner` (``python -c BOOT _child.py --device cuda:0
--events FILE``), never imported to run: importing it only defines constants and functions. It
uses the standard library and torch only, so it runs in any interpreter that has torch.

Each line of the events file is one JSON object with an ``event`` key: ``start``; ``torch`` (the
build) or ``import-failed``; ``resolved``/``unavailable``/``absent`` (which device); ``device``;
then ``begin``/``end`` around every check (``end`` carries ``status``: passed, failed (a wrong
answer), error (an exception: the parent classifies it), skipped or not-run); and ``done``.
Lines are flushed as written, so a check that hangs or crashes is known by its ``begin``.

Modes: ``checks`` (the suite on one device, then the performance measurements with ``--perf``),
``p2p`` (copies between each pair of GPUs that claims peer access) and ``allreduce`` (one rank of
a torch.distributed all-reduce; NCCL on GPUs, gloo on the CPU).

Faults for rehearsals and envcheck's own tests come from ``ENVCHECK_FAULT`` (``verify.CHECK=ACTION``;
see :mod:`envcheck.faults`, loaded by path only while that variable is set).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import traceback
import warnings
from contextlib import contextmanager

__all__ = ["CHECKS", "PERF_CHECKS", "STICKY", "main"]

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
PERF_CHECKS = (
    "perf:matmul-bf16",
    "perf:matmul-fp16",
    "perf:matmul-tf32",
    "perf:matmul-fp32",
    "perf:copy-d2d",
    "perf:copy-h2d",
    "perf:copy-d2h",
)
# After these errors the CUDA context is unusable (or every kernel fails the same way): the
# remaining checks are reported as not run instead of repeating the same failure.
STICKY = (
    "illegal memory access",
    "illegal address",
    "misaligned address",
    "illegal instruction",
    "unspecified launch failure",
    "uncorrectable ecc",
    "fallen off the bus",
    "device-side assert",
    "launch timed out",
    "no kernel image",
    "invalid device function",
    "not compatible with the current pytorch installation",
    "hardware stack error",
)

MEMORY_FRACTION = 0.5  # of the free GPU memory, for the memory test
CPU_MEMORY_BYTES = 64 << 20  # the CPU memory test's size (at most a tenth of MemAvailable)
MATMUL_SHAPE = (256, 512, 384)  # m, k, n: not square, so a transposed result cannot pass
T0 = time.monotonic()


class Wrong(Exception):
    """The check ran and the answer is wrong."""

    def __init__(self, detail, values=None):
        super().__init__(detail)
        self.detail = detail
        self.values = values or {}


class Skip(Exception):
    """The check does not apply to this device; the message says why."""


def err(exc):
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    return "%s: %s" % (type(exc).__name__, first[:600])


def full_error(exc):
    """All of the message (CUDA errors put the useful part on later lines)."""
    return ("%s: %s" % (type(exc).__name__, str(exc).strip()))[:3000]


def _finite(value):
    """JSON without NaN/Infinity: non-finite floats become strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return dict((str(k), _finite(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


class Events(object):
    def __init__(self, path):
        self._fh = open(path, "a", encoding="utf-8") if path else sys.stdout

    def emit(self, event, **fields):
        obj = {"event": event}
        obj.update(fields)
        obj["t"] = round(time.monotonic() - T0, 3)
        self._fh.write(json.dumps(_finite(obj), default=str, allow_nan=False) + "\n")
        self._fh.flush()


def fault(check):
    """Misbehave here if ``ENVCHECK_FAULT`` names ``verify.CHECK`` (see :mod:`envcheck.faults`)."""
    if not os.environ.get("ENVCHECK_FAULT"):
        return
    global _FAULTS
    if _FAULTS is None:
        import importlib.util

        here = os.path.dirname(os.path.abspath(__file__))
        spec = importlib.util.spec_from_file_location("_envcheck_faults", os.path.join(os.path.dirname(here), "faults.py"))
        _FAULTS = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(_FAULTS)
    _FAULTS.trigger("verify." + check, wrong=Wrong)


_FAULTS = None


def sticky(text):
    low = (text or "").lower()
    return any(marker in low for marker in STICKY)


# ------------------------------------------------------------------------------------ context


class Ctx(object):
    def __init__(self, torch, spec, index, link_lock=None):
        self.torch = torch
        self.spec = spec
        self.link_lock = link_lock
        self.buffers = {}
        self.cuda = index is not None
        self.index = index
        self.dev = torch.device("cuda", index) if self.cuda else torch.device("cpu")
        self.cc = None
        if self.cuda:
            torch.cuda.set_device(index)  # CUDA events and the default stream follow it
            self.cc = tuple(torch.cuda.get_device_capability(index))

    def sync(self):
        if self.cuda:
            self.torch.cuda.synchronize(self.dev)

    def cc_text(self):
        return "%d.%d" % self.cc if self.cc else "?"


@contextmanager
def host_link_lock(path):
    """One GPU at a time measures its host link: the sibling children (one per GPU, all at once)
    take an exclusive lock on the same file. No lock where there is no flock (Windows)."""
    if not path:
        yield
        return
    try:
        import fcntl
    except ImportError:
        yield
        return
    with open(path, "a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


@contextmanager
def math_mode(torch, tf32, reduced=False):
    """TF32 on/off for matmul and cuDNN; fp16/bf16 reduced-precision reductions (None: leave)."""
    mm = torch.backends.cuda.matmul
    cd = torch.backends.cudnn
    wanted = [(mm, "allow_tf32", tf32), (cd, "allow_tf32", tf32)]
    if reduced is not None:
        wanted += [
            (mm, "allow_fp16_reduced_precision_reduction", reduced),
            (mm, "allow_bf16_reduced_precision_reduction", reduced),
        ]
    saved = []
    for obj, name, value in wanted:
        try:
            saved.append((obj, name, getattr(obj, name)))
            setattr(obj, name, value)
        except Exception:  # an older torch without the switch
            pass
    try:
        yield
    finally:
        for obj, name, value in reversed(saved):
            try:
                setattr(obj, name, value)
            except Exception:
                pass


def normwise(out, ref):
    """max |out - ref| / max |ref| (0 when both are 0)."""
    scale = float(ref.abs().max())
    diff = float((out - ref).abs().max())
    return diff / scale if scale else diff


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


def _random_bits(torch, n, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(-(2 ** 31), 2 ** 31 - 1, (n,), dtype=torch.int32, generator=g)


def _same_bytes(torch, a, b):
    return torch.equal(a.contiguous().view(torch.uint8), b.contiguous().view(torch.uint8))


def check_copy(c):
    torch = c.torch
    n = 4 << 20  # 16 MiB of random bits
    bits = _random_bits(torch, n, 1)
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
            if not _same_bytes(torch, got, host):
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


def _matmul_skip(c, name):
    if name == "tf32":
        if not c.cuda:
            raise Skip("TF32 is a GPU tensor-core mode: not applicable on the CPU")
        if c.cc < (8, 0):
            raise Skip("TF32 needs compute capability 8.0 (Ampere) or newer; this GPU is %s" % c.cc_text())
    if name == "bf16" and c.cuda and c.cc < (8, 0):
        raise Skip(
            "no bf16 hardware before compute capability 8.0 (Ampere); this GPU is %s and torch "
            "emulates bf16 slowly" % c.cc_text()
        )
    if name == "fp16" and c.cuda and c.cc < (5, 3):
        raise Skip("no fp16 arithmetic before compute capability 5.3; this GPU is %s" % c.cc_text())


def check_matmul(c, name):
    torch = c.torch
    _matmul_skip(c, name)
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


def cudnn_info(torch):
    """cuDNN's runtime and build versions and torch's own compatibility verdict."""
    info = {"available": bool(torch.backends.cudnn.is_available())}
    if not info["available"]:
        return info
    info["version"] = torch.backends.cudnn.version()  # raises on a version incompatibility
    c = getattr(torch._C, "_cudnn", None)
    if c is not None and hasattr(c, "getCompileVersion"):
        compiled = tuple(c.getCompileVersion())
        runtime = tuple(c.getRuntimeVersion())
        info["compiled"] = ".".join(str(v) for v in compiled)
        info["runtime"] = ".".join(str(v) for v in runtime)
        # torch/backends/cudnn/__init__.py: same major; minor at least the build's from cuDNN 7.
        if runtime[0] != compiled[0]:
            ok = False
        elif runtime[0] < 7:
            ok = runtime[1] == compiled[1]
        else:
            ok = runtime[1] >= compiled[1]
        info["matches_build"] = ok
    return info


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


def _mem_available():
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def check_memory(c):
    torch = c.torch
    if c.cuda:
        free, total = torch.cuda.mem_get_info(c.index)
        target = int(free * MEMORY_FRACTION)
        chunk = 256 << 20
        where = "%.0f%% of the %.1f GiB free" % (MEMORY_FRACTION * 100, free / 2.0 ** 30)
    else:
        avail = _mem_available() or (4 << 30)
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


# -------------------------------------------------------------------------------- performance


def _timed(c, fn, iters):
    torch = c.torch
    if c.cuda:
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(iters):
            fn()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1000.0
    t = time.perf_counter()
    for _ in range(iters):
        fn()
    return time.perf_counter() - t


def _measure(c, fn, budget, too_slow=None):
    """(seconds per call, calls timed, seconds of one call): a warm-up call, one call to size
    the run, then a timed batch filling ``budget`` (just the one call when it took longer than
    ``too_slow``)."""
    fn()
    c.sync()
    one = max(_timed(c, fn, 1), 1e-7)
    if too_slow is not None and one > too_slow:
        return one, 1, one
    iters = int(max(2, min(50, budget / one)))
    return _timed(c, fn, iters) / iters, iters, one


def perf_matmul(c, name):
    torch = c.torch
    _matmul_skip(c, name)
    dtype = {"fp32": torch.float32, "tf32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[name]
    size = 4 if name in ("fp32", "tf32") else 2
    if c.cuda:
        # tensor-core rates need 8192+ to approach peak; fp32/tf32 are slower and informational
        sizes = (4096, 8192) if size == 4 else (4096, 8192, 16384)
    else:
        sizes = (256, 512, 1024)
    budget, too_slow = (0.2, 1.0) if c.cuda else (0.1, 0.25)
    free = torch.cuda.mem_get_info(c.index)[0] if c.cuda else None
    by_size = {}
    with math_mode(torch, tf32=(name == "tf32"), reduced=None):
        for n in sizes:
            if free is not None and 3 * n * n * size > 0.5 * free:
                break
            a = torch.randn(n, n, device=c.dev, dtype=dtype)
            b = torch.randn(n, n, device=c.dev, dtype=dtype)
            out = torch.empty(n, n, device=c.dev, dtype=dtype)
            per, iters, one = _measure(c, lambda a=a, b=b, out=out: torch.mm(a, b, out=out), budget, too_slow)
            by_size[str(n)] = 2.0 * n ** 3 / per / 1e12
            del a, b, out
            if one * 8 * 2 > budget or one * 8 > too_slow:  # the next size: 8x per call, 2 calls at least
                break
    if not by_size:
        raise Skip("too little free memory for a %d x %d matmul" % (sizes[0], sizes[0]))
    best = max(by_size, key=lambda key: by_size[key])
    return {
        "detail": "%.3g TFLOP/s (best of n = %s)" % (by_size[best], ", ".join(by_size)),
        "values": {"value": by_size[best], "unit": "TFLOP/s", "n": int(best), "by_size": by_size},
    }


def perf_copy(c, direction):
    torch = c.torch
    if direction != "d2d" and not c.cuda:
        raise Skip("host<->device bandwidth needs a GPU")
    if direction == "d2d":
        nbytes = min(1 << 30, torch.cuda.mem_get_info(c.index)[0] // 8) if c.cuda else 128 << 20
        src = torch.ones(nbytes, dtype=torch.uint8, device=c.dev)
        dst = torch.empty_like(src)
        per, iters, _ = _measure(c, lambda: dst.copy_(src), 0.3 if c.cuda else 0.1)
        gbs = 2.0 * nbytes / per / 1e9  # read + write, as CUDA's bandwidthTest counts
        how = "%s copy of %d MiB, read + write counted" % ("device-to-device" if c.cuda else "host memory", nbytes >> 20)
    else:
        nbytes = 256 << 20
        if "pinned" not in c.buffers:  # one pinned buffer for both directions (pinning is slow)
            c.buffers["pinned"] = torch.ones(nbytes, dtype=torch.uint8).pin_memory()
            c.buffers["device"] = torch.empty(nbytes, dtype=torch.uint8, device=c.dev)
        host, dev = c.buffers["pinned"], c.buffers["device"]
        if direction == "h2d":
            fn = lambda: dev.copy_(host, non_blocking=True)  # noqa: E731
        else:
            fn = lambda: host.copy_(dev, non_blocking=True)  # noqa: E731
        with host_link_lock(c.link_lock):  # GPUs behind one PCIe switch would share the uplink
            per, iters, _ = _measure(c, fn, 0.2)
        if direction == "d2h":
            c.buffers.clear()
        gbs = nbytes / per / 1e9
        how = "%s copies of %d MiB from pinned memory" % (direction, nbytes >> 20)
    return {
        "detail": "%.1f GB/s (%s)" % (gbs, how),
        "values": {"value": gbs, "unit": "GB/s", "bytes": nbytes, "iters": iters},
    }


# -------------------------------------------------------------------------------------- modes


def run_check(ev, name, fn, state):
    """One check: begin, an injected fault if ENVCHECK_FAULT names it, the work, end. Returns the status."""
    if state.get("abandoned"):
        ev.emit("end", check=name, status="not-run", detail="not run: " + state["abandoned"])
        return "not-run"
    ev.emit("begin", check=name)
    start = time.monotonic()
    out = {}
    try:
        fault(name)
        out = fn() or {}
        status = "passed"
    except Skip as exc:
        status, out = "skipped", {"detail": str(exc)}
    except Wrong as exc:
        status, out = "failed", {"detail": exc.detail, "values": exc.values}
    except Exception as exc:
        status = "error"
        out = {"error": full_error(exc), "traceback": traceback.format_exc()[-2500:]}
        if sticky(str(exc)):
            state["abandoned"] = "the GPU is unusable after the error in %s" % name
    ev.emit("end", check=name, status=status, seconds=round(time.monotonic() - start, 4), **out)
    return status


def torch_info(torch):
    info = {
        "version": str(getattr(torch, "__version__", "")),
        "cuda_build": getattr(torch.version, "cuda", None),
        "hip": getattr(torch.version, "hip", None),
        "file": getattr(torch, "__file__", None),
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            info["is_available"] = bool(torch.cuda.is_available())
        except Exception as exc:
            info["is_available"] = False
            info["cuda_error"] = err(exc)
    info["available_warnings"] = [str(w.message)[:1000] for w in caught]
    try:
        info["device_count"] = int(torch.cuda.device_count()) if info["is_available"] else 0
    except Exception as exc:
        info["device_count"] = 0
        info["cuda_error"] = err(exc)
    try:
        info["arch_list"] = list(torch.cuda.get_arch_list()) if info["cuda_build"] else []
    except Exception as exc:
        info["arch_error"] = err(exc)
    if info["cuda_build"]:
        try:
            info["cudnn"] = cudnn_info(torch)
        except Exception as exc:
            info["cudnn_error"] = err(exc)
        try:
            v = torch.cuda.nccl.version()
            info["nccl"] = ".".join(str(x) for x in v) if isinstance(v, tuple) else str(v)
        except Exception as exc:
            info["nccl_error"] = err(exc)
    tf32 = {}
    for key, read in (
        ("matmul", lambda: torch.backends.cuda.matmul.allow_tf32),
        ("cudnn", lambda: torch.backends.cudnn.allow_tf32),
        ("float32_matmul_precision", torch.get_float32_matmul_precision),
    ):
        try:
            tf32[key] = read()
        except Exception as exc:
            tf32[key] = err(exc)
    if os.environ.get("TORCH_ALLOW_TF32_CUBLAS_OVERRIDE"):
        tf32["override_env"] = os.environ["TORCH_ALLOW_TF32_CUBLAS_OVERRIDE"]
    info["tf32"] = tf32
    try:
        info["threads"] = torch.get_num_threads()
    except Exception as exc:
        info["threads_error"] = err(exc)
    return info


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine() or "CPU"


def device_info(torch, spec, index):
    if index is None:
        return {"device": "cpu", "kind": "cpu", "name": _cpu_name(), "threads": torch.get_num_threads(),
                "memory_available_mib": (_mem_available() or 0) >> 20}
    out = {"device": spec, "kind": "cuda", "index": index}
    try:
        p = torch.cuda.get_device_properties(index)
        out.update(name=p.name, cc="%d.%d" % (p.major, p.minor), total_mib=int(p.total_memory) >> 20,
                   sm_count=getattr(p, "multi_processor_count", None))
        uuid = getattr(p, "uuid", None)
        if uuid is not None:
            out["uuid"] = str(uuid)
        if hasattr(p, "pci_bus_id"):
            out["pci"] = [getattr(p, "pci_domain_id", 0), p.pci_bus_id, getattr(p, "pci_device_id", 0)]
    except Exception as exc:
        out["error"] = full_error(exc)
    return out


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


def run_p2p(ev, torch, info, args):
    indices = [int(x) for x in args.devices.split(",")]
    state = {}
    n = 16 << 20  # 64 MiB
    data = {}
    for i, a in enumerate(indices):
        for b in indices[i + 1:]:
            name = "p2p cuda:%d<->cuda:%d" % (a, b)

            def pair(a=a, b=b):
                fault("p2p")
                ab = torch.cuda.can_device_access_peer(a, b)
                ba = torch.cuda.can_device_access_peer(b, a)
                if not (ab and ba):
                    raise Skip("no peer access claimed (cuda:%d->cuda:%d %s, back %s): copies go through "
                               "host memory" % (a, b, ab, ba))
                if "bits" not in data:
                    data["bits"] = _random_bits(torch, n, 7)
                bits = data["bits"]
                xa = bits.to(torch.device("cuda", a))
                xb = xa.to(torch.device("cuda", b))
                back = xb.to(torch.device("cuda", a))
                torch.cuda.synchronize(a)
                torch.cuda.synchronize(b)
                if not _same_bytes(torch, xb.cpu(), bits) or not _same_bytes(torch, back.cpu(), bits):
                    raise Wrong("peer copies between cuda:%d and cuda:%d changed the data" % (a, b))
                start = time.perf_counter()
                for _ in range(5):
                    xb.copy_(xa)
                torch.cuda.synchronize(a)
                torch.cuda.synchronize(b)
                gbs = 5.0 * n * 4 / (time.perf_counter() - start) / 1e9
                return {"detail": "64 MiB both ways bit-exact; %.1f GB/s one way" % gbs,
                        "values": {"gbs": gbs}}

            run_check(ev, name, pair, state)


def run_allreduce(ev, torch, info, args):
    import datetime

    import torch.distributed as dist

    world, rank = args.world, args.rank
    nccl = args.backend == "nccl"

    def work():
        fault("allreduce")
        dev = torch.device("cuda", args.index) if nccl else torch.device("cpu")
        kwargs = {}
        if nccl:
            torch.cuda.set_device(dev)
            kwargs["device_id"] = dev  # eager NCCL init: fails here rather than in the first call
        init = "tcp://127.0.0.1:%d" % args.port
        timeout = datetime.timedelta(seconds=args.collective_timeout)
        try:
            dist.init_process_group(args.backend, init_method=init, rank=rank, world_size=world,
                                    timeout=timeout, **kwargs)
        except TypeError:  # a torch without device_id
            kwargs.pop("device_id", None)
            dist.init_process_group(args.backend, init_method=init, rank=rank, world_size=world,
                                    timeout=timeout, **kwargs)
        try:
            n = (4 << 20) if nccl else (1 << 16)
            pattern = (torch.arange(n, dtype=torch.int64, device=dev) % 251 + 1).to(torch.float32)
            x = pattern * float(rank + 1)
            dist.all_reduce(x)
            if nccl:
                torch.cuda.synchronize(dev)
            expected = pattern * float(world * (world + 1) // 2)
            # a wrong answer is raised only after the same collectives as every other rank's:
            # leaving early would leave the others waiting in NCCL until its timeout
            bad = 0 if torch.equal(x, expected) else int((x != expected).sum())
            iters = 5
            start = time.perf_counter()
            works = [dist.all_reduce(x, async_op=True) for _ in range(iters)]  # queued, waited once
            for w in works:
                w.wait()
            if nccl:
                torch.cuda.synchronize(dev)
            seconds = (time.perf_counter() - start) / iters
            algbw = n * 4 / seconds / 1e9
            busbw = algbw * 2.0 * (world - 1) / world
            if nccl:
                dist.barrier(device_ids=[args.index])
            else:
                dist.barrier()
        finally:
            dist.destroy_process_group()
        if bad:
            raise Wrong("all-reduce sum wrong in %d of %d elements on rank %d" % (bad, n, rank),
                        {"bad_elements": bad})
        return {
            "detail": "%s all-reduce of %s across %d ranks exact; bus bandwidth %.2f GB/s"
            % ("NCCL" if nccl else "gloo", "%d MiB" % (n * 4 >> 20) if n * 4 >= 1 << 20 else "%d KiB" % (n * 4 >> 10),
               world, busbw),
            "values": {"algbw_gbs": algbw, "busbw_gbs": busbw, "ranks": world},
        }

    run_check(ev, "allreduce", work, {})


def parse_args(argv):
    p = argparse.ArgumentParser(prog="envcheck-verify-child")
    p.add_argument("--events", default=None)
    p.add_argument("--mode", choices=("checks", "p2p", "allreduce"), default="checks")
    p.add_argument("--device", default="auto")
    p.add_argument("--perf", action="store_true")
    p.add_argument("--only", default="")
    p.add_argument("--devices", default="")
    p.add_argument("--backend", default="nccl")
    p.add_argument("--rank", type=int, default=0)
    p.add_argument("--world", type=int, default=1)
    p.add_argument("--index", type=int, default=0)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--collective-timeout", type=float, default=60.0)
    p.add_argument("--link-lock", default=None)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    ev = Events(args.events)
    ev.emit("start", pid=os.getpid(), python=sys.executable,
            python_version="%d.%d.%d" % sys.version_info[:3], mode=args.mode, device=args.device)
    try:
        import torch
    except BaseException as exc:
        missing = isinstance(exc, ModuleNotFoundError) and getattr(exc, "name", None) == "torch"
        ev.emit("import-failed", missing=missing, error=full_error(exc),
                traceback=traceback.format_exc()[-3000:])
        return 0
    ev.emit("imported", version=str(getattr(torch, "__version__", "")))
    info = torch_info(torch)  # CUDA initialisation: can hang or crash on a broken driver
    ev.emit("torch", **info)
    if args.mode == "p2p":
        run_p2p(ev, torch, info, args)
    elif args.mode == "allreduce":
        run_allreduce(ev, torch, info, args)
    else:
        run_device(ev, torch, info, args)
    ev.emit("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
