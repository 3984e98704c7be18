#!/usr/bin/env bash
# starface against ONNX Runtime on a quiet machine and on a busy one, in the same run: the
# busy half starts a bounded, self-stopping CPU load (one spinning neighbour process per
# core), measures both while it runs, and stops it.
#
#   bench/run_busy_bench.sh [--rounds K] [--runs R] [--threads T] [--load N]
#                           [--variants "default spin300000 passive one-thread"] [--out DIR]
#
# Variants are starface's thread settings, all on the same binary and model:
#   default      what starface does when the user sets nothing
#   spin300000   GOMP_SPINCOUNT=300000: GNU OpenMP's own default (starface before 0.1.1)
#   spinN        GOMP_SPINCOUNT=N
#   active       OMP_WAIT_POLICY=active (spin without end)
#   passive      OMP_WAIT_POLICY=passive (sleep at once)
#   one-thread   --threads 1
# Each round measures, quiet then busy, every variant and ONNX Runtime (T threads, batch 1),
# alternating which goes first; the load is started only for the busy half and has a hard
# time limit, so an interrupted run leaves nothing behind. Prints a markdown table of medians
# over the rounds; raw JSON lines stay in the output folder.
#
# Env: STARFACE_BIN (default build/starface), STARFACE_SHARED (default ../shared),
#      STARFACE_BENCH_CACHE (the ONNX peer model and onnxruntime-node, as run_benchmarks.sh).
# Needs: jq, node + npm (ORT via ../shared/bench/ort_peer.sh); stress-ng if installed (else
# a shell busy loop is the load); the ONNX peer model (run_benchmarks.sh makes it once).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${STARFACE_SHARED:-$ROOT/../shared}"
STARFACE="${STARFACE_BIN:-$ROOT/build/starface}"
CACHE="${STARFACE_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/starface-bench}"
ONNX="$CACHE/star_wflw_full_random.onnx"
PTH="$SHARED/fixtures/star/models/star_wflw_full_random.pth"

ROUNDS=3 RUNS=10 WARMUP=2 THREADS=2 LOAD="$(nproc)" OUT=""
VARIANTS="default spin300000 passive one-thread"
LOAD_PIDS=()

die() { echo "run_busy_bench: $*" >&2; exit 1; }
log() { echo "run_busy_bench: $*" >&2; }
source "$ROOT/bench/lib.sh"

parse_args() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --load) LOAD="${2:?}"; shift ;;
      --variants) VARIANTS="${2:?}"; shift ;;
      -h|--help) bench_usage ;;
      *) bench_flag "$1" "${2:-}" || die "unknown argument '$1' (see --help)"; shift ;;
    esac
    shift
  done
  bench_check_counts "$ROUNDS" "$RUNS" "$THREADS" "$LOAD"
  for v in $VARIANTS; do
    [[ "$v" =~ ^(default|active|passive|one-thread|spin[0-9]+)$ ]] || die "unknown variant '$v'"
  done
}

check_tools() {
  command -v jq >/dev/null || die "jq not found (apt-get install jq)"
  [ -x "$STARFACE" ] || die "$STARFACE not found: build it first, or set STARFACE_BIN"
  [ -f "$PTH" ] || die "$PTH not found (set STARFACE_SHARED to the shared/ folder)"
  [ -f "$ONNX" ] || die "$ONNX not found: bench/run_benchmarks.sh --quick makes it once"
}

# The neighbours: LOAD processes spinning for at most $1 seconds each.
start_load() {
  if command -v stress-ng >/dev/null; then
    stress-ng --cpu "$LOAD" --cpu-method int64 --timeout "$1" >/dev/null 2>&1 &
    LOAD_PIDS+=($!)
  else
    local i
    for ((i = 0; i < LOAD; i++)); do
      timeout "$1" bash -c 'while :; do :; done' &
      LOAD_PIDS+=($!)
    done
  fi
  sleep 1  # let the load reach every core before timing starts
}

stop_load() {
  local pid
  for pid in "${LOAD_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  LOAD_PIDS=()
}
trap stop_load EXIT

record() {  # kind variant round state json
  jq -c --arg kind "$1" --arg variant "$2" --argjson round "$3" --arg state "$4" \
    '{kind: $kind, variant: $variant, round: $round, state: $state} + .' <<<"$5" >>"$OUT/results.jsonl"
}

run_starface() {  # variant round state
  local threads="$THREADS" env=()
  case "$1" in
    default) ;;
    active) env=(OMP_WAIT_POLICY=active) ;;
    passive) env=(OMP_WAIT_POLICY=passive) ;;
    one-thread) threads=1 ;;
    spin*) env=(GOMP_SPINCOUNT="${1#spin}") ;;
  esac
  log "round $2 ($3): starface $1"
  record starface "$1" "$2" "$3" "$(env "${env[@]}" "$STARFACE" bench --model "$PTH" \
    --threads "$threads" --runs "$RUNS" --warmup "$WARMUP" --peak-seconds 0.05 --json | jq -c .)"
}

run_ort() {  # round state
  log "round $1 ($2): onnxruntime"
  record ort ort "$1" "$2" "$("$SHARED/bench/ort_peer.sh" "$ONNX" "$THREADS" "$RUNS" 1)"
}

measure_all() {  # round state
  local v
  if (($1 % 2)); then run_ort "$1" "$2"; fi
  for v in $VARIANTS; do run_starface "$v" "$1" "$2"; done
  if ! (($1 % 2)); then run_ort "$1" "$2"; fi
}

run_rounds() {
  local r n_variants
  n_variants=$(wc -w <<<"$VARIANTS")
  for ((r = 1; r <= ROUNDS; r++)); do
    measure_all "$r" quiet
    # A bound on the busy half: generous per measurement, so the load never outlives the run.
    start_load $(((n_variants + 1) * (RUNS + WARMUP + 10) * 3 + 60))
    measure_all "$r" busy
    stop_load
  done
}

print_table() {
  jq -rs --argjson threads "$THREADS" --argjson load "$LOAD" '
    def median: sort | if length == 0 then null
      elif length % 2 == 1 then .[length / 2 | floor]
      else (.[length / 2 - 1] + .[length / 2]) / 2 end;
    def f(d): if . == null then "-" else (. * pow(10; d) | round) / pow(10; d) | tostring end;
    def ms($v; $s): [.[] | select(.variant == $v and .state == $s) | .median_ms_per_face] | median;
    def range($v; $s): [.[] | select(.variant == $v and .state == $s) | .median_ms_per_face]
      | if length == 0 then "-" else "\(min | f(0))-\(max | f(0))" end;
    . as $all
    | ($all | map(select(.kind == "starface")) | first) as $sf0
    | ($all | ms("ort"; "quiet")) as $ort_q | ($all | ms("ort"; "busy")) as $ort_b
    | ($all | ms("one-thread"; "busy")) as $one_b
    | "starface \($sf0.backend_info) on \($sf0.cpu.model) (\($sf0.cpu.logical_cores) cores); \($threads) threads, batch 1; busy = \($load) spinning neighbour processes",
      "rounds: \($all | map(.round) | max), runs per measurement: \($sf0.runs); medians over rounds (range)",
      "",
      "| variant | quiet ms/face | busy ms/face | quiet / ORT | busy / ORT | busy / busy 1-thread |",
      "|---|---|---|---|---|---|",
      ( [$all[] | .variant] | unique[] as $v
        | ($all | ms($v; "quiet")) as $q | ($all | ms($v; "busy")) as $b
        | "| \($v) | \($q | f(1)) (\($all | range($v; "quiet"))) | \($b | f(1)) (\($all | range($v; "busy"))) | \(if $v == "ort" then "1" else $q / $ort_q | f(2) end) | \(if $v == "ort" then "1" else $b / $ort_b | f(2) end) | \(if $one_b then $b / $one_b | f(2) else "-" end) |" )
  ' "$OUT/results.jsonl"
}

main() {
  parse_args "$@"
  check_tools
  [ -n "$OUT" ] || OUT="$(mktemp -d "${TMPDIR:-/tmp}/starface-busy.XXXXXX")"
  mkdir -p "$OUT"
  : >"$OUT/results.jsonl"
  run_rounds
  print_table
  log "raw results: $OUT/results.jsonl"
}

main "$@"
