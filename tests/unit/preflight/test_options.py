"""PreflightOptions.from_flags: preflight's cross-option rules, held without click."""

from __future__ import annotations

import sys

import pytest

from envcheck.errors import InputError
from envcheck.preflight.options import MIN_BUDGET, PreflightOptions


def test_flags_become_thresholds_with_their_source():
    opts = PreflightOptions.from_flags(profile="h100-sxm", min_gpus=4, min_free_disk=("/scratch=500GB",),
                                       no_perf=True, strict=True, budget=30.0)
    th = opts.thresholds
    assert th.profile == "h100-sxm" and th.min_gpus == 4 and th.source_of("min_gpus") == "flag"
    assert th.source_of("gpu_model") == "profile h100-sxm"
    assert th.perf is False and opts.strict and opts.budget == 30.0
    assert "/scratch" in th.to_dict()["min_free_disk"] and th.source_of("min_free_disk") == "flag"


def test_min_free_ram_given_turns_the_fraction_off():
    th = PreflightOptions.from_flags(min_free_ram="8GB").thresholds
    assert th.min_free_ram_fraction == 0.0


@pytest.mark.parametrize("flags, message", [
    (dict(budget=MIN_BUDGET - 1), "--budget 9: expected seconds >= 10"),
    (dict(budget=float("nan")), "--budget nan"),
    (dict(timeout_s=5.0), "--timeout applies only with --distributed"),
    (dict(backend="nccl", allreduce_sizes="1MiB"), "--backend, --allreduce-sizes apply only with --distributed"),
    (dict(min_free_disk=("500GB",)), "--min-free-disk '500GB': expected PATH=SIZE"),
    (dict(distributed=True, python=sys.executable), "--python does not apply with --distributed"),
    (dict(python="/nonexistent/python"), "--python '/nonexistent/python': not an executable file"),
])
def test_cross_option_rules_are_bad_input(flags, message):
    with pytest.raises(InputError) as exc:
        PreflightOptions.from_flags(**flags)
    assert message in exc.value.message
    assert exc.value.exit_code == 2  # a typo must not drain a node (exit 1 or 3 would)
