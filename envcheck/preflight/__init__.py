"""Preflight: is this node, or this cluster, ready for a PyTorch job?

A pipeline you can read from the module names:

==================  =========================================================================
module              what
==================  =========================================================================
``units``           sizes as written (80GB, 1GiB), parsed once
``config``          shipped profiles (``profiles.toml``) <- a TOML/JSON config <- flags
``checks``          facts + thresholds -> pass/warn/fail/not-run checks (pure)
``node``            one node: facts, diagnose, verify + perf, the checks, a :class:`NodeReport`
``render``          text lines
``launcher``        the rank's place, from torchrun's or Slurm's environment (pure)
``hostlist``        Slurm hostlist syntax, ``gpu[01-04,07],cpu5`` (pure)
``dist``            the rank process: torch.distributed, collectives, the gather, the watchdog
``cluster``         merging every rank's report into one cluster report (pure)
``compare``         facts snapshots of many nodes: majority against outliers (pure)
==================  =========================================================================

Importing this package imports nothing else.
"""

__all__: list = []
