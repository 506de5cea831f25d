"""The rank process of ``envcheck preflight --distributed``: the only place preflight imports torch.

Each rank (started by torchrun or srun, see :mod:`envcheck.preflight.launcher`):

1. connects to the job's key-value store (torchrun's own store when torchrun runs the job,
   otherwise rank 0 hosts a ``TCPStore`` at MASTER_ADDR:MASTER_PORT) and announces itself
   (``join/RANK``: host, pid, local rank);
2. checks its node and its GPU (:func:`envcheck.preflight.node.run_node`; the node-wide steps
   diagnose and verify run on local rank 0 only, every rank checks its own GPU and, on GPUs,
   times a matmul on it) and posts that report (``local/RANK``);
3. joins the process group (NCCL on GPUs, gloo on CPUs; ``init_process_group(timeout=...)``),
   then measures all-reduce bus bandwidth (busbw = algbw x 2(n-1)/n, nccl-tests' definition) at
   each configured size, within its node and across all ranks;
4. posts its final report (``final/RANK``). Rank 0 gathers every report from the store, with a
   deadline, names the ranks that never joined, died or got stuck (with their host and last
   phase), prints the cluster report (:mod:`envcheck.preflight.cluster`) and sets ``done``.

Never hangs: the work runs in a worker thread while the main thread supervises. Every phase
has a deadline (the timeout plus a grace); past it, or on SIGTERM (torchrun stopping the job
because another rank died), rank 0 prints the report of what it has and the others post an
error, and ``envcheck.cli.main`` leaves with ``os._exit`` (the rank's result asks for a hard exit:
a wedged NCCL communicator must not hold the process at exit). The store itself is only used with timeouts.

Exit codes: rank 0 exits with the job's code (0, 1 or 3); other ranks exit 0 once rank 0 has
collected their reports, 3 when rank 0 never did. So ``srun`` and ``torchrun`` both return
non-zero when any node failed.
"""

from __future__ import annotations

import datetime
import json
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

from envcheck import faults
from envcheck.errors import CannotRunError
from envcheck.preflight.checks import Check, apply_severity, not_run
from envcheck.preflight.units import format_size

__all__ = ["RankResult", "run_rank", "busbw_gbs", "GRACE"]

GRACE = 15.0  # seconds a phase may overrun its own timeout before the supervisor steps in
_POLL = 0.1


@dataclass
class RankResult:
    print_report: bool  # rank 0 prints; the others stay silent on stdout
    exit_code: int
    data: Dict[str, Any] = field(default_factory=dict)


def busbw_gbs(nbytes: int, seconds: float, n: int) -> Tuple[float, float]:
    """(algbw, busbw) in GB/s of an all-reduce of ``nbytes`` over ``n`` ranks taking ``seconds``."""
    if seconds <= 0 or n < 1:
        return 0.0, 0.0
    alg = nbytes / seconds / 1e9
    return alg, alg * 2 * (n - 1) / n


class _Ctx:
    """What the worker and the supervisor share."""

    def __init__(self, launch: Any, th: Any, progress: Callable[[str], None]) -> None:
        self.launch = launch
        self.th = th
        self.progress = progress
        self.phase = "start"
        self.phase_deadline = time.monotonic() + 3 * th.timeout_s + 60
        self.result: Optional[RankResult] = None
        self.error: Optional[BaseException] = None
        self.store: Any = None
        self.prefix = ""
        self.node = ""
        self.start = time.monotonic()
        self.lock = threading.Lock()

    def set_phase(self, phase: str, seconds: float) -> None:
        self.phase = phase
        self.phase_deadline = time.monotonic() + seconds + GRACE
        self.progress("preflight rank {}: {} ({:.1f} s)".format(self.launch.rank, phase, time.monotonic() - self.start))
        if self.store is not None:
            try:
                self.store.set(self.key("phase", self.launch.rank), phase)
            except Exception:  # noqa: BLE001 - the store is gone: the gather will say so
                pass

    def key(self, kind: str, rank: Any = None) -> str:
        return self.prefix + kind + ("" if rank is None else "/{}".format(rank))


# -------------------------------------------------------------------------------- the store


def _make_store(launch: Any, timeout: float, *, client_only: bool = False) -> Any:
    from torch.distributed import TCPStore

    is_master = (not launch.agent_store) and launch.rank == 0 and not client_only
    return TCPStore(
        launch.master_addr,
        launch.master_port,
        None,
        is_master,
        datetime.timedelta(seconds=timeout),
        wait_for_workers=False,
    )


def _prefix(launch: Any) -> str:
    restart = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
    return "envcheck-preflight/{}/{}/".format(launch.run_id, restart)


def _node_name(launch: Any) -> str:
    host = socket.gethostname()
    fake = faults.fake_nodes()  # a rehearsal of several nodes on one machine (ENVCHECK_FAULT)
    if fake:
        return "{}-fake{}".format(host, launch.rank % fake)
    return host


# -------------------------------------------------------------------------------- the checks


def _rank_checks(ctx: _Ctx, torch: Any, device: Any) -> Any:
    """This rank's node report: local rank 0 runs the node-wide steps, every rank its own GPU."""
    from dataclasses import replace

    from envcheck.preflight import node

    launch, th = ctx.launch, ctx.th
    first = launch.local_rank == 0
    # the matmul runs in this process later, once every rank is done with its node checks;
    # diagnose and verify (all of the node's GPUs) run once per node
    th_rank = replace(th, perf=False) if first else replace(th, perf=False, diagnose=False, verify=False)
    mine = None
    if device is not None and device.type == "cuda":
        mine = _nvml_index(torch, device)
    report = node.run_node(
        th_rank,
        progress=lambda line: None,
        budget=max(10.0, min(55.0, th.timeout_s)),
        judge_gpus=[mine] if mine is not None else None,
    )
    report.rank = launch.rank
    report.local_rank = launch.local_rank
    report.extra["node"] = ctx.node
    return report


def _nvml_index(torch: Any, device: Any) -> Optional[int]:
    """The NVML index of a CUDA device, by UUID (CUDA_VISIBLE_DEVICES renumbers devices)."""
    try:
        props = torch.cuda.get_device_properties(device)
        uuid = str(getattr(props, "uuid", "") or "")
    except Exception:  # noqa: BLE001
        return None
    if not uuid:
        return None
    try:
        import pynvml  # type: ignore[import-not-found]

        pynvml.nvmlInit()
        try:
            for i in range(pynvml.nvmlDeviceGetCount()):
                u = pynvml.nvmlDeviceGetUUID(pynvml.nvmlDeviceGetHandleByIndex(i))
                u = u.decode() if isinstance(u, bytes) else str(u)
                if u.replace("GPU-", "") == uuid.replace("GPU-", ""):
                    return i
        finally:
            pynvml.nvmlShutdown()
    except Exception:  # noqa: BLE001 - no NVML: the node checks say so
        return None
    return None


def _perf_check(torch: Any, device: Any, th: Any, report: Any) -> List[Check]:
    """A bf16 (fp16 before Ampere) matmul on this rank's GPU, against its class's fraction."""
    try:
        from envcheck.children.timing import time_matmul
        from envcheck.preflight.perf import judge_tflops
    except ImportError as exc:  # pragma: no cover
        return [not_run("perf", str(exc))]
    name = torch.cuda.get_device_name(device)
    tflops, dtype = time_matmul(torch, device)
    report.extra["perf_tflops"] = round(tflops, 1)
    report.extra["gpu_name"] = name
    return apply_severity([judge_tflops(name, tflops, dtype, th)], th)


# --------------------------------------------------------------------------- the collectives


def _time_allreduce(torch: Any, dist: Any, group: Any, n: int, nbytes: int, device: Any) -> Dict[str, Any]:
    count = max(1, nbytes // 4)
    t = torch.ones(count, dtype=torch.float32, device=device)
    cuda = device.type == "cuda"

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize(device)

    def barrier() -> None:
        if cuda:
            dist.barrier(group=group, device_ids=[device.index])
        else:
            dist.barrier(group=group)

    def timed(iters: int) -> float:
        # queued back to back (async_op), waited for once: a wait per call would time the host's
        # polling, not the link (nccl-tests queues its iterations the same way)
        barrier()
        start = time.perf_counter()
        works = [dist.all_reduce(t, group=group, async_op=True) for _ in range(iters)]
        for w in works:
            w.wait()
        sync()
        return (time.perf_counter() - start) / iters

    dist.all_reduce(t, group=group)  # warm-up: connections, algorithms
    sync()
    one = timed(1)
    # every rank must run the same number of iterations: rank 0's choice is broadcast
    choice = torch.tensor([_iterations(one)], dtype=torch.int64, device=device)
    dist.broadcast(choice, src=_group_first(dist, group), group=group)
    iters = int(choice.item())
    seconds = timed(iters)
    alg, bus = busbw_gbs(count * 4, seconds, n)
    return {"bytes": count * 4, "size": format_size(count * 4), "ranks": n, "seconds": seconds,
            "algbw_gbs": round(alg, 3), "busbw_gbs": round(bus, 3)}


def _iterations(one: float, budget: float = 0.25) -> int:
    """Timed iterations for a message whose single all-reduce took ``one`` seconds: 5 to 50,
    about ``budget`` seconds in all (2 when one already takes longer than budget / 2)."""
    if one * 5 > budget * 2:
        return 2
    return int(max(5, min(50, budget / max(one, 1e-6))))


def _group_first(dist: Any, group: Any) -> int:
    """The global rank of a group's first member (broadcast's ``src`` is a global rank)."""
    if group is None:
        return 0
    try:
        return int(dist.get_global_rank(group, 0))
    except (AttributeError, RuntimeError, ValueError):  # an older torch
        return int(min(dist.get_process_group_ranks(group)))


def _collectives(ctx: _Ctx, torch: Any, dist: Any, device: Any, report: Any, nodes: Dict[int, str]) -> List[Check]:
    th, launch = ctx.th, ctx.launch
    by_node: Dict[str, List[int]] = {}
    for r in range(launch.world_size):
        by_node.setdefault(nodes[r], []).append(r)
    groups = [by_node[n] for n in sorted(by_node)]
    out: List[Check] = []
    ctx.set_phase("collectives: groups", th.timeout_s)
    mine_group, _ = dist.new_subgroups_by_enumeration(groups, timeout=datetime.timedelta(seconds=th.timeout_s))
    my_node_ranks = by_node[ctx.node]
    results: Dict[str, List[Dict[str, Any]]] = {"intra": [], "inter": []}
    if len(my_node_ranks) > 1:
        for size in th.allreduce_sizes:
            ctx.set_phase("collectives: all-reduce within node, {}".format(format_size(size)), th.timeout_s)
            results["intra"].append(_time_allreduce(torch, dist, mine_group, len(my_node_ranks), size, device))
    if len(groups) > 1:
        for size in th.allreduce_sizes:
            ctx.set_phase("collectives: all-reduce across nodes, {}".format(format_size(size)), th.timeout_s)
            results["inter"].append(_time_allreduce(torch, dist, None, launch.world_size, size, device))
    report.extra["allreduce"] = results
    for kind, limit, label in (("intra", th.min_busbw_intra_gbs, "min_busbw_intra_gbs"),
                               ("inter", th.min_busbw_inter_gbs, "min_busbw_inter_gbs")):
        cid = "dist.busbw_" + kind
        rows = results[kind]
        if not rows:
            continue
        last = rows[-1]
        report.extra["busbw_{}_gbs".format(kind)] = last["busbw_gbs"]
        measured = ", ".join("{} {:.2f}".format(r["size"], r["busbw_gbs"]) for r in rows) + " GB/s busbw ({} ranks)".format(last["ranks"])
        if limit > 0:
            status = "pass" if last["busbw_gbs"] >= limit else "fail"
            thr = ">= {:.1f} GB/s at {}".format(limit, last["size"])
        else:
            status, thr = "pass", "no floor; outliers vs peers"
        out.append(Check(cid, status, measured, thr, value=last["busbw_gbs"], limit=limit, source=th.source_of(label)))
    return apply_severity(out, th)


# ------------------------------------------------------------------------------- the worker


def _work(ctx: _Ctx) -> None:
    launch, th = ctx.launch, ctx.th
    import torch
    import torch.distributed as dist

    backend = ctx.backend  # type: ignore[attr-defined]
    device = None
    shared = ""
    if backend == "nccl":
        # no torch.cuda.set_device yet: it creates a CUDA context (~500 MiB) on the GPU while
        # local rank 0's verify children check that GPU and its memory use
        count = torch.cuda.device_count()
        device = torch.device("cuda", launch.local_rank % max(count, 1))
        if launch.local_world_size and count and launch.local_world_size > count:
            shared = ("{} ranks on this node but {} visible GPU(s): NCCL needs one GPU per rank (start {} per node, "
                      "or check CUDA_VISIBLE_DEVICES)".format(launch.local_world_size, count, count))
    else:
        device = torch.device("cpu")
    ctx.set_phase("connect to the store at {}:{}".format(launch.master_addr, launch.master_port), th.timeout_s)
    ctx.store = _make_store(launch, th.timeout_s)
    ctx.prefix = _prefix(launch)
    ctx.store.set(ctx.key("join", launch.rank), json.dumps({
        "host": ctx.node, "hostname": socket.gethostname(), "pid": os.getpid(), "local_rank": launch.local_rank}))
    ctx.store.add(ctx.key("joins"), 1)
    ctx.set_phase("node checks", max(10.0, min(55.0, th.timeout_s)) + 10)
    faults.trigger("preflight.checks")
    try:
        report = _rank_checks(ctx, torch, device if backend == "nccl" else None)
    except Exception as exc:  # noqa: BLE001 - a failure here must not leave the other ranks waiting
        report = _empty_report(ctx, "node checks raised {}: {}".format(type(exc).__name__, _first_line(exc)))
    report.extra["backend"] = backend
    if shared:
        report.checks.append(Check("dist.gpus", "fail", shared, "one GPU per rank"))
    ctx.store.set(ctx.key("local", launch.rank), json.dumps(report.to_dict()))
    dist_checks: List[Check] = []
    want = "all {} within {:.0f} s".format(launch.world_size, th.timeout_s)
    ctx.set_phase("wait for every rank to join", th.timeout_s)
    absent = _wait_joins(ctx, th.timeout_s)
    joined = False
    if absent:
        # never init_process_group with a rank missing: NCCL would wait in the first collective
        dist_checks.append(Check("dist.join", "fail", "rank(s) {} never joined".format(_rank_list(absent)), want,
                                 value=absent))
    else:
        node_budget = max(10.0, min(55.0, th.timeout_s)) + 10  # local rank 0 may still be checking
        ctx.set_phase("join the process group ({})".format(backend), th.timeout_s + node_budget)
        try:
            if backend == "nccl":
                torch.cuda.set_device(device)
            from torch.distributed import PrefixStore

            dist.init_process_group(backend, store=PrefixStore(ctx.prefix + "pg/", ctx.store), rank=launch.rank,
                                    world_size=launch.world_size,
                                    timeout=datetime.timedelta(seconds=th.timeout_s + node_budget))
            joined = True
            dist_checks.append(Check("dist.join", "pass", "{} ranks joined ({})".format(launch.world_size, backend), want))
        except Exception as exc:  # noqa: BLE001 - a rank died between joining and here
            dist_checks.append(Check("dist.join", "fail", "process group not formed: " + _first_line(exc), want))
    if backend == "nccl" and th.perf:
        if joined:
            ctx.set_phase("wait for every rank's node checks", th.timeout_s)
            dist.barrier(device_ids=[device.index])
        ctx.set_phase("matmul on {}".format(device), th.timeout_s)
        try:
            report.checks += _perf_check(torch, device, th, report)
        except Exception as exc:  # noqa: BLE001 - e.g. out of memory: reported, and on to the collectives
            report.checks.append(Check("perf", "fail", "matmul on {} raised {}: {}".format(
                device, type(exc).__name__, _first_line(exc)), "per GPU class"))
    if joined:
        faults.trigger("preflight.collectives")
        nodes = {}
        for r in range(launch.world_size):
            info = json.loads(ctx.store.get(ctx.key("join", r)).decode("utf-8"))
            nodes[r] = info["host"]
        try:
            dist_checks += _collectives(ctx, torch, dist, device, report, nodes)
        except Exception as exc:  # noqa: BLE001 - a peer died mid-collective
            dist_checks.append(Check("dist.busbw_intra", "fail", "collective failed in '{}': {}".format(ctx.phase, _first_line(exc)),
                                     "completes within {:.0f} s".format(th.timeout_s)))
    report.checks += dist_checks
    ctx.set_phase("report", th.timeout_s)
    ctx.store.set(ctx.key("final", launch.rank), json.dumps(report.to_dict()))
    ctx.store.add(ctx.key("finals"), 1)
    if launch.rank == 0:
        ctx.set_phase("gather", th.timeout_s)
        ctx.result = _gather(ctx, ctx.store, joined=joined)
        ctx.store.set(ctx.key("done"), str(ctx.result.exit_code))
        _wait_acks(ctx, ctx.store)
    else:
        ctx.set_phase("wait for rank 0", th.timeout_s + GRACE)
        try:
            ctx.store.wait([ctx.key("done")], datetime.timedelta(seconds=th.timeout_s + GRACE))
            ctx.store.add(ctx.key("acks"), 1)
            ctx.result = RankResult(False, 0)
        except Exception as exc:  # noqa: BLE001
            ctx.progress("envcheck preflight: rank {}: rank 0 never collected the reports ({})".format(launch.rank, exc))
            ctx.result = RankResult(False, 3)
    if joined:
        _destroy(dist)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def _empty_report(ctx: _Ctx, why: str) -> Any:
    """This rank's report when its node checks could not run at all."""
    from envcheck.preflight.node import NodeReport

    report = NodeReport(host=ctx.node, summary={}, checks=[Check("node", "fail", why, "runs")])
    report.rank, report.local_rank = ctx.launch.rank, ctx.launch.local_rank
    report.extra["node"] = ctx.node
    return report


def _rank_list(ranks: List[int]) -> str:
    from envcheck.preflight.checks import gpu_ranges

    return gpu_ranges(ranks)


def _wait_joins(ctx: _Ctx, timeout: float) -> List[int]:
    """Wait until every rank has announced itself in the store; the ranks still absent."""
    world = ctx.launch.world_size
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if ctx.store.add(ctx.key("joins"), 0) >= world:
            return []
        time.sleep(_POLL)
    return [r for r in range(world) if _get_text(ctx.store, ctx.key("join", r)) is None]


def _destroy(dist: Any) -> None:
    t = threading.Thread(target=lambda: _quiet_call(dist.destroy_process_group), daemon=True)
    t.start()
    t.join(5.0)


def _quiet_call(fn: Callable[[], Any]) -> None:
    try:
        fn()
    except Exception:  # noqa: BLE001
        pass


def _wait_acks(ctx: _Ctx, store: Any) -> None:
    """Rank 0 hosts the store under srun: give the others a moment to read ``done``."""
    if ctx.launch.agent_store:
        return
    end = time.monotonic() + 5.0
    while time.monotonic() < end:
        try:
            if store.add(ctx.key("acks"), 0) >= ctx.launch.world_size - 1:
                return
        except Exception:  # noqa: BLE001
            return
        time.sleep(_POLL)


# ------------------------------------------------------------------------------- the gather


def _get_json(store: Any, key: str) -> Optional[Dict[str, Any]]:
    try:
        if not store.check([key]):
            return None
        return json.loads(store.get(key).decode("utf-8"))
    except Exception:  # noqa: BLE001 - half-written or unreadable: treated as absent
        return None


def _get_text(store: Any, key: str) -> Optional[str]:
    try:
        if not store.check([key]):
            return None
        return store.get(key).decode("utf-8", "replace")
    except Exception:  # noqa: BLE001
        return None


def _gather(ctx: _Ctx, store: Any, *, joined: bool, deadline_s: Optional[float] = None, reason: str = "") -> RankResult:
    """Rank 0: every final report, until all are in or the deadline; the missing are named."""
    from envcheck.preflight import cluster

    launch, th = ctx.launch, ctx.th
    world = launch.world_size
    wait = th.timeout_s if deadline_s is None else deadline_s
    start = time.monotonic()
    end = start + wait
    while time.monotonic() < end:
        try:
            done = store.add(ctx.key("finals"), 0)
        except Exception:  # noqa: BLE001
            break
        if done >= world:
            break
        if not joined and time.monotonic() - start >= 2.0:
            # the group never formed: stop once every rank that joined the store has reported
            joined_ranks = sum(1 for r in range(world) if _get_text(store, ctx.key("join", r)) is not None)
            if done >= joined_ranks:
                break
        time.sleep(_POLL)
    reports: List[Dict[str, Any]] = []
    missing: List[Dict[str, Any]] = []
    waited = time.monotonic() - ctx.start
    for r in range(world):
        final = _get_json(store, ctx.key("final", r))
        if final is not None:
            reports.append(final)
            continue
        join = _get_json(store, ctx.key("join", r))
        local = _get_json(store, ctx.key("local", r))
        phase = _get_text(store, ctx.key("phase", r))
        error = _get_text(store, ctx.key("error", r))
        host = (join or {}).get("host")
        if error:
            why = "failed: {}".format(error)
        elif join is None:
            why = "never joined (no contact within {:.0f} s)".format(waited)
        elif local is not None:
            why = ("did its node checks, then stopped answering: exited or hung (last phase it reported: {}; "
                   "the launcher's log has its exit status)".format(phase or "?"))
        else:
            why = ("joined, then stopped answering: exited or hung (last phase it reported: {}; the launcher's "
                   "log has its exit status)".format(phase or "?"))
        if local is not None:
            local.setdefault("extra", {})["partial"] = True
            reports.append(local)
        missing.append({"rank": r, "host": host, "phase": phase, "reason": why})
    merged = cluster.merge(reports, world_size=world, missing=missing, outlier_fraction=th.outlier_fraction,
                           strict=ctx.strict)  # type: ignore[attr-defined]
    if reason:
        merged["stopped"] = reason
    data = {"mode": "cluster", "cluster": merged, "launch": launch.to_dict(), "thresholds": th.to_dict()}
    return RankResult(True, merged["exit_code"], data)


# ------------------------------------------------------------------------------ supervision


def run_rank(th: Any, *, backend: str = "auto", progress: Callable[[str], None], strict: bool = False,
             budget: float = 55.0, env: Optional[Dict[str, str]] = None) -> RankResult:
    """Run this rank; rank 0's result carries the cluster report. Never hangs past its deadlines."""
    from envcheck.preflight import launcher
    launch = launcher.detect(os.environ if env is None else env)
    faults.trigger("preflight.start")
    try:
        import torch
        import torch.distributed as dist
    except Exception as exc:  # noqa: BLE001 - ImportError, or a broken torch
        raise CannotRunError("--distributed needs torch in this interpreter: {}: {}".format(type(exc).__name__, exc),
                             hint="run it with the Python that runs your jobs") from None
    if not dist.is_available():
        raise CannotRunError("this torch build has no torch.distributed")
    if backend == "auto":
        backend = "nccl" if torch.cuda.is_available() and dist.is_nccl_available() else "gloo"
    if backend == "nccl" and not (torch.cuda.is_available() and dist.is_nccl_available()):
        raise CannotRunError("--backend nccl needs CUDA and NCCL in this torch")
    # No TORCH_NCCL_BLOCKING_WAIT: it makes every wait poll the host in 1 ms steps (it would time
    # the polling, not the link), and the supervisor's phase deadlines (timeout + GRACE) come
    # before the process group's own timeout anyway. A timed-out collective is the supervisor's.
    ctx = _Ctx(launch, th, progress)
    ctx.backend = backend  # type: ignore[attr-defined]
    ctx.strict = strict  # type: ignore[attr-defined]
    ctx.node = _node_name(launch)
    stop = {"signal": None}

    def on_signal(signum: int, _frame: Any) -> None:
        stop["signal"] = signum

    old = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            old[sig] = signal.signal(sig, on_signal)
        except (ValueError, OSError):  # not the main thread
            pass

    def work() -> None:
        try:
            _work(ctx)
        except BaseException as exc:  # noqa: BLE001 - reported by the supervisor
            ctx.error = exc

    worker = threading.Thread(target=work, name="envcheck-preflight-rank", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(_POLL)
        if stop["signal"] is not None or time.monotonic() > ctx.phase_deadline:
            break
    for sig, handler in old.items():
        try:
            signal.signal(sig, handler)
        except (ValueError, OSError):
            pass
    if not worker.is_alive() and ctx.result is not None:
        return ctx.result
    if stop["signal"] is not None:
        reason = "stopped by {} in phase '{}' (a launcher stops every rank when one fails)".format(
            signal.Signals(stop["signal"]).name, ctx.phase)
    elif ctx.error is not None:
        reason = "error in phase '{}': {}: {}".format(ctx.phase, type(ctx.error).__name__, str(ctx.error).strip()[:300])
    else:
        reason = "stuck in phase '{}' past its deadline".format(ctx.phase)
    progress("envcheck preflight: rank {}: {}".format(launch.rank, reason))
    return _finish_early(ctx, reason)


def _finish_early(ctx: _Ctx, reason: str) -> RankResult:
    """The worker failed or is stuck: post what we know; rank 0 reports what it has."""
    launch = ctx.launch
    holder: Dict[str, Any] = {}

    def talk() -> None:
        try:
            store = _make_store(launch, 5.0, client_only=True) if ctx.store is not None else None
            if store is None:
                return
            store.set(ctx.key("error", launch.rank), reason)
            if launch.rank == 0:
                holder["result"] = _gather(ctx, store, joined=False, deadline_s=3.0, reason=reason)
                store.set(ctx.key("done"), str(holder["result"].exit_code))
        except Exception as exc:  # noqa: BLE001 - the store is gone too
            holder["error"] = exc

    t = threading.Thread(target=talk, daemon=True)
    t.start()
    t.join(15.0)
    if launch.rank == 0:
        result = holder.get("result")
        if result is not None:
            result.exit_code = result.exit_code or 1
            return result
        data = {"mode": "cluster", "cluster": None, "error": reason, "launch": launch.to_dict()}
        return RankResult(True, 1, data)
    return RankResult(False, 3)
