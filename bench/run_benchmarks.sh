#!/usr/bin/env bash
# starface against ONNX Runtime on this machine, in the same run, with the FP32 FMA peak.
#
#   bench/run_benchmarks.sh [--quick] [--rounds K] [--runs R] [--threads "1 2"] [--batch "1 4"]
#                           [--backend B] [--out DIR]
#
# Each round measures the FMA peak (../shared/bench/fma_peak.sh), then every (threads, batch)
# cell with `starface bench` and `../shared/bench/ort_peer.sh`, alternating which goes first,
# so machine noise hits both sides alike. Prints a markdown table of medians over the rounds;
# the raw JSON lines stay in the output folder.
#
# Env: STARFACE_BIN (default build/starface), STARFACE_SHARED (default ../shared),
#      STARFACE_BENCH_CACHE (where the ONNX peer model and onnxruntime-node live; outside the
#      repo, default ${XDG_CACHE_HOME:-~/.cache}/starface-bench, as ort_peer.sh uses).
# Needs: jq, node + npm (ORT, installed on first use by ort_peer.sh, ~300 MB), a C compiler
# (fma_peak.sh), and to make the ONNX peer once, Debian's python3-torch and python3-onnx.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${STARFACE_SHARED:-$ROOT/../shared}"
STARFACE="${STARFACE_BIN:-$ROOT/build/starface}"
CACHE="${STARFACE_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/starface-bench}"
ONNX="$CACHE/star_wflw_full_random.onnx"
PTH="$SHARED/fixtures/star/models/star_wflw_full_random.pth"

ROUNDS=3 RUNS=10 WARMUP=3 THREADS_LIST="1 2" BATCH_LIST="1 4" BACKEND="" OUT="" PEAK_SECS=0.5

die() { echo "run_benchmarks: $*" >&2; exit 1; }
log() { echo "run_benchmarks: $*" >&2; }

usage() { sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit "${1:-2}"; }

parse_args() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --quick) ROUNDS=1 RUNS=2 WARMUP=1 BATCH_LIST="1" PEAK_SECS=0.2 ;;
      --rounds) ROUNDS="${2:?}"; shift ;;
      --runs) RUNS="${2:?}"; shift ;;
      --threads) THREADS_LIST="${2:?}"; shift ;;
      --batch) BATCH_LIST="${2:?}"; shift ;;
      --backend) BACKEND="${2:?}"; shift ;;
      --out) OUT="${2:?}"; shift ;;
      -h|--help) usage 0 ;;
      *) echo "run_benchmarks: unknown argument '$1'" >&2; usage ;;
    esac
    shift
  done
  for v in $ROUNDS $RUNS $THREADS_LIST $BATCH_LIST; do
    [[ "$v" =~ ^[1-9][0-9]*$ ]] || die "rounds, runs, threads and batch must be positive integers (got '$v')"
  done
}

check_tools() {
  command -v jq >/dev/null || die "jq not found (apt-get install jq)"
  [ -x "$STARFACE" ] || die "$STARFACE not found: build it first (cmake -S . -B build -G Ninja && ninja -C build starface), or set STARFACE_BIN"
  [ -f "$PTH" ] || die "$PTH not found (set STARFACE_SHARED to the shared/ folder)"
}

# The ONNX peer is generated once into the cache (never into shared/, which is read-only),
# through a temporary name so an interrupted export leaves nothing that looks finished.
ensure_onnx() {
  [ -f "$ONNX" ] && return
  for pkg in python3-torch python3-onnx; do
    dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed' ||
      die "$ONNX is missing and making it needs Debian's $pkg (apt-get install python3-torch python3-onnx)"
  done
  mkdir -p "$CACHE"
  local tmp="$CACHE/.export.$$.onnx"
  log "exporting the ONNX peer model to $ONNX (one-time)"
  if ! /usr/bin/python3 "$SHARED/fixtures/star/export_peer_onnx.py" --model "$PTH" --out "$tmp" >&2; then
    rm -f "$tmp"
    die "ONNX export failed"
  fi
  mv "$tmp" "$ONNX"
}

max_of() { tr ' ' '\n' <<<"$1" | sort -n | tail -1; }

# Appends one JSON line to results.jsonl, tagged with what produced it and for which cell.
record() {  # kind round threads batch json
  jq -c --arg kind "$1" --argjson round "$2" --argjson t "$3" --argjson n "$4" \
    '{kind: $kind, round: $round, cell_threads: $t, cell_batch: $n} + .' <<<"$5" >>"$OUT/results.jsonl"
}

run_starface() {  # round threads batch
  local args=(bench --model "$PTH" --threads "$2" --batch "$3" --runs "$RUNS" --warmup "$WARMUP" --json)
  [ -n "$BACKEND" ] && args+=(--backend "$BACKEND")
  log "round $1: starface T=$2 N=$3"
  record starface "$1" "$2" "$3" "$("$STARFACE" "${args[@]}" | jq -c .)"
}

run_ort() {  # round threads batch
  log "round $1: onnxruntime T=$2 N=$3"
  record ort "$1" "$2" "$3" "$("$SHARED/bench/ort_peer.sh" "$ONNX" "$2" "$RUNS" "$3")"
}

run_peak() {  # round
  log "round $1: FMA peak"
  record fma_peak "$1" 0 0 "$("$SHARED/bench/fma_peak.sh" "$(max_of "$THREADS_LIST")" "$PEAK_SECS")"
}

run_rounds() {
  local r t n
  for ((r = 1; r <= ROUNDS; r++)); do
    run_peak "$r"
    for t in $THREADS_LIST; do
      for n in $BATCH_LIST; do
        if ((r % 2)); then run_starface "$r" "$t" "$n"; run_ort "$r" "$t" "$n"
        else run_ort "$r" "$t" "$n"; run_starface "$r" "$t" "$n"; fi
      done
    done
  done
}

# The table, from results.jsonl. Medians over rounds; the peak for T threads is the widest
# FP32 FMA figure fma_peak.sh measured (AVX2, or AVX-512 where it is faster).
print_table() {
  jq -rs '
    def median: sort | if length == 0 then null
      elif length % 2 == 1 then .[length / 2 | floor]
      else (.[length / 2 - 1] + .[length / 2]) / 2 end;
    def f(d): if . == null then "-" else (. * pow(10; d) | round) / pow(10; d) | tostring end;
    def pct: if . == null then "-" else (. * 1000 | round) / 10 | tostring + " %" end;
    def peak_for($t): [.[] | select(.kind == "fma_peak") | .fma |
        ([.avx2_fp32[], (.avx512_fp32_info // [])[]] | map(select(.threads == $t).total_gflops) | max)]
      | median;
    . as $all
    | ($all | map(select(.kind == "starface")) | first) as $sf0
    | "starface \($sf0.backend_info) on \($sf0.cpu.model) (\($sf0.cpu.logical_cores) cores, FMA path \($sf0.isa)); \($sf0.macs_per_face / 1e9 | f(2)) GMAC per face",
      "rounds: \($all | map(.round) | max), runs per cell: \($sf0.runs); medians over rounds; spread = (p90-min)/median within a run",
      "",
      "| threads | batch | starface ms/face | spread | ORT ms/face | starface / ORT | starface share of peak | ORT share of peak | peak GFLOP/s | floor ms/face | max other load |",
      "|---|---|---|---|---|---|---|---|---|---|---|",
      ( [$all[] | select(.kind == "starface") | [.cell_threads, .cell_batch]] | unique[] as [$t, $n]
        | [$all[] | select(.cell_threads == $t and .cell_batch == $n)] as $cell
        | ($cell | map(select(.kind == "starface") | .median_ms_per_face) | median) as $sf
        | ($cell | map(select(.kind == "starface") | .spread) | median) as $spread
        | ($cell | map(select(.kind == "ort") | .median_ms_per_face) | median) as $ort
        | ($all | peak_for($t)) as $peak
        | (2 * $sf0.macs_per_face / ($peak * 1e9) * 1000) as $floor
        | ($cell | map(.other_load_cores // 0) | max) as $noise
        | "| \($t) | \($n) | \($sf | f(1)) | \($spread | pct) | \($ort | f(1)) | \(if $ort then $sf / $ort | f(2) else "-" end) | \($floor / $sf | pct) | \(if $ort then $floor / $ort | pct else "-" end) | \($peak | f(1)) | \($floor | f(1)) | \($noise | f(2))\(if $noise > 0.1 then " (noisy)" else "" end) |" )
  ' "$OUT/results.jsonl"
}

main() {
  parse_args "$@"
  check_tools
  ensure_onnx
  [ -n "$OUT" ] || OUT="$(mktemp -d "${TMPDIR:-/tmp}/starface-bench.XXXXXX")"
  mkdir -p "$OUT"
  : >"$OUT/results.jsonl"
  run_rounds
  print_table
  log "raw results: $OUT/results.jsonl"
}

main "$@"
