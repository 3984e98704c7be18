#!/usr/bin/env bash
# `starface run` on the 434-frame 1280x720 test video: frames per second and the share of
# each stage, with RetinaFace on every frame and with tracking; then peak memory after the
# video once and looped ten times in one process (flat memory = no growth per frame).
#
#   bench/run_video_bench.sh [--threads T] [--every "1 5"] [--loops 10] [--landmark-model M]
#                            [--loop-model M] [--out DIR]
#
# --landmark-model: the STAR model of the fps rows (default: the full-size fixture).
# --loop-model: the STAR model of the memory rows (default: the tiny fixture, so ten loops
#   take minutes, not half an hour; memory growth per frame is the pipeline's, not the model's).
# Env: STARFACE_BIN (default build/starface), STARFACE_SHARED (default ../shared).
# Needs: jq, GNU time (/usr/bin/time).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${STARFACE_SHARED:-$ROOT/../shared}"
STARFACE="${STARFACE_BIN:-$ROOT/build/starface}"
VIDEO="$SHARED/data/face_video_1280x720.avi"
DETECTOR="$SHARED/models/retinaface_mobilenet0.25.pth"
MODEL="$SHARED/fixtures/star/models/star_wflw_full_random.pth"
LOOP_MODEL="$SHARED/fixtures/star/models/star_wflw_tiny.pth"
THREADS=2 EVERY_LIST="1 5" LOOPS=10 OUT=""

die() { echo "run_video_bench: $*" >&2; exit 1; }

parse_args() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --threads) THREADS="${2:?}"; shift ;;
      --every) EVERY_LIST="${2:?}"; shift ;;
      --loops) LOOPS="${2:?}"; shift ;;
      --landmark-model) MODEL="${2:?}"; shift ;;
      --loop-model) LOOP_MODEL="${2:?}"; shift ;;
      --out) OUT="${2:?}"; shift ;;
      -h|--help) sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
      *) die "unknown argument '$1' (see --help)" ;;
    esac
    shift
  done
  for v in $THREADS $EVERY_LIST $LOOPS; do
    [[ "$v" =~ ^[1-9][0-9]*$ ]] || die "threads, every and loops must be positive integers (got '$v')"
  done
}

check_tools() {
  command -v jq >/dev/null || die "jq not found (apt-get install jq)"
  [ -x /usr/bin/time ] || die "GNU time not found (apt-get install time)"
  [ -x "$STARFACE" ] || die "$STARFACE not found: build it first, or set STARFACE_BIN"
  [ -f "$VIDEO" ] || die "$VIDEO not found (set STARFACE_SHARED to the shared/ folder)"
}

# run OUT_DIR MODEL EVERY INPUT... : runs starface, prints "wall_s peak_rss_kb".
run() {
  local out="$1" model="$2" every="$3"
  shift 3
  /usr/bin/time -f "%e %M" -o "$out/time.txt" "$STARFACE" run "$@" -o "$out" --quiet \
    --landmark-model "$model" --detector-model "$DETECTOR" --threads "$THREADS" \
    --detect-every "$every" >/dev/null
  cat "$out/time.txt"
}

fps_row() {
  local every="$1" dir="$OUT/every$1"
  mkdir -p "$dir"
  read -r wall rss < <(run "$dir" "$MODEL" "$every" "$VIDEO")
  local profile="$dir/face_video_1280x720_profile.json"
  jq -r --arg every "$every" --arg rss "$rss" '
    def share($s): (.stages[] | select(.stage == $s) | .share) * 100;
    "| \($every) | \(.frames) | \(.fps * 100 | round / 100) | " +
    "\(share("decode") | round) % | \(share("detect") | round) % | \(share("track") | round) % | " +
    "\(share("crop") | round) % | \(share("landmarks") | round) % | \(share("write") | round) % | " +
    "\((share("decode") + share("detect") + share("crop") + share("write")) | round) % | " +
    "\($rss | tonumber / 1024 | round) MB |"' "$profile"
}

memory_row() {
  local loops="$1" dir="$OUT/loop$1" list="$OUT/loop$1.txt"
  mkdir -p "$dir"
  : >"$list"
  for _ in $(seq "$loops"); do echo "$VIDEO" >>"$list"; done
  read -r wall rss < <(run "$dir" "$LOOP_MODEL" 5 --list "$list")
  echo "| $loops | $((loops * 434)) | $wall s | $((rss / 1024)) MB |"
}

main() {
  parse_args "$@"
  check_tools
  [ -n "$OUT" ] || OUT="$(mktemp -d -t starface-video-bench.XXXXXX)"
  mkdir -p "$OUT"
  echo "starface run, $(basename "$VIDEO"), $THREADS threads, $("$STARFACE" bench --peak --json 2>/dev/null | jq -r '.cpu.model // empty' || true)"
  echo
  echo "| detect every | frames | fps | decode | detect | track | crop | landmarks | write | decode+detect+crop+write | peak RSS |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  for every in $EVERY_LIST; do fps_row "$every"; done
  echo
  echo "| video loops | frames | wall | peak RSS |"
  echo "|---|---|---|---|"
  memory_row 1
  memory_row "$LOOPS"
  echo
  echo "outputs in $OUT" >&2
}

main "$@"
