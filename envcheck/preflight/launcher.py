"""Where a distributed preflight rank stands, read from its launcher's environment. Pure.

=========  ==================================================================================
launcher   variables read
=========  ==================================================================================
torchrun   RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, GROUP_RANK, MASTER_ADDR,
           MASTER_PORT, TORCHELASTIC_RUN_ID, TORCHELASTIC_USE_AGENT_STORE (the store at
           MASTER_ADDR:MASTER_PORT is torchrun's own: ranks connect to it as clients)
slurm      SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, SLURM_NODEID, SLURM_NTASKS_PER_NODE /
           SLURM_TASKS_PER_NODE, SLURM_JOB_ID, SLURM_STEP_NODELIST / SLURM_JOB_NODELIST /
           SLURM_NODELIST; MASTER_ADDR and MASTER_PORT when set, else the first host of the
           node list and ``20000 + SLURM_JOB_ID % 20000`` (one port per job, so two jobs that
           share a first node do not collide)
=========  ==================================================================================

torchrun's variables win when both are present (``srun torchrun ...``: the ranks are
torchrun's).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Optional

from envcheck.errors import InputError
from envcheck.preflight.hostlist import InvalidHostlist, first_host

__all__ = ["Launch", "detect", "DEFAULT_PORT"]

DEFAULT_PORT = 29500  # torchrun's default


@dataclass(frozen=True)
class Launch:
    launcher: str  # torchrun | slurm
    rank: int
    world_size: int
    local_rank: int
    local_world_size: Optional[int]
    node_rank: Optional[int]
    master_addr: str
    master_port: int
    agent_store: bool  # the store at master_addr:master_port already runs (torchrun's agent)
    run_id: str  # names this run's keys in the store

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _int(env: Mapping[str, str], name: str, default: Optional[int] = None) -> Optional[int]:
    text = env.get(name)
    if text is None or text.strip() == "":
        return default
    try:
        return int(text.strip())
    except ValueError:
        raise InputError("{}={!r} is not an integer".format(name, text)) from None


def _tasks_per_node(env: Mapping[str, str], node_id: Optional[int]) -> Optional[int]:
    """SLURM_NTASKS_PER_NODE ("8") or SLURM_TASKS_PER_NODE ("8(x2),4"): this node's count."""
    simple = env.get("SLURM_NTASKS_PER_NODE", "").strip()
    if simple.isdigit():
        return int(simple)
    text = env.get("SLURM_TASKS_PER_NODE", "").strip()
    if not text:
        return None
    counts = []
    for item in text.split(","):
        m = re.match(r"^(\d+)(?:\(x(\d+)\))?$", item.strip())
        if not m:
            return None
        counts += [int(m.group(1))] * int(m.group(2) or 1)
    if node_id is not None and 0 <= node_id < len(counts):
        return counts[node_id]
    return counts[0] if len(set(counts)) == 1 else None


def detect(env: Mapping[str, str]) -> Launch:
    """The rank's place in the job. Raises InputError when no launcher set the environment."""
    if env.get("RANK") is not None and env.get("WORLD_SIZE") is not None:
        rank = _int(env, "RANK")
        world = _int(env, "WORLD_SIZE")
        local = _int(env, "LOCAL_RANK", 0)
        addr = env.get("MASTER_ADDR") or "127.0.0.1"
        port = _int(env, "MASTER_PORT", DEFAULT_PORT)
        launch = Launch(
            launcher="torchrun",
            rank=rank,
            world_size=world,
            local_rank=local,
            local_world_size=_int(env, "LOCAL_WORLD_SIZE"),
            node_rank=_int(env, "GROUP_RANK"),
            master_addr=addr,
            master_port=port,
            agent_store=env.get("TORCHELASTIC_USE_AGENT_STORE", "").lower() == "true",
            run_id=env.get("TORCHELASTIC_RUN_ID") or "{}:{}".format(addr, port),
        )
    elif env.get("SLURM_PROCID") is not None:
        rank = _int(env, "SLURM_PROCID")
        world = _int(env, "SLURM_NTASKS", _int(env, "SLURM_NPROCS"))
        if world is None:
            raise InputError("SLURM_PROCID is set but SLURM_NTASKS is not: run under srun")
        node_id = _int(env, "SLURM_NODEID")
        job = env.get("SLURM_JOB_ID") or env.get("SLURM_JOBID") or ""
        addr = env.get("MASTER_ADDR")
        if not addr:
            nodelist = (
                env.get("SLURM_STEP_NODELIST") or env.get("SLURM_JOB_NODELIST")
                or env.get("SLURM_NODELIST")
            )
            if not nodelist:
                raise InputError(
                    "under Slurm without MASTER_ADDR: no SLURM_STEP_NODELIST, SLURM_JOB_NODELIST "
                    "or SLURM_NODELIST to find rank 0's host"
                )
            try:
                addr = first_host(nodelist)
            except InvalidHostlist as exc:
                raise InputError(str(exc)) from None
        port = _int(env, "MASTER_PORT")
        if port is None:
            port = 20000 + int(job) % 20000 if job.isdigit() else DEFAULT_PORT
        launch = Launch(
            launcher="slurm",
            rank=rank,
            world_size=world,
            local_rank=_int(env, "SLURM_LOCALID", 0),
            local_world_size=_tasks_per_node(env, node_id),
            node_rank=node_id,
            master_addr=addr,
            master_port=port,
            agent_store=False,
            run_id="slurm-{}.{}".format(job or "?", env.get("SLURM_STEP_ID", "0")),
        )
    else:
        raise InputError(
            "--distributed needs a launcher: run it under torchrun (RANK, WORLD_SIZE) or srun "
            "(SLURM_PROCID, SLURM_NTASKS)",
            hint="torchrun --nproc-per-node 8 -m envcheck preflight --distributed",
        )
    if launch.world_size < 1 or not 0 <= launch.rank < launch.world_size:
        raise InputError("rank {} does not fit world size {}".format(launch.rank, launch.world_size))
    if not 0 < launch.master_port < 65536:
        raise InputError("MASTER_PORT {} is not a port".format(launch.master_port))
    return launch
