#!/usr/bin/env bash
# The GPU proof: every GPU path of envcheck, run once, its outputs and figures kept.
#
#   bash tests/gpu/prove.sh            # from the repository root; a GPU machine runs it all
#   bash tests/gpu/prove.sh --dry      # the CPU paths only; GPU steps say "skipped: no GPU"
#   OUT=/some/dir PROVE_BUDGET=450 bash tests/gpu/prove.sh
#   (PYTHON: the interpreter to use; PROVE_STEP_TIMEOUT: a cap on every step, in seconds)
#
# With no NVIDIA GPU (nvidia-smi -L lists none) it runs dry by itself. Each step has its own
# timeout and every step runs, whatever the one before did; the whole run stays within
# PROVE_BUDGET seconds (default 450, so under 8 minutes with the bundling). It writes three files
# under $OUT (default: a new temporary folder, named at the start):
#   summary.txt      each step's exit code, wall time and status, then the figures, in one
#                    fixed format (two runs compare line by line with diff)
#   summary.json     the same, structured
#   prove.tar.gz     every output: the summary, steps.tsv (with each exact command), and each
#                    step's stdout and stderr
# Turn a run into test fixtures: python tests/gpu/make_fixtures.py $OUT/prove.tar.gz
# Exit: 0 every step that ran ended 0 or 1 (1: it ran and reported problems); 1 a step crashed,
# timed out or could not run; 2 bad usage. See tests/gpu/README.md.
set -u

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
DRY=${PROVE_DRY:-0}
for arg in "$@"; do
  case $arg in
    --dry) DRY=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "prove.sh: unknown argument '$arg' (use --dry or --help)" >&2; exit 2 ;;
  esac
done

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 2
PY=${PYTHON:-$(command -v python3 || command -v python)}
if [ -z "$PY" ]; then echo "prove.sh: no python3 on PATH (set PYTHON)" >&2; exit 2; fi
for tool in timeout tar awk mktemp; do
  command -v "$tool" > /dev/null 2>&1 || { echo "prove.sh: needs '$tool' (coreutils/tar/awk) on PATH" >&2; exit 2; }
done
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
BUDGET=${PROVE_BUDGET:-450}
CAP=${PROVE_STEP_TIMEOUT:-0}  # when set: no step runs longer than this (seconds)
for v in "$BUDGET" "$CAP"; do
  case $v in ''|*[!0-9]*) echo "prove.sh: PROVE_BUDGET and PROVE_STEP_TIMEOUT are whole seconds, not '$v'" >&2; exit 2 ;; esac
done
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/envcheck-prove.XXXXXX")}
mkdir -p "$OUT" || exit 2
W=$(mktemp -d "${TMPDIR:-/tmp}/envcheck-prove-work.XXXXXX") || exit 2
echo "prove.sh: outputs go to $OUT (work folder $W)" >&2

now() { if [ -n "${EPOCHREALTIME:-}" ]; then echo "${EPOCHREALTIME/,/.}"; else date +%s.%N; fi; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
START=$(now)
left() { awk -v s="$START" -v n="$(now)" -v b="$BUDGET" 'BEGIN { printf "%d", b - (n - s) }'; }
printf 'step\trc\twall_s\tstatus\tcommand\n' > "$W/steps.tsv"

record() {  # name rc wall status command
  printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >> "$W/steps.tsv"
  printf 'prove.sh: %-22s %-16s %6ss  rc %s\n' "$1" "$4" "$3" "$2" >&2
}
skip() { record "$1" - - "skipped: $2" "-"; }

# step NAME MAX_SECONDS STDOUT_FILE CMD...: stdout to STDOUT_FILE, stderr to NAME.err
step() {
  local name=$1 max=$2 out=$3 t rc a b status
  shift 3
  t=$(left); t=$((t - 10))
  if [ "$t" -lt 5 ]; then skip "$name" "out of time (PROVE_BUDGET=$BUDGET s)"; return; fi
  [ "$t" -gt "$max" ] && t=$max
  [ "$CAP" -gt 0 ] && [ "$t" -gt "$CAP" ] && t=$CAP
  a=$(now)
  timeout -k 5 "$t" "$@" > "$W/$out" 2> "$W/$name.err" < /dev/null
  rc=$?
  b=$(now)
  case $rc in
    0) status=ok ;;
    1) status=problems ;;
    124|137) status="timed-out after $t s" ;;
    *) status=failed ;;
  esac
  record "$name" "$rc" "$(secs "$a" "$b")" "$status" "$(printf '%s' "$*" | tr '\t\n' '  ')"
}

# What the machine is: a GPU count from nvidia-smi, torch present or not (found, not imported).
GPUS=0
if command -v nvidia-smi > /dev/null 2>&1; then
  GPUS=$(timeout -k 2 20 nvidia-smi -L 2> /dev/null | grep -c '^GPU ' || true)
fi
REASON=""
if [ "$GPUS" = 0 ]; then DRY=1; REASON="no GPU"; elif [ "$DRY" = 1 ]; then REASON="dry run"; fi
HAVE_TORCH=0
timeout -k 2 30 "$PY" -c 'import importlib.util as u, sys; sys.exit(u.find_spec("torch") is None)' 2> /dev/null \
  && HAVE_TORCH=1
{
  echo "mode=$([ "$DRY" = 1 ] && echo dry || echo device)"
  echo "reason=$REASON"
  echo "gpus=$GPUS"
  echo "torch_found=$HAVE_TORCH"
  echo "budget_s=$BUDGET"
  echo "started=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "python=$(timeout -k 2 30 "$PY" -c 'import sys; print(sys.version.split()[0])' 2>&1)"
  echo "commit=$(git -C "$ROOT" rev-parse --short HEAD 2> /dev/null || echo unknown)"
  echo "uname=$(uname -srm)"
} > "$W/run.env"

needs_gpu() { if [ "$DRY" = 1 ]; then skip "$1" "${REASON}"; return 1; fi; }
needs_torch() { if [ "$HAVE_TORCH" = 0 ]; then skip "$1" "torch not installed"; return 1; fi; }
EC=("$PY" -m envcheck)

# 1. Recorded input for the NVML and report tests.
needs_gpu nvidia-smi && step nvidia-smi 20 nvidia-smi.txt nvidia-smi
needs_gpu nvidia-smi-q && step nvidia-smi-q 30 nvidia-smi-q.txt nvidia-smi -q
step nvml-record 60 nvml-record.out "$PY" tests/gpu/record_nvml.py "$W/nvml.json"
# Installed distributions from their metadata (pip itself may be absent on a lent machine).
step pip-freeze 30 pip-freeze.txt "$PY" -c 'import importlib.metadata as m; print("\n".join(sorted({"{}=={}".format(d.metadata["Name"], d.version) for d in m.distributions()}, key=str.lower)))'
step facts 60 facts.json "${EC[@]}" facts --json --no-redact
step diagnose 90 diagnose.json "${EC[@]}" diagnose --json

# 2. verify: performance first (the figures), then every check on every GPU (or the CPU).
needs_gpu verify-perf && needs_torch verify-perf && step verify-perf 180 verify-perf.json "${EC[@]}" verify --perf --json
needs_torch verify && step verify 180 verify.json "${EC[@]}" verify --json
needs_gpu verify-events && needs_torch verify-events \
  && step verify-events 120 verify-events.out "$PY" envcheck/children/__runner__.py verify_device --events "$W/verify-events-cuda0.jsonl" --device cuda:0 --perf

# 3. preflight: this node, then every GPU as a rank under torchrun (NCCL).
step preflight 150 preflight.json "${EC[@]}" preflight --json
if needs_torch preflight-distributed; then
  if [ "$DRY" = 1 ]; then  # the launch path on CPU ranks: 2 ranks over gloo
    step preflight-distributed 150 preflight-distributed.json "$PY" -m torch.distributed.run --standalone \
      --nproc-per-node 2 -m envcheck preflight --distributed --backend gloo --json -q
  else
    step preflight-distributed 150 preflight-distributed.json "$PY" -m torch.distributed.run --standalone \
      --nproc-per-node "$GPUS" -m envcheck preflight --distributed --json -q
  fi
fi

# 4. The GPU tests, with whatever time is left. Only the files that hold them are collected:
#    the others may need test extras (pyyaml, vermin) that a lent machine lacks.
GPU_TESTS=()
needs_gpu pytest-gpu && step pytest-gpu 240 pytest-gpu.txt "$PY" -m pytest -m gpu -q -p no:cacheprovider tests/gpu

# Summary and bundle: at most three files come back from a lent machine.
FAILED=0
awk -F'\t' 'NR > 1 && $4 != "ok" && $4 != "problems" && $4 !~ /^skipped/ { bad = 1 } END { exit bad ? 0 : 1 }' \
  "$W/steps.tsv" && FAILED=1
timeout -k 2 60 "$PY" tests/gpu/summarize.py "$W" "$(secs "$START" "$(now)")" > "$W/summarize.out" 2>&1 || FAILED=1
cp "$W/summary.txt" "$W/summary.json" "$OUT/" 2> /dev/null || FAILED=1
tar -czf "$OUT/prove.tar.gz" -C "$W" . || FAILED=1
cat "$W/summarize.out"
[ -f "$OUT/summary.txt" ] && cat "$OUT/summary.txt"
echo "prove.sh: wrote $OUT/summary.txt, $OUT/summary.json, $OUT/prove.tar.gz" >&2
rm -rf "$W"
exit "$FAILED"
