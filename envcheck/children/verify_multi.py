"""verify's checks across GPUs (a child): peer-to-peer copies between each pair that claims
peer access (``--mode p2p``), and one rank of a torch.distributed all-reduce (``--mode
allreduce``: NCCL on GPUs, gloo on the CPU). Events as in :mod:`~envcheck.children.verify_device`.
Standard library and torch only.
"""

from __future__ import annotations

import sys
import time

from envcheck.children.checks import Skip, Wrong, child_main, fault, random_bits, run_check, same_bytes

__all__ = ["main", "run_allreduce", "run_p2p"]

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
                    data["bits"] = random_bits(torch, n, 7)
                bits = data["bits"]
                xa = bits.to(torch.device("cuda", a))
                xb = xa.to(torch.device("cuda", b))
                back = xb.to(torch.device("cuda", a))
                torch.cuda.synchronize(a)
                torch.cuda.synchronize(b)
                if not same_bytes(torch, xb.cpu(), bits) or not same_bytes(torch, back.cpu(), bits):
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


def run_mode(ev, torch, info, args):
    if args.mode == "p2p":
        run_p2p(ev, torch, info, args)
    else:
        run_allreduce(ev, torch, info, args)


def main(argv=None):
    return child_main(run_mode, argv)


if __name__ == "__main__":
    sys.exit(main())
