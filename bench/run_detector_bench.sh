#!/usr/bin/env bash
# RetinaFace at each precision on the test video: time per 1280x720 frame against fp32 in
# the same rounds (alternating), and detection drift against fp32 on every 10th frame
# (box IoU of each fp32 face with score >= 0.5 to the closest face found, and the error of
# its 5 points over the box width). int8 is calibrated on the video's frames as `starface
# run --detector-precision int8` does (8 frames spread over it).
#
#   bench/run_detector_bench.sh [--rounds K] [--runs R] [--threads T] [--out DIR]
#
# Env: STARFACE_BIN, STARFACE_SHARED. Needs: jq, python3; build/tests/eval/dump_frames.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${STARFACE_SHARED:-$ROOT/../shared}"
STARFACE="${STARFACE_BIN:-$ROOT/build/starface}"
DUMP="$ROOT/build/tests/eval/dump_frames"
MODEL="$SHARED/models/retinaface_mobilenet0.25.pth"
VIDEO="$SHARED/data/face_video_1280x720.avi"
PRECISIONS=(fp32 fp32-fast bf16 int8)
ROUNDS=3 RUNS=20 THREADS=2 OUT=""

die() { echo "run_detector_bench: $*" >&2; exit 1; }
source "$ROOT/bench/lib.sh"

parse_args() {
  bench_parse_args "$@"
  [ -x "$STARFACE" ] || die "$STARFACE not found: build it first, or set STARFACE_BIN"
  [ -x "$DUMP" ] || die "$DUMP not found: build the tests (cmake --build build)"
}

detect() {  # precision image [more flags...]
  local p="$1" image="$2"; shift 2
  local calibrate=()
  [ "$p" = int8 ] && calibrate=(--calibrate "$VIDEO")
  "$STARFACE" detect --model "$MODEL" --image "$image" --precision "$p" --threads "$THREADS" \
    "${calibrate[@]}" "$@"
}

time_round() {  # round
  for p in "${PRECISIONS[@]}"; do
    local ms
    ms=$(detect "$p" "$OUT/frame_1.png" --runs "$((RUNS + 1))" 2>&1 >/dev/null |
      sed -n 's/.*median of [0-9]* more \([0-9.]*\) ms.*/\1/p')
    echo "{\"round\": $1, \"precision\": \"$p\", \"ms\": $ms}" >>"$OUT/times.jsonl"
  done
}

main() {
  parse_args "$@"
  [ -n "$OUT" ] || OUT="$(mktemp -d -t starface-detector.XXXXXX)"
  mkdir -p "$OUT"
  : >"$OUT/times.jsonl"
  local frames=()
  for n in $(seq 1 10 431); do frames+=("$n"); done
  "$DUMP" "$VIDEO" "$OUT" "${frames[@]}" >/dev/null
  for r in $(seq 1 "$ROUNDS"); do time_round "$r"; done
  for p in "${PRECISIONS[@]}"; do
    for n in "${frames[@]}"; do
      detect "$p" "$OUT/frame_$n.png" --json -o "$OUT/${p}_$n.json"
    done
  done
  echo "threads $THREADS, $ROUNDS rounds x $RUNS runs on frame 1 (1280x720); drift on ${#frames[@]} frames vs fp32"
  python3 - "$OUT" "${PRECISIONS[@]}" <<'PY'
import json, statistics, sys
out, precisions = sys.argv[1], sys.argv[2:]
times = [json.loads(l) for l in open(f"{out}/times.jsonl")]
med = {p: statistics.median(t["ms"] for t in times if t["precision"] == p) for p in precisions}
frames = sorted({int(f.split("_")[1].split(".")[0]) for f in __import__("os").listdir(out)
                 if f.startswith("fp32_") and f.endswith(".json")})
def faces(p, n): return json.load(open(f"{out}/{p}_{n}.json"))["faces"]
def iou(a, b):
    w = max(0, min(a[2], b[2]) - max(a[0], b[0])); h = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    return w * h / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h)
print("| precision | ms/frame (median of rounds) | vs fp32 | faces | IoU min / p5 / median | IoU < 0.95 | points err / box width, mean / max | missing, extra |")
print("|---|---|---|---|---|---|---|---|")
for p in precisions:
    ious, errs, n_faces, missing, extra = [], [], 0, 0, 0
    for n in frames:
        want, got = faces("fp32", n), faces(p, n)
        extra += max(0, len(got) - len(want))
        for w in want:
            n_faces += 1
            best = max(got, key=lambda g: iou(w["box"], g["box"]), default=None)
            i = iou(w["box"], best["box"]) if best else 0.0
            if i < 0.5: missing += 1; continue
            ious.append(i)
            width = w["box"][2] - w["box"][0]
            errs += [((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2) ** 0.5 / width
                     for a, b in zip(w["points5"], best["points5"])]
    ious.sort()
    print(f"| {p} | {med[p]:.1f} | {med[p] / med['fp32']:.2f} | {n_faces} | "
          f"{ious[0]:.3f} / {ious[len(ious) // 20]:.3f} / {statistics.median(ious):.4f} | "
          f"{sum(i < 0.95 for i in ious)} | {statistics.mean(errs):.4f} / {max(errs):.4f} | {missing}, {extra} |")
PY
}

main "$@"
