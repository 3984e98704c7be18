#!/usr/bin/env bash
# `starface run` on the 434-frame 1280x720 test video: frames and faces per second and the
# share of each stage, with RetinaFace on every frame and with tracking, per landmark model;
# then peak memory after the video once and looped ten times in one process (flat memory =
# no growth per frame); then, with --fill, how to fill the machine: one process with all
# threads against one process per core with one thread each (--shard), on two copies.
#
#   bench/run_video_bench.sh [--threads T] [--every "1 5"] [--loops 10]
#                            [--landmark-model "M1 M2 ..."] [--loop-model M]
#                            [--fill] [--fill-frames N] [--out DIR]
#
# --landmark-model: the STAR models of the fps rows, space-separated (default: the full-size
#   fixture); e.g. the checkpoint and its int8 model file (starface convert --precision int8),
#   which runs as int8 without a flag.
# --fill: 1 process x T threads vs T processes x 1 thread on T copies of the first
#   --fill-frames frames (default 150) of the video, first landmark model, --detect-every 5.
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
THREADS=2 EVERY_LIST="1 5" LOOPS=10 OUT="" FILL=0 FILL_FRAMES=150

die() { echo "run_video_bench: $*" >&2; exit 1; }

parse_args() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --threads) THREADS="${2:?}"; shift ;;
      --every) EVERY_LIST="${2:?}"; shift ;;
      --loops) LOOPS="${2:?}"; shift ;;
      --landmark-model) MODEL="${2:?}"; shift ;;
      --fill) FILL=1 ;;
      --fill-frames) FILL_FRAMES="${2:?}"; shift ;;
      --loop-model) LOOP_MODEL="${2:?}"; shift ;;
      --out) OUT="${2:?}"; shift ;;
      -h|--help) sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
      *) die "unknown argument '$1' (see --help)" ;;
    esac
    shift
  done
  for v in $THREADS $EVERY_LIST $LOOPS $FILL_FRAMES; do
    [[ "$v" =~ ^[1-9][0-9]*$ ]] || die "threads, every and loops must be positive integers (got '$v')"
  done
}

check_tools() {
  command -v jq >/dev/null || die "jq not found (apt-get install jq)"
  [ -x /usr/bin/time ] || die "GNU time not found (apt-get install time)"
  [ -x "$STARFACE" ] || die "$STARFACE not found: build it first, or set STARFACE_BIN"
  [ -f "$VIDEO" ] || die "$VIDEO not found (set STARFACE_SHARED to the shared/ folder)"
  local m
  for m in $MODEL; do [ -f "$m" ] || die "landmark model $m not found"; done
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

fps_row() {  # model index every
  local model="$1" every="$2" dir="$OUT/model$3_every$2"
  mkdir -p "$dir"
  read -r wall rss < <(run "$dir" "$model" "$every" "$VIDEO")
  local profile="$dir/face_video_1280x720_profile.json"
  jq -r --arg model "$(basename "$model")" --arg every "$every" --arg rss "$rss" '
    def share($s): (.stages[] | select(.stage == $s) | .share) * 100;
    "| \($model) | \($every) | \(.frames) | \(.fps * 100 | round / 100) | " +
    "\(.faces / (.wall_ms / 1000) * 100 | round / 100) | " +
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

fill_row() {  # label start_seconds frames
  awk -v label="$1" -v start="$2" -v now="$(date +%s.%N)" -v frames="$3" \
    'BEGIN { wall = now - start; printf "| | %s | %.1f s | %.2f |\n", label, wall, frames / wall }'
}

# T copies of the video's first FILL_FRAMES frames, one input each; frames per second of the
# whole set, run as one process with T threads and as T processes (shards) with one thread.
fill_rows() {
  local dir="$OUT/fill" list="$OUT/fill/inputs.txt" model="${MODEL%% *}" k start
  mkdir -p "$dir/one" "$dir/many"
  : >"$list"
  for ((k = 0; k < THREADS; k++)); do ln -sf "$VIDEO" "$dir/copy$k.avi"; echo "$dir/copy$k.avi" >>"$list"; done
  local frames=$((THREADS * FILL_FRAMES)) common=(run --list "$list" --max-frames "$FILL_FRAMES" --quiet
    --landmark-model "$model" --detector-model "$DETECTOR" --detect-every 5)
  echo "| $THREADS copies x $FILL_FRAMES frames, $(basename "$model") | processes x threads | wall | fps |"
  echo "|---|---|---|---|"
  start=$(date +%s.%N)
  "$STARFACE" "${common[@]}" -o "$dir/one" --threads "$THREADS" >/dev/null
  fill_row "1 x $THREADS" "$start" "$frames"
  start=$(date +%s.%N)
  for ((k = 0; k < THREADS; k++)); do
    "$STARFACE" "${common[@]}" -o "$dir/many" --threads 1 --shard "$k/$THREADS" >/dev/null &
  done
  wait
  fill_row "$THREADS x 1" "$start" "$frames"
}

main() {
  parse_args "$@"
  check_tools
  [ -n "$OUT" ] || OUT="$(mktemp -d -t starface-video-bench.XXXXXX)"
  mkdir -p "$OUT"
  echo "starface run, $(basename "$VIDEO"), $THREADS threads, $("$STARFACE" bench --peak --json 2>/dev/null | jq -r '.cpu.model // empty' || true)"
  echo
  echo "| landmark model | detect every | frames | fps | faces/s | decode | detect | track | crop | landmarks | write | decode+detect+crop+write | peak RSS |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  local m i=0
  for m in $MODEL; do
    i=$((i + 1))
    for every in $EVERY_LIST; do fps_row "$m" "$every" "$i"; done
  done
  echo
  echo "| video loops | frames | wall | peak RSS |"
  echo "|---|---|---|---|"
  memory_row 1
  memory_row "$LOOPS"
  echo
  if ((FILL)); then fill_rows; echo; fi
  echo "outputs in $OUT" >&2
}

main "$@"
