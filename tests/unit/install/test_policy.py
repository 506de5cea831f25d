"""The install policy over described machines: each expected answer worked out by hand.

The policy (README, "Which build: the driver policy"):
1. The release: the newest that has a build running on the target (fully or in minor-version
   compatibility mode), or the newest matching ``--torch``.
2. Within it, the newest build the driver fully supports (NVIDIA's Table 3: the driver the
   toolkit shipped with). Only when none is, the compatibility-mode build (Table 2) closest to
   the driver's own CUDA, with the newest fully supported release as the alternative.
3. A GPU the build reaches only through PTX JIT cannot use it in compatibility mode.
4. Driver unknown, GPU known: the lowest CUDA with code for the GPU (the widest range of drivers).

The facts each row rests on (from NVIDIA's CUDA release notes and PyTorch's wheels):

* Table 3, Linux: 11.3 465.19.01, 11.8 520.61.05, 12.0 525.60.13, 12.1 530.30.02, 12.2
  535.54.03, 12.4 550.54.14, 12.6 560.28.03, 12.8 570.26, 12.9 575.51.03, 13.0 580.65.06,
  13.1 590.44.01, 13.2 595.45.04. Windows: 11.8 520.06, 12.1 531.14, 12.4 551.61, 12.6 560.76,
  12.8 570.65; 13.x by branch (R580, R590, R595; NVIDIA gives no Windows figure).
* Table 2: 11.1-11.8 on >= 450.80.02; 12.x on >= 525.60.13 (Windows 528.33); 13.x on >= 580.
* Builds and their GPU code (SASS): 2.12-2.14 cu126 sm_50-sm_90, cu130/cu132 sm_75-sm_120;
  2.11 cu126, cu128 (sm_75-sm_120), cu130; 2.9 cu126, cu128 (sm_70-sm_120), cu130; 2.8 cu126,
  cu128, cu129 (sm_70-sm_120); 2.7 cu118 (sm_37-sm_90), cu126, cu128 (sm_75-sm_120); 2.6 cu118,
  cu124, cu126; 2.5 and 2.4 cu118, cu121, cu124; 2.0 cu117, cu118; 1.12 cu102, cu113, cu116
  (sm_37-sm_86). SASS sm_XY runs on the same major with a minor >= Y (sm_60 on a 6.1 GPU,
  sm_86 on 8.9); sm_120 is the only code for a 12.0 GPU.
* Python: 2.9-2.14 3.10-3.14; 2.6-2.8 3.9-3.13; 2.5 3.9-3.12; 2.0 3.8-3.11; 1.12 3.7-3.10.
* Off the install selector (published on PyTorch's index, not offered on pytorch.org): cu129 of
  2.9.0 (Linux, Windows), 2.9.1, 2.10.0, 2.11.0, 2.12.1 and 2.13.0 (Linux); cu134 of 2.14.x (Linux).
  cu129 of 2.12.1/2.13.0 carries sm_75-sm_120; cu129 of 2.9-2.11 has no known GPU code, so it is
  never picked for a known GPU; cu134 sm_75-sm_120. 13.4's own driver is not in the data, so
  cu134 runs in compatibility mode at best (>= 580).
"""

from __future__ import annotations

import json

import pytest

from envcheck.install.choose import choose, target_from_options

FULL, COMPAT = "full", "compat"

# (id, options, (torch, build, driver status), alternative (torch, build) or None, reasoning)
ROWS = [
    # ---- Linux, the newest release ----------------------------------------------------------
    ("595-hopper", dict(driver="595.45.04", ccs=("9.0",), python="3.12"), ("2.15.0", "cu132", FULL), None,
     "the newest release (its Pythons, default build and partners settled by the package index) and its newest build"),
    ("595-ada", dict(driver="595.45.04", ccs=("8.9",), python="3.12"), ("2.15.0", "cu132", FULL), None,
     "595.45.04 is 13.2's own driver: the newest build, cu132, runs fully"),
    ("590-ada", dict(driver="590.44.01", ccs=("8.9",), python="3.12"), ("2.15.0", "cu130", FULL), None,
     "cu132 needs 595.45.04 (compat on 590); cu130 needs 580.65.06: full"),
    ("580-ada", dict(driver="580.65.06", ccs=("8.9",), python="3.12"), ("2.15.0", "cu130", FULL), None,
     "580.65.06 is 13.0's own driver; cu132 would be compat, cu130 is full"),
    ("580-blackwell-3.13", dict(driver="580.65.06", ccs=("12.0",), python="3.13"), ("2.15.0", "cu130", FULL), None,
     "cu130 carries sm_120 and is fully supported by 580.65.06"),
    ("575-ada", dict(driver="575.57.08", ccs=("8.9",), python="3.12"), ("2.15.0", "cu126", FULL), None,
     "13.x needs >= 580 even in compat mode; cu126 needs 560.28.03: full"),
    ("575-blackwell", dict(driver="575.57.08", ccs=("12.0",), python="3.12"), ("2.13.0", "cu129", FULL), None,
     "2.14: cu126 has no sm_120, cu13x need 580; 2.13.0's off-selector cu129 carries sm_120 and "
     "575.51.03 (12.9's own driver) <= 575.57.08: full"),
    ("570-blackwell", dict(driver="570.124.06", ccs=("12.0",), python="3.12"), ("2.13.0", "cu129", COMPAT), ("2.11.0", "cu128"),
     "2.13.0+cu129 is the newest build with sm_120 that 570.124.06 runs: compat (12.9 wants 575.51.03, "
     "12.x floor 525.60.13); 2.12.1 cu129 compat too; 2.11 cu129 has no known GPU code, its cu128 "
     "(570.26) is full: the alternative"),
    ("570-ampere", dict(driver="570.124.06", ccs=("8.6",), python="3.12"), ("2.15.0", "cu126", FULL), None,
     "cu126 (560.28.03) full; cu13x need 580"),
    ("560-ampere", dict(driver="560.35.03", ccs=("8.6",), python="3.11"), ("2.15.0", "cu126", FULL), None,
     "560.35.03 >= 560.28.03: cu126 full"),
    ("560-blackwell", dict(driver="560.35.03", ccs=("12.0",), python="3.12"), ("2.13.0", "cu129", COMPAT), None,
     "sm_120 needs cu128 or later; 2.13.0's off-selector cu129 is the newest 12.x build with it, compat on "
     "560 (12.x >= 525.60.13); no release has a fully supported build with sm_120 code for this driver"),
    ("550-ada", dict(driver="550.54.14", ccs=("8.9",), python="3.12"), ("2.15.0", "cu126", COMPAT), ("2.7.1", "cu118"),
     "cu126 needs 560.28.03: compat; 12.4 is full, and the newest release with a build <= 12.4 is 2.7.1 (cu118)"),
    ("550-ada-3.14", dict(driver="550.54.14", ccs=("8.9",), python="3.14"), ("2.15.0", "cu126", COMPAT), None,
     "releases with Python 3.14 (2.9 on) start at cu126: none is fully supported by 550"),
    ("535-ada", dict(driver="535.104.05", ccs=("8.9",), python="3.12"), ("2.15.0", "cu126", COMPAT), ("2.7.1", "cu118"),
     "12.2 driver: cu126 compat; cu118 (520.61.05) full, newest in 2.7.1"),
    ("535-hopper", dict(driver="535.104.05", ccs=("9.0",), python="3.12"), ("2.15.0", "cu126", COMPAT), ("2.7.1", "cu118"),
     "cu126 and cu118 both carry sm_90"),
    ("525-ampere-3.10", dict(driver="525.60.13", ccs=("8.6",), python="3.10"), ("2.14.1", "cu126", COMPAT), ("2.7.1", "cu118"),
     "525.60.13 is 12.0's own driver and Table 2's 12.x floor: cu126 compat, cu118 full; 2.15.0 requires Python >= 3.11"),
    ("470-ampere-3.10", dict(driver="470.82.01", ccs=("8.6",), python="3.10"), ("2.7.1", "cu118", COMPAT), ("1.12.1", "cu113"),
     "11.4 driver: 12.x needs 525.60.13; cu118 runs in 11.x compat (>= 450.80.02), newest in 2.7.1; "
     "full needs CUDA <= 11.4: 1.12.1 cu113 (465.19.01), Python 3.10 allowed, sm_86 present"),
    ("470-ampere-3.12", dict(driver="470.82.01", ccs=("8.6",), python="3.12"), ("2.7.1", "cu118", COMPAT), None,
     "no release with CUDA <= 11.4 has Python 3.12 wheels"),
    ("470-pascal-3.9", dict(driver="470.82.01", ccs=("6.1",), python="3.9"), ("2.7.1", "cu118", COMPAT), ("1.12.1", "cu113"),
     "cu118 carries sm_60 (runs on 6.1); 1.12.1 cu113 too, and has Python 3.9"),
    ("580-pascal", dict(driver="580.65.06", ccs=("6.1",), python="3.12"), ("2.15.0", "cu126", FULL), None,
     "cu13x start at sm_75; cu126 carries sm_60"),
    ("580-volta", dict(driver="580.65.06", ccs=("7.0",), python="3.12"), ("2.15.0", "cu126", FULL), None,
     "cu13x dropped sm_70; cu126 keeps it"),
    ("580-maxwell", dict(driver="580.65.06", ccs=("5.0",), python="3.12"), ("2.15.0", "cu126", FULL), None,
     "cu126 carries sm_50"),
    ("580-turing", dict(driver="580.65.06", ccs=("7.5",), python="3.12"), ("2.15.0", "cu130", FULL), None,
     "cu130 starts at sm_75"),
    ("580-b200", dict(driver="580.65.06", ccs=("10.0",), python="3.12"), ("2.15.0", "cu130", FULL), None,
     "cu130 carries sm_100"),
    ("595-b200-3.13", dict(driver="595.45.04", ccs=("10.0",), python="3.13"), ("2.15.0", "cu132", FULL), None,
     "cu132 fully supported, carries sm_100"),
    ("590-blackwell-3.14", dict(driver="590.44.01", ccs=("12.0",), python="3.14"), ("2.15.0", "cu130", FULL), None,
     "cu132 compat on 590; cu130 full with sm_120"),
    ("525-blackwell", dict(driver="525.60.13", ccs=("12.0",), python="3.12"), ("2.13.0", "cu129", COMPAT), None,
     "sm_120 only in cu128+; 2.13.0+cu129 (off the selector) runs on the 12.x floor in compat; nothing with "
     "sm_120 is full here"),
    ("535-pascal-3.9", dict(driver="535.104.05", ccs=("6.1",), python="3.9"), ("2.8.0", "cu126", COMPAT), ("2.7.1", "cu118"),
     "2.8 is the last release with Python 3.9; its cu128/cu129 lack sm_6x, cu126 is compat on 12.2; "
     "2.7.1 cu118 is full"),
    ("570-volta-3.11", dict(driver="570.124.06", ccs=("7.0",), python="3.11"), ("2.15.0", "cu126", FULL), None,
     "cu126 carries sm_70; 560.28.03 <= 570.124.06"),
    ("560-volta-3.11", dict(driver="560.35.03", ccs=("7.0",), python="3.11"), ("2.15.0", "cu126", FULL), None,
     "cu126 full"),
    ("550-maxwell", dict(driver="550.54.14", ccs=("5.0",), python="3.11"), ("2.15.0", "cu126", COMPAT), ("2.7.1", "cu118"),
     "cu126 compat on 12.4; cu118 carries sm_50 and is full"),
    ("580-ampere-3.9", dict(driver="580.65.06", ccs=("8.6",), python="3.9"), ("2.8.0", "cu129", FULL), None,
     "2.8 for Python 3.9; its cu129 needs 575.51.03: full"),
    ("525-turing-3.13", dict(driver="525.60.13", ccs=("7.5",), python="3.13"), ("2.15.0", "cu126", COMPAT), ("2.7.1", "cu118"),
     "2.7.1 has Python 3.13 and cu118, full on 525.60.13"),
    ("470-turing-3.13", dict(driver="470.82.01", ccs=("7.5",), python="3.13"), ("2.7.1", "cu118", COMPAT), None,
     "nothing with CUDA <= 11.4 has Python 3.13"),
    # ---- Linux, --torch -------------------------------------------------------------------
    ("580-ada-2.13", dict(driver="580.65.06", ccs=("8.9",), python="3.12", torch="2.13.0"), ("2.13.0", "cu130", FULL), None,
     "cu132 compat, cu130 full"),
    ("580-ada-2.11", dict(driver="580.65.06", ccs=("8.9",), python="3.12", torch="2.11"), ("2.11.0", "cu130", FULL), None,
     "2.11's newest build cu130 is full on 580.65.06"),
    ("575-ada-2.11", dict(driver="575.57.08", ccs=("8.9",), python="3.12", torch="2.11"), ("2.11.0", "cu128", FULL), None,
     "cu130 needs 580; cu128 (570.26) full"),
    ("570-ada-2.9", dict(driver="570.124.06", ccs=("8.9",), python="3.12", torch="2.9"), ("2.9.1", "cu128", FULL), None,
     "cu130 needs 580; cu128 full"),
    ("560-ada-2.8", dict(driver="560.35.03", ccs=("8.9",), python="3.12", torch="2.8.0"), ("2.8.0", "cu126", FULL), None,
     "cu129 (575.51.03) and cu128 (570.26) are compat on 560; cu126 is full"),
    ("550-ada-2.6", dict(driver="550.54.14", ccs=("8.9",), python="3.12", torch="2.6.0"), ("2.6.0", "cu124", FULL), None,
     "cu126 compat on 550; cu124 needs 550.54.14: full"),
    ("535-ada-2.5", dict(driver="535.104.05", ccs=("8.9",), python="3.11", torch="2.5.1"), ("2.5.1", "cu121", FULL), None,
     "cu124 compat on 12.2; cu121 (530.30.02) full"),
    ("535-ada-2.13", dict(driver="535.104.05", ccs=("8.9",), python="3.12", torch="2.13.0"), ("2.13.0", "cu126", COMPAT), ("2.7.1", "cu118"),
     "2.13's only 12.x build is cu126, compat on 12.2; the fully supported alternative is 2.7.1 cu118"),
    ("525-ampere-2.4", dict(driver="525.60.13", ccs=("8.6",), python="3.11", torch="2.4.1"), ("2.4.1", "cu118", FULL), None,
     "cu124, cu121 compat on 12.0; cu118 full"),
    ("470-ampere-1.12", dict(driver="470.82.01", ccs=("8.6",), python="3.10", torch="1.12.1"), ("1.12.1", "cu113", FULL), None,
     "cu116 needs 510.39.01 (compat); cu113 needs 465.19.01: full"),
    ("470-ampere-2.0", dict(driver="470.82.01", ccs=("8.6",), python="3.10", torch="2.0.1"), ("2.0.1", "cu117", COMPAT), ("1.12.1", "cu113"),
     "cu117 and cu118 both compat on 11.4: cu117 is closer to the driver's own CUDA"),
    ("595-blackwell-2.7", dict(driver="595.45.04", ccs=("12.0",), python="3.12", torch="2.7.1"), ("2.7.1", "cu128", FULL), None,
     "only cu128 carries sm_120 in 2.7"),
    ("595-pascal-2.7", dict(driver="595.45.04", ccs=("6.1",), python="3.12", torch="2.7.1"), ("2.7.1", "cu126", FULL), None,
     "cu128 lacks sm_6x; cu126 is the newest with sm_60"),
    ("560-blackwell-2.7", dict(driver="560.35.03", ccs=("12.0",), python="3.12", torch="2.7.1"), ("2.7.1", "cu128", COMPAT), None,
     "cu128 needs 570.26, compat on 560; no sm_120 build is full here"),
    ("590-ada-2.12", dict(driver="590.44.01", ccs=("8.9",), python="3.12", torch="2.12.0"), ("2.12.0", "cu130", FULL), None,
     "cu132 compat on 590, cu130 full"),
    ("575-hopper-2.8", dict(driver="575.57.08", ccs=("9.0",), python="3.12", torch="2.8.0"), ("2.8.0", "cu129", FULL), None,
     "575.57.08 >= 575.51.03: cu129 full"),
    ("570-hopper-2.8", dict(driver="570.124.06", ccs=("9.0",), python="3.12", torch="2.8.0"), ("2.8.0", "cu128", FULL), None,
     "cu129 compat on 570; cu128 full"),
    ("595-hopper-2.14-3.14", dict(driver="595.45.04", ccs=("9.0",), python="3.14", torch="2.14"), ("2.14.1", "cu132", FULL), None,
     "cu132 full"),
    # ---- --strict-driver ------------------------------------------------------------------
    ("535-ada-strict", dict(driver="535.104.05", ccs=("8.9",), python="3.12", strict_driver=True), ("2.7.1", "cu118", FULL), None,
     "fully supported builds only: the newest release with one is 2.7.1 (cu118)"),
    ("580-blackwell-strict", dict(driver="580.65.06", ccs=("12.0",), python="3.12", strict_driver=True), ("2.15.0", "cu130", FULL), None,
     "cu130 is full anyway"),
    # ---- driver unknown, GPU known ------------------------------------------------------
    ("nodriver-ada", dict(ccs=("8.9",), python="3.12"), ("2.15.0", "cu126", None), None,
     "the lowest CUDA with sm_86-compatible code: cu126, run by any 12.x driver >= 525.60.13"),
    ("nodriver-blackwell", dict(ccs=("12.0",), python="3.12"), ("2.15.0", "cu130", None), None,
     "cu126 has no sm_120: cu130, needs >= 580"),
    ("nodriver-pascal", dict(ccs=("6.1",), python="3.12"), ("2.15.0", "cu126", None), None,
     "only cu126 carries sm_60"),
    ("nodriver-ampere-2.7", dict(ccs=("8.6",), python="3.11", torch="2.7.1"), ("2.7.1", "cu118", None), None,
     "cu118 is 2.7's lowest CUDA with sm_86: the widest driver range (>= 450.80.02)"),
    # ---- Windows ----------------------------------------------------------------------------
    ("win-581-ada", dict(os_name="windows", driver="581.15", ccs=("8.9",), python="3.12"), ("2.15.0", "cu130", FULL), None,
     "R580 branch: 13.0 full; 13.2 is the R595 branch's: compat"),
    ("win-572-ada", dict(os_name="windows", driver="572.61", ccs=("8.9",), python="3.12"), ("2.15.0", "cu126", FULL), None,
     "13.x needs R580; cu126 needs 560.76: full"),
    ("win-552-ada", dict(os_name="windows", driver="552.22", ccs=("8.9",), python="3.12"), ("2.15.0", "cu126", COMPAT), ("2.7.1", "cu118"),
     "cu126 needs 560.76: compat on 552.22 (>= 528.33); cu118 (520.06) full, newest in 2.7.1"),
    ("win-537-ampere-2.5", dict(os_name="windows", driver="537.13", ccs=("8.6",), python="3.11", torch="2.5.1"), ("2.5.1", "cu121", FULL), None,
     "cu124 needs 551.61 (compat); cu121 needs 531.14: full"),
    ("win-528-ampere-2.5", dict(os_name="windows", driver="528.33", ccs=("8.6",), python="3.11", torch="2.5.1"), ("2.5.1", "cu118", FULL), None,
     "528.33 is below 12.1's 531.14: cu121/cu124 compat; cu118 (520.06) full"),
    ("win-596-blackwell-3.13", dict(os_name="windows", driver="596.36", ccs=("12.0",), python="3.13"), ("2.15.0", "cu132", FULL), None,
     "R595 branch fully supports 13.2"),
    ("win-576-blackwell", dict(os_name="windows", driver="576.57", ccs=("12.0",), python="3.12"), ("2.11.0", "cu128", FULL), None,
     "13.x needs R580; 2.11 cu128 (570.65 on Windows) carries sm_120"),
    ("win-561-pascal", dict(os_name="windows", driver="561.17", ccs=("6.1",), python="3.12"), ("2.15.0", "cu126", FULL), None,
     "cu126 carries sm_60 on Windows too; 561.17 >= 560.76"),
    # ---- Builds off the install selector, one row (or more) each -------------------------------
    ("575-blackwell-2.12", dict(driver="575.57.08", ccs=("12.0",), python="3.12", torch="2.12"), ("2.12.1", "cu129", FULL), None,
     "2.12.1's off-selector cu129 carries sm_120 and 575.57.08 >= 575.51.03; cu126 lacks sm_120, cu13x need 580"),
    ("575-blackwell-2.12.0", dict(driver="575.57.08", ccs=("12.0",), python="3.12", torch="2.12.0"), ("2.12.0", "cpu", None), None,
     "2.12.0 has no cu129 build (only 2.12.1 got one): cu126 lacks sm_120, cu13x need 580, so nothing runs"),
    ("turing-575-2.13", dict(driver="575.57.08", ccs=("7.5",), python="3.12", torch="2.13.0"), ("2.13.0", "cu129", FULL), None,
     "575.57.08 fully supports 12.9 but not 13.x: cu129 (sm_75 present) is newer than cu126, both full"),
    ("575-2.9.0", dict(driver="575.57.08", python="3.12", torch="2.9.0"), ("2.9.0", "cu129", FULL), None,
     "no GPU given: 2.9.0's off-selector cu129 is the newest build 575.57.08 fully supports (cu130 needs 580)"),
    ("575-ada-2.9.0", dict(driver="575.57.08", ccs=("8.9",), python="3.12", torch="2.9.0"), ("2.9.0", "cu128", FULL), None,
     "GPU given: 2.9's cu129 has no known GPU code, so cu128 (sm_86 runs on 8.9), full on 575.57.08"),
    ("win-576-2.9.0", dict(os_name="windows", driver="576.02", python="3.12", torch="2.9.0"), ("2.9.0", "cu129", FULL), None,
     "2.9.0's cu129 has Windows wheels too; 576.02 is 12.9's own Windows driver"),
    ("win-576-2.9.1", dict(os_name="windows", driver="576.02", python="3.12", torch="2.9.1"), ("2.9.1", "cu128", FULL), None,
     "from 2.9.1 on cu129 is Linux only: on Windows the newest full build is cu128 (570.65)"),
    ("575-2.10", dict(driver="575.57.08", python="3.12", torch="2.10"), ("2.10.0", "cu129", FULL), None,
     "2.10.0's off-selector cu129, full on 575.57.08; cu130 needs 580"),
    ("575-2.11", dict(driver="575.57.08", python="3.12", torch="2.11"), ("2.11.0", "cu129", FULL), None,
     "2.11.0's off-selector cu129, full on 575.57.08; cu130 needs 580"),
    ("win-572-blackwell-2.13", dict(os_name="windows", driver="572.61", ccs=("12.0",), python="3.12", torch="2.13.0"),
     ("2.13.0", "cpu", None), None,
     "2.13.0's cu129 is Linux only; on Windows cu126 lacks sm_120 and cu13x need R580: nothing runs"),
    ("595-hopper-2.14-cu134", dict(driver="595.45.04", ccs=("9.0",), python="3.12", torch="2.14.1"), ("2.14.1", "cu132", FULL), None,
     "cu134 (off the selector) runs only in compatibility mode: 13.4's own driver is not in the data; cu132 is full"),
    ("580-blackwell-2.14-cu134", dict(driver="580.65.06", ccs=("12.0",), python="3.12", torch="2.14.1"), ("2.14.1", "cu130", FULL), None,
     "580.65.06 is 13.0's own driver; cu132 and the off-selector cu134 would be compat"),
]


def _choose(matrix, opts):
    opts = dict(opts)
    opts.setdefault("os_name", "linux")
    return choose(matrix, target_from_options(**opts))


@pytest.mark.parametrize("opts, expected, alternative, why", [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_policy_table(matrix, opts, expected, alternative, why):
    c = _choose(matrix, opts)
    assert (c.release.torch, c.variant.label, c.driver_status) == expected, why
    alt = (c.alternative.release.torch, c.alternative.variant.label) if c.alternative else None
    assert alt == alternative, why
    if c.driver_status == COMPAT:
        assert "the provided PTX was compiled with an unsupported toolchain" in c.warnings[0]
        assert c.alternative is not None or any(w.startswith("no alternative:") for w in c.warnings)
    if c.driver_status == FULL:
        assert not any("compatibility mode" in w for w in c.warnings)
    if "driver" not in opts:
        assert any("needs NVIDIA driver >=" in r and "nvidia-smi" in r for r in c.reasons)


def test_the_table_covers_what_the_issue_asks():
    assert len(ROWS) >= 60
    drivers = {r[1]["driver"].split(".")[0] for r in ROWS if "driver" in r[1]}
    assert {"470", "525", "535", "550", "560", "570", "575", "580", "590", "595"} <= drivers
    ccs = {cc for r in ROWS for cc in r[1].get("ccs", ())}
    assert {"5.0", "6.1", "7.0", "7.5", "8.6", "8.9", "9.0", "10.0", "12.0"} <= ccs
    assert {"3.9", "3.10", "3.11", "3.12", "3.13", "3.14"} <= {r[1]["python"] for r in ROWS}
    assert {"linux", "windows"} <= {r[1].get("os_name", "linux") for r in ROWS}
    assert any("torch" in r[1] for r in ROWS) and any("torch" not in r[1] for r in ROWS)
    assert len({r[0] for r in ROWS}) == len(ROWS)


def test_a_ptx_only_gpu_never_gets_a_compat_build(matrix, monkeypatch):
    """A GPU that a wheel reaches only through PTX cannot run it in compatibility mode: the
    driver cannot JIT PTX from a newer toolkit. 2.7.1 cu128 carries compute_120 PTX; give it no
    sm_120 SASS and a 12.0 GPU reaches it only through that PTX."""
    from envcheck.matrix import archs

    real = archs.WheelArchs.runs_on

    def ptx_only(self, cc):
        verdict = real(self, cc)
        if verdict is not None and str(cc) == "12.0" and verdict.runs:
            return archs.ArchVerdict(True, "ptx compute_120 (JIT on first use)", "PTX only")
        return verdict

    monkeypatch.setattr(archs.WheelArchs, "runs_on", ptx_only)
    compat = _choose(matrix, dict(driver="560.35.03", ccs=("12.0",), python="3.12", torch="2.7.1"))
    assert compat.fallback and compat.variant.label == "cpu"
    assert any("PTX JIT" in r.reason and "compatibility mode" in r.reason for r in compat.rejected)
    asked = _choose(matrix, dict(driver="560.35.03", ccs=("12.0",), python="3.12", torch="2.7.1", cuda="12.8"))
    assert asked.will_not_run
    full = _choose(matrix, dict(driver="570.124.06", ccs=("12.0",), python="3.12", torch="2.7.1"))
    assert (full.variant.label, full.driver_status) == ("cu128", FULL)  # full support JITs it


def test_bare_branch_number_is_the_branch(matrix):
    c = _choose(matrix, dict(driver="580", ccs=("8.9",), python="3.12"))
    assert (c.variant.label, c.driver_status) == ("cu130", FULL)


def test_install_command_json_says_full_or_compat_and_the_alternative(cli):
    r = cli("install-command", "--driver", "535.104.05", "--cc", "8.9", "--python", "3.12", "--os", "linux", "--json")
    choice = json.loads(r.stdout)["data"]["choice"]
    assert choice["driver_status"] == "compat" and choice["variant"] == "cu126"
    alt = choice["alternative"]
    assert (alt["torch"], alt["variant"], alt["driver_status"]) == ("2.7.1", "cu118", "full")
    assert alt["command"].endswith("/whl/cu118") and "torch==2.7.1" in alt["command"]
    full = json.loads(cli("install-command", "--driver", "580.65.06", "--cc", "8.9", "--python", "3.12",
                          "--os", "linux", "--json").stdout)["data"]["choice"]
    assert (full["variant"], full["driver_status"], full["alternative"]) == ("cu130", "full", None)


def test_quiet_still_says_compat_and_the_alternative(cli):
    r = cli("install-command", "--driver", "535.104.05", "--cc", "8.9", "--python", "3.12", "--os", "linux", "-q")
    assert r.returncode == 0 and r.stdout.strip().endswith("/whl/cu126")
    assert "unsupported toolchain" in r.stderr
    assert "alternative, fully supported: pip install torch==2.7.1" in r.stderr


def test_requirements_check_names_the_fully_supported_build(cli, tmp_path):
    req = tmp_path / "requirements.txt"
    req.write_text("--index-url https://download.pytorch.org/whl/cu132\ntorch==2.14.1+cu132\ntorchvision==0.29.1+cu132\n")
    r = cli("requirements", "--check", str(req), "--driver", "580.65.06", "--cc", "8.9", "--python", "3.12", "--os", "linux")
    assert r.returncode == 0, r.stderr  # it runs: a note, not a problem
    assert "unsupported toolchain" in r.stdout
    assert "torch 2.14.1+cu130 is fully supported by this driver" in r.stdout


def test_gpus_listed_without_a_driver_version_get_a_cuda_build(matrix):
    """NVML failed and nothing says the driver's version or the GPU's compute capability, but a
    GPU is listed: still an NVIDIA machine, so the build the widest range of drivers runs, not the
    CPU wheel."""
    import dataclasses

    from envcheck.facts import load_facts
    from envcheck.facts.machine import Machine
    from envcheck.install.target import from_machine

    from helpers.facts import snapshot_path

    facts = load_facts(snapshot_path("laptop-rtx3060-cpu-torch"))
    gpus = tuple(dataclasses.replace(g, compute_capability=None) for g in facts.driver.gpus)
    driver = dataclasses.replace(facts.driver, version=None, cuda_max=None, status="failed", error_code="unknown",
                                 gpus=gpus)
    machine = Machine.from_facts(dataclasses.replace(facts, driver=driver))
    target = from_machine(machine, source="facts").with_flags(python="3.12", os_name="linux")
    assert target.nvidia_present and not target.gpus and target.driver is None
    assert any("listed, but the driver's version could not be read" in d for d in target.detected)
    c = choose(matrix, target)
    assert (c.release.torch, c.variant.label, c.fallback) == ("2.15.0", "cu126", False)
    assert any("needs NVIDIA driver >= 525.60.13" in r for r in c.reasons)


def test_the_alternative_speaks_the_package_manager_asked_for(cli):
    r = cli("install-command", "--driver", "535.104.05", "--cc", "8.9", "--python", "3.12", "--os", "linux",
            "--manager", "uv", "--json")
    alt = json.loads(r.stdout)["data"]["choice"]["alternative"]
    assert alt["command"] == "uv pip install torch==2.7.1 torchvision==0.22.1 torchaudio==2.7.1 --torch-backend=cu118"


# ---- Builds off the install selector, through the CLI (the cases a user reported) -------------

RTX50_570 = ("--cc", "12.0", "--driver", "570.124.06", "--python", "3.12", "--os", "linux")


def test_rtx50_on_570_pinned_to_2_13_gets_its_cu129_build(cli):
    """Reported: the CPU wheel ("no GPU build fits"), although 2.13.0+cu129 runs there."""
    r = cli("install-command", *RTX50_570, "--torch", "2.13.0", "-q")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "pip install torch==2.13.0 torchvision==0.28.0 --index-url https://download.pytorch.org/whl/cu129"
    assert "NO GPU BUILD FITS" not in r.stderr and "unsupported toolchain" in r.stderr  # compat mode, said
    assert "alternative, fully supported: pip install torch==2.11.0" in r.stderr
    explained = cli("install-command", *RTX50_570, "--torch", "2.13.0").stderr
    assert "choice: torch 2.13.0 (CUDA 12.9, cu129) [inferred data], not on the install selector" in explained


def test_rtx50_on_570_unpinned_is_not_sent_back_to_2_11(cli):
    """Reported: unpinned, sent back to 2.11.0+cu128. The newest release that runs is 2.13.0
    (cu129, compatibility mode); 2.11.0+cu128, fully supported, is the alternative."""
    data = json.loads(cli("install-command", *RTX50_570, "--json").stdout)["data"]
    choice = data["choice"]
    assert (choice["torch"], choice["variant"], choice["driver_status"]) == ("2.13.0", "cu129", "compat")
    assert choice["on_selector"] is False
    assert choice["off_selector"]["os"] == ["linux"] and "test-infra/pull/8215" in choice["off_selector"]["source"]
    alt = choice["alternative"]
    assert (alt["torch"], alt["variant"], alt["driver_status"], alt["on_selector"]) == ("2.11.0", "cu128", "full", True)
    assert any("not on the install selector" in reason for reason in choice["reasons"])


def test_cuda_12_9_for_2_13_is_a_build(cli):
    """Reported: `install-command --cuda 12.9 --torch 2.13.0` exited 2."""
    r = cli("install-command", "--cuda", "12.9", "--torch", "2.13.0", "--python", "3.12", "--os", "linux")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith("--index-url https://download.pytorch.org/whl/cu129")
    assert "not on the install selector" in r.stderr
    # The build exists for Linux only: on Windows it is refused with that reason, not "no such build".
    win = cli("install-command", "--cuda", "12.9", "--torch", "2.13.0", "--python", "3.12", "--os", "windows")
    assert win.returncode == 2 and "torch 2.13.0 has no cu129 build for windows" in win.stderr
    assert "its builds for windows: cpu, cu126, cu130, cu132; its cu129 wheels are for linux only" in win.stderr
    assert "cu129 builds for windows exist for torch 2.8.0 to 2.9.0" in win.stderr
    cu134 = cli("install-command", "--cuda", "13.4", "--os", "windows", "--python", "3.12")
    assert cu134.returncode == 2 and "cu134 wheels for linux only, not for windows" in cu134.stderr


@pytest.mark.parametrize("pin, os_name, ok, words", [
    ("2.13.0+cu129", "linux", True, "not on the install selector"),
    ("2.12.1+cu129", "linux", True, "not on the install selector"),
    ("2.9.0+cu129", "windows", True, "not on the install selector"),
    ("2.14.1+cu134", "linux", True, "not on the install selector"),
    ("2.12.0+cu129", "linux", False, "torch 2.12.0 has no cu129 build"),  # only 2.12.1 got one
    ("2.13.0+cu129", "windows", False, "published for linux only, not for windows"),
    ("2.9.1+cu129", "windows", False, "published for linux only, not for windows"),
    ("2.13.0+cu128", "linux", False, "torch 2.13.0 has no cu128 build"),
])
def test_requirements_check_accepts_every_published_pin(cli, tmp_path, pin, os_name, ok, words):
    """Reported: a valid torch==2.13.0+cu129 pin called a build that does not exist."""
    label = pin.split("+")[1]
    req = tmp_path / "requirements.txt"
    req.write_text(f"--index-url https://download.pytorch.org/whl/{label}\ntorch=={pin}\n")
    r = cli("requirements", "--check", str(req), "--os", os_name, "--python", "3.12")
    assert (r.returncode == 0) == ok, r.stdout + r.stderr
    assert words in r.stdout
    assert ("no-such-build" in r.stdout) == (not ok)


def test_requirements_for_the_rtx50_on_570_pins_cu129(cli):
    r = cli("requirements", *RTX50_570, "-q")
    assert r.returncode == 0, r.stderr
    assert "torch==2.13.0+cu129" in r.stdout and "--index-url https://download.pytorch.org/whl/cu129" in r.stdout
    assert "# torch 2.13.0+cu129 is not on the install selector" in r.stdout


def test_matrix_lists_the_releases_with_an_off_selector_build(cli):
    r = cli("matrix", "--cuda", "12.9")
    assert r.returncode == 0, r.stderr
    assert "exist for 7 releases (6 of them off the install selector)" in r.stdout
    for torch in ("2.8.0", "2.9.0", "2.9.1", "2.10.0", "2.11.0", "2.12.1", "2.13.0"):
        assert any(line.startswith(torch + " ") for line in r.stdout.splitlines()), torch
    assert not any(line.startswith("2.12.0 ") for line in r.stdout.splitlines())
    assert "cu129*" in r.stdout and "* not on the install selector" in r.stdout
    rows = json.loads(cli("matrix", "--cuda", "12.9", "--json").stdout)["data"]["releases"]
    off = {row["torch"]: row["off_selector"] for row in rows}
    assert off["2.8.0"] == ["rocm6.3"] and off["2.13.0"] == ["cu129"]  # 2.8.0 offered its cu129
    detail = json.loads(cli("matrix", "--torch", "2.13.0", "--json").stdout)["data"]["releases"][0]
    cu129 = next(v for v in detail["pip"]["variants"] if v["variant"] == "cu129")
    assert cu129["on_selector"] is False and cu129["archs"]["sass"][-1] == "sm_120"
    gpu = cli("matrix", "--cc", "12.0", "--torch", "2.13.0").stdout
    assert "cu129*" in gpu


def _off_selector_rows():
    from unit.matrix.test_data import OFF_SELECTOR, ROCM_OFF_SELECTOR

    rows = [(torch, label, oses) for (torch, label), oses in OFF_SELECTOR.items()]
    rows += [(torch, label, ("linux",)) for torch, label in ROCM_OFF_SELECTOR.items()]
    return rows


@pytest.mark.parametrize("torch, label, oses", _off_selector_rows())
def test_every_off_selector_build_can_be_asked_for(matrix, torch, label, oses):
    """Asked for by name, every off-selector build is chosen where its wheels exist (and said to
    be off the selector), and refused where they do not."""
    from envcheck.errors import EnvcheckError

    kind = "rocm" if label.startswith("rocm") else "cuda"
    version = label[4:] if kind == "rocm" else f"{label[2:-1]}.{label[-1]}"
    for os_name in ("linux", "windows"):
        opts = dict(torch=torch, python="any", os_name=os_name, **{kind: version})
        if os_name in oses:
            c = choose(matrix, target_from_options(**opts))
            assert (c.release.torch, c.variant.label) == (torch, label)
            assert any("is not on the install selector" in r for r in c.reasons)
            assert c.to_dict()["on_selector"] is False
        else:
            with pytest.raises(EnvcheckError):
                choose(matrix, target_from_options(**opts))
