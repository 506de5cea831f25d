"""Timing on one device: matmul throughput and copy bandwidth (verify's ``--perf`` measurements,
and :func:`time_matmul`, the one figure each ``preflight --distributed`` rank measures).

CUDA events time GPU work, ``perf_counter`` the CPU's; each measurement warms up, sizes its run
from one call and then times a batch that fills a small budget. Standard library and torch only.
"""

from __future__ import annotations

import time

from envcheck.children.checks import Skip, host_link_lock, math_mode, matmul_skip

__all__ = ["PERF_CHECKS", "measure", "perf_copy", "perf_matmul", "time_matmul", "timed"]

PERF_CHECKS = (
    "perf:matmul-bf16",
    "perf:matmul-fp16",
    "perf:matmul-tf32",
    "perf:matmul-fp32",
    "perf:copy-d2d",
    "perf:copy-h2d",
    "perf:copy-d2h",
)


def timed(c, fn, iters):
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


def measure(c, fn, budget, too_slow=None):
    """(seconds per call, calls timed, seconds of one call): a warm-up call, one call to size
    the run, then a timed batch filling ``budget`` (just the one call when it took longer than
    ``too_slow``)."""
    fn()
    c.sync()
    one = max(timed(c, fn, 1), 1e-7)
    if too_slow is not None and one > too_slow:
        return one, 1, one
    iters = int(max(2, min(50, budget / one)))
    return timed(c, fn, iters) / iters, iters, one


def perf_matmul(c, name):
    torch = c.torch
    matmul_skip(c, name)
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
            per, iters, one = measure(c, lambda a=a, b=b, out=out: torch.mm(a, b, out=out), budget, too_slow)
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
        per, iters, _ = measure(c, lambda: dst.copy_(src), 0.3 if c.cuda else 0.1)
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
            per, iters, _ = measure(c, fn, 0.2)
        if direction == "d2h":
            c.buffers.clear()
        gbs = nbytes / per / 1e9
        how = "%s copies of %d MiB from pinned memory" % (direction, nbytes >> 20)
    return {
        "detail": "%.1f GB/s (%s)" % (gbs, how),
        "values": {"value": gbs, "unit": "GB/s", "bytes": nbytes, "iters": iters},
    }


def time_matmul(torch, device, n=8192, budget=0.2):
    """(TFLOP/s, dtype name) of an n x n matmul on ``device``: bf16 from sm_80, fp16 on sm_70/75.

    After a warm-up, as many calls as fill about ``budget`` seconds (10 to 100): ten 8192 bf16
    matmuls on an H100 take 15 ms, too short to time steadily."""
    major, _ = torch.cuda.get_device_capability(device)
    if major >= 8:
        dtype, name = torch.bfloat16, "bf16"
    elif major >= 7:
        dtype, name = torch.float16, "fp16"
    else:
        dtype, name = torch.float32, "fp32"
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(3):
        torch.mm(a, b)
    torch.cuda.synchronize(device)
    start = time.perf_counter()
    torch.mm(a, b)
    torch.cuda.synchronize(device)
    one = max(time.perf_counter() - start, 1e-6)
    iters = int(max(10, min(100, budget / one)))
    start = time.perf_counter()
    for _ in range(iters):
        torch.mm(a, b)
    torch.cuda.synchronize(device)
    seconds = time.perf_counter() - start
    del a, b
    return 2.0 * n ** 3 * iters / seconds / 1e12, name
