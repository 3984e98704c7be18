#!/usr/bin/env bash
# The precisions side by side on one network (default: the random-weight full WFLW model):
# exact fp32, fp32-fast (Winograd 3x3), bf16, float16 weights (a `starface convert
# --precision fp16` model file, FP32 compute), int8 (a `starface convert --precision int8`
# model file calibrated on the faces RetinaFace finds in the test video and images, run with
# --precision int8) and auto (`starface convert --precision auto` on the same faces, default
# drift budget: mean 0.5 / p99 2 crop px on held-out crops), each against ONNX Runtime in
# the same rounds, and each one's landmark drift from exact fp32 on the fixture inputs
# (cases/inputs/input_a.npy and input_b.npy, crop pixels = [-1,1] x 128).
#
#   bench/run_precision_bench.sh [--checkpoint PTH] [--variants "fp32 int8 auto"] [--rounds K]
#                                [--runs R] [--threads T] [--out DIR]
#
# --checkpoint: another STAR network, e.g. the trained STAR-300W
# (../shared/fixtures/star/trained/star_300w_trained_proxy.pth); its ONNX Runtime peer is
# written by `starface export-onnx` (which ORT runs exactly).
# Env: STARFACE_BIN, STARFACE_SHARED, STARFACE_BENCH_CACHE (as bench/run_benchmarks.sh, whose
# ONNX peer model of the random network this reuses: run that script once first).
# Needs: jq, /usr/bin/python3 with numpy (for the drift), node + npm (ONNX Runtime).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${STARFACE_SHARED:-$ROOT/../shared}"
STARFACE="${STARFACE_BIN:-$ROOT/build/starface}"
CACHE="${STARFACE_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/starface-bench}"
ONNX="$CACHE/star_wflw_full_random.onnx"
PTH="$SHARED/fixtures/star/models/star_wflw_full_random.pth"
INPUTS="$SHARED/fixtures/star/cases/inputs"
ROUNDS=3 RUNS=10 THREADS=2 OUT=""
CALIBRATE=("$SHARED/data" "$SHARED/data/images" --detector "$SHARED/models/retinaface_mobilenet0.25.pth")

die() { echo "run_precision_bench: $*" >&2; exit 1; }
source "$ROOT/bench/lib.sh"


check_tools() {
  command -v jq >/dev/null || die "jq not found (apt-get install jq)"
  [ -x "$STARFACE" ] || die "$STARFACE not found: build it first, or set STARFACE_BIN"
  [ -z "$ONNX" ] || [ -f "$ONNX" ] || die "$ONNX not found: run bench/run_benchmarks.sh once to export it"
}

# variant name -> "model precision"
declare -A MODEL PRECISION
setup_variants() {
  "$STARFACE" convert "$PTH" -o "$OUT/full_fp16.safetensors" --precision fp16 >/dev/null
  "$STARFACE" convert "$PTH" -o "$OUT/full_int8.safetensors" --precision int8 \
    --calibrate "${CALIBRATE[@]}" >"$OUT/int8_convert.txt"
  "$STARFACE" convert "$PTH" -o "$OUT/full_auto.safetensors" --precision auto \
    --calibrate "${CALIBRATE[@]}" >"$OUT/auto_convert.txt"
  MODEL[fp32]="$PTH" PRECISION[fp32]=fp32
  MODEL[fp32-fast]="$PTH" PRECISION[fp32-fast]=fp32-fast
  MODEL[bf16]="$PTH" PRECISION[bf16]=bf16
  MODEL[fp16]="$OUT/full_fp16.safetensors" PRECISION[fp16]=fp32
  MODEL[int8]="$OUT/full_int8.safetensors" PRECISION[int8]=int8
  MODEL[auto]="$OUT/full_auto.safetensors" PRECISION[auto]=model
}
VARIANTS=(fp32 fp32-fast bf16 fp16 int8 auto)

# --checkpoint PTH: bench that network, with an ONNX peer exported by starface.
parse_args() {
  while [ $# -gt 0 ]; do
    case "$1" in
      -h|--help) bench_usage ;;
      --checkpoint) PTH="${2:?--checkpoint needs a value}"; ONNX="" ;;
      --variants) read -r -a VARIANTS <<<"${2:?--variants needs a value}" ;;
      *) bench_flag "$1" "${2:-}" || die "unknown argument '$1' (see --help)" ;;
    esac
    shift 2
  done
  bench_check_counts "$ROUNDS" "$RUNS" "$THREADS"
}

bench_variant() {  # round variant
  "$STARFACE" bench --model "${MODEL[$2]}" --precision "${PRECISION[$2]}" --threads "$THREADS" \
    --runs "$RUNS" --warmup 2 --json | jq -c --arg v "$2" --argjson r "$1" '{variant: $v, round: $r} + .' \
    >>"$OUT/results.jsonl"
}

bench_ort() {  # round
  "$SHARED/bench/ort_peer.sh" "$ONNX" "$THREADS" "$RUNS" 1 | jq -c --argjson r "$1" '{variant: "ort", round: $r} + .' \
    >>"$OUT/results.jsonl"
}

infer() {  # variant input
  "$STARFACE" infer --model "${MODEL[$1]}" --precision "${PRECISION[$1]}" --threads "$THREADS" \
    --input "$INPUTS/$2.npy" --output "$OUT/${1}_$2.npy" >/dev/null
}

drift() {  # variant -> "mean max" in crop px over both inputs
  local v="$1" files=()
  for input in input_a input_b; do
    [ -f "$OUT/fp32_$input.npy" ] || infer fp32 "$input"
    infer "$v" "$input"
    files+=("$OUT/fp32_$input.npy" "$OUT/${v}_$input.npy")
  done
  /usr/bin/python3 - "${files[@]}" <<'PY'
import sys, numpy as np
d = [np.linalg.norm((np.load(b) - np.load(a)) * 128, axis=-1).ravel()
     for a, b in zip(sys.argv[1::2], sys.argv[2::2])]
d = np.concatenate(d)
print(f"{d.mean():.4f} {d.max():.4f}")
PY
}

main() {
  parse_args "$@"
  check_tools
  [ -n "$OUT" ] || OUT="$(mktemp -d -t starface-precision.XXXXXX)"
  mkdir -p "$OUT"
  if [ -z "$ONNX" ]; then
    ONNX="$OUT/peer.onnx"
    "$STARFACE" export-onnx "$PTH" -o "$ONNX" >/dev/null
  fi
  : >"$OUT/results.jsonl"
  setup_variants
  for r in $(seq "$ROUNDS"); do
    bench_ort "$r"
    for v in "${VARIANTS[@]}"; do bench_variant "$r" "$v"; done
  done
  declare -A DRIFT
  DRIFT[fp32]="0 0"
  for v in "${VARIANTS[@]}"; do [ "$v" = fp32 ] || DRIFT[$v]="$(drift "$v")"; done
  local ort
  ort=$(jq -s '[.[] | select(.variant == "ort") | .median_ms_per_face] | sort | .[length/2|floor]' "$OUT/results.jsonl")
  echo "$(basename "$PTH"): threads $THREADS, batch 1, $ROUNDS rounds x $RUNS runs; ONNX Runtime median of round medians: $ort ms/face"
  echo
  echo "| precision | ms/face (median of round medians) | round medians | vs ORT | drift vs fp32, mean / max crop px | backend |"
  echo "|---|---|---|---|---|---|"
  for v in "${VARIANTS[@]}"; do
    jq -rs --arg v "$v" --argjson ort "$ort" --arg drift "${DRIFT[$v]}" '
      [.[] | select(.variant == $v)] as $rows
      | ($rows | map(.median_ms_per_face) | sort) as $m
      | ($m | .[length/2|floor]) as $med
      | "| \($v) | \($med * 10 | round / 10) | \($m | map(. * 10 | round / 10) | join(", ")) | " +
        "\($med / $ort * 100 | round / 100) | \($drift | split(" ") | join(" / ")) | \($rows[0].backend_info) |"' \
      "$OUT/results.jsonl"
  done
  echo
  grep "^int8" "$OUT/int8_convert.txt" || true
  grep -v "^       stays" "$OUT/auto_convert.txt" || true
  echo "raw results in $OUT/results.jsonl" >&2
}

main "$@"
