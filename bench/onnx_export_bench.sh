#!/usr/bin/env bash
# The ONNX export and the Python module, measured: node count and op histogram of the naive
# PyTorch export (the peer) against `starface export-onnx`, ONNX Runtime's time on both in
# the same run (alternating), and the Python call's time per face against the CLI and the
# bare network.
#
#   bench/onnx_export_bench.sh [--runs R] [--rounds K] [--threads T]
#
# Needs: build/starface and build/python (cmake -DSTARFACE_PYTHON=ON), Debian's python3 with
# python3-onnx, node + npm (onnxruntime-node via ../shared/bench/ort_peer.sh), and the peer
# ONNX (made once with ../shared/fixtures/star/export_peer_onnx.py, as run_benchmarks.sh does).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${STARFACE_SHARED:-$ROOT/../shared}"
STARFACE="${STARFACE_BIN:-$ROOT/build/starface}"
CACHE="${STARFACE_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/starface-bench}"
PEER="$CACHE/star_wflw_full_random.onnx"
PTH="$SHARED/fixtures/star/models/star_wflw_full_random.pth"
PY=/usr/bin/python3
RUNS=5 ROUNDS=2 THREADS=1
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    *) echo "usage: $0 [--runs R] [--rounds K] [--threads T]" >&2; exit 2 ;;
  esac
done
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
if [ ! -f "$PEER" ]; then
  mkdir -p "$CACHE"
  "$PY" "$SHARED/fixtures/star/export_peer_onnx.py" --out "$PEER" >&2
fi

# Same outputs as the peer (landmarks and the last fusion map), so the work is the same.
"$STARFACE" export-onnx "$PTH" -o "$OUT/ours.onnx" --heatmaps >&2

echo "### Graphs"
echo
"$PY" - "$PEER" "$OUT/ours.onnx" <<'PYEOF'
import collections, os, sys
import onnx
rows = []
for label, path in (("naive export (peer)", sys.argv[1]), ("starface export-onnx", sys.argv[2])):
    m = onnx.load(path)
    ops = collections.Counter(n.op_type for n in m.graph.node)
    rows.append((label, len(m.graph.node), len(m.graph.initializer), os.path.getsize(path), ops))
print("| model | nodes | initializers | MB | op histogram |")
print("|---|---:|---:|---:|---|")
for label, nodes, inits, size, ops in rows:
    hist = ", ".join(f"{k} {v}" for k, v in sorted(ops.items(), key=lambda kv: -kv[1]))
    print(f"| {label} | {nodes} | {inits} | {size / 1e6:.1f} | {hist} |")
PYEOF

echo
echo "### ONNX Runtime on both (threads $THREADS, batch 1, $RUNS runs x $ROUNDS rounds, alternating)"
echo
for r in $(seq "$ROUNDS"); do
  for m in peer ours; do
    f="$PEER"; [ "$m" = ours ] && f="$OUT/ours.onnx"
    "$SHARED/bench/ort_peer.sh" "$f" "$THREADS" "$RUNS" 1 2>/dev/null | sed "s/^/$m /" >> "$OUT/ort.txt"
  done
done
"$PY" - "$OUT/ort.txt" <<'PYEOF'
import json, statistics, sys
res = {}
for line in open(sys.argv[1]):
    name, js = line.split(" ", 1)
    res.setdefault(name, []).append(json.loads(js))
print("| model | median ms/face (per round) | min ms | other load (cores) |")
print("|---|---|---:|---:|")
for name in ("peer", "ours"):
    rs = res[name]
    med = " / ".join(f"{r['median_ms_per_face']:.1f}" for r in rs)
    print(f"| {name} | {med} | {min(r['min_ms'] for r in rs):.1f} | "
          f"{max(r.get('other_load_cores') or 0 for r in rs):.2f} |")
p = statistics.median(r['median_ms_per_face'] for r in res['peer'])
o = statistics.median(r['median_ms_per_face'] for r in res['ours'])
print(f"\nours / peer = {o / p:.3f}")
PYEOF

echo
echo "### Python call vs CLI vs the bare network (full model, threads $THREADS, one face)"
echo
BOX="20.348690032958984,18.80962371826172,199.91436767578125,220.27423095703125"
IMG="$SHARED/data/images/0.jpg"
cli_ms=$("$PY" - "$STARFACE" "$PTH" "$IMG" "$BOX" "$THREADS" "$RUNS" <<'PYEOF'
import statistics, subprocess, sys, time
exe, pth, img, box, threads, runs = sys.argv[1:]
ts = []
for _ in range(int(runs)):
    t = time.perf_counter()
    subprocess.run([exe, "landmarks", "--model", pth, "--image", img, "--box", box,
                    "--threads", threads], check=True, capture_output=True)
    ts.append((time.perf_counter() - t) * 1e3)
print(f"{statistics.median(ts):.1f}")
PYEOF
)
bench_ms=$("$STARFACE" bench --model "$PTH" --threads "$THREADS" --runs "$RUNS" --json |
  "$PY" -c "import json,sys; d=json.load(sys.stdin); print(d.get('median_ms_per_face', d.get('median_ms')))")
PYTHONPATH="$ROOT/build/python" "$PY" - "$PTH" "$IMG" "$BOX" "$THREADS" "$RUNS" "$cli_ms" "$bench_ms" \
  "$SHARED/fixtures/star/cases/pipe_img0/image.npy" <<'PYEOF'
import statistics, sys, time
import numpy as np
import starface
pth, img, box, threads, runs, cli_ms, bench_ms = sys.argv[1:8]
t = time.perf_counter()
det = starface.LandmarkDetector(pth, threads=int(threads))
load_ms = (time.perf_counter() - t) * 1e3
image = np.load(sys.argv[8])  # 0.jpg as cv2.imread gives it (BGR uint8)
dets = np.array([[float(v) for v in box.split(",")] + [0.99]], np.float32)
det.detect_landmarks(image, dets)  # warm-up
ts = []
for _ in range(int(runs)):
    t = time.perf_counter()
    det.detect_landmarks(image, dets)
    ts.append((time.perf_counter() - t) * 1e3)
print("| path | ms per face (median) |")
print("|---|---:|")
print(f"| CLI `starface landmarks` (new process: load + decode + crop + network) | {float(cli_ms):.1f} |")
print(f"| Python `LandmarkDetector(...)` load, once | {load_ms:.1f} |")
print(f"| Python `detect_landmarks(image, dets)` per call (crop + network + mapping back) | {statistics.median(ts):.1f} |")
print(f"| `starface bench` (the network alone) | {float(bench_ms):.1f} |")
print(f"\nPython per-face overhead over the bare network: {statistics.median(ts) - float(bench_ms):.1f} ms")
PYEOF
