#!/usr/bin/python3
"""The trained STAR-300W proxy's validation faces as a STAR .tsv for `starface eval`.

usage: /usr/bin/python3 make_trained_val_tsv.py OUT_DIR [--labels LABELS.npz]
                        [--dump-frames build/tests/eval/dump_frames]

Reads ../shared/fixtures/star/trained/labels.npz (numpy), writes the video frames that hold
validation faces as OUT_DIR/frame_<N>.png through dump_frames (the pipeline's decoder;
labels.npz numbers frames from 0, `starface run` from 1) and OUT_DIR/val.tsv: per face the
frame's file, RetinaFace's 5 points, the 68 dlib labels, and the crop as STAR's .tsv gives it
(scale, centre) computed as the pipeline computes it from the RetinaFace box (truncated to
integers; centre the midpoint, scale min(w, h) / 200 * 1.05), so `starface eval --tsv` crops
exactly what `starface run` would. Then:

  ./build/starface eval --model ../shared/fixtures/star/trained/star_300w_trained_proxy.pth \\
      --tsv OUT_DIR/val.tsv --images OUT_DIR --precision fp32 --by size,yaw
"""
import argparse
import os
import subprocess

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
TRAINED = os.path.normpath(os.path.join(ROOT, "..", "shared", "fixtures", "star", "trained"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--labels", default=os.path.join(TRAINED, "labels.npz"))
    ap.add_argument("--video", default=os.path.join(ROOT, "..", "shared", "data",
                                                    "face_video_1280x720.avi"))
    ap.add_argument("--dump-frames", default=os.path.join(ROOT, "build", "tests", "eval",
                                                          "dump_frames"))
    a = ap.parse_args()
    z = np.load(a.labels)
    val = np.flatnonzero(z["val"])
    if (z["source"][val] != 0).any():
        raise SystemExit("validation faces outside the video: this script handles video frames")
    numbers = sorted({int(z["frame"][i]) + 1 for i in val})
    os.makedirs(a.out_dir, exist_ok=True)
    subprocess.run([a.dump_frames, a.video, a.out_dir] + [str(n) for n in numbers], check=True)
    rows = []
    for i in val:
        x1, y1, x2, y2 = z["box"][i].astype(np.int64)  # toward zero, as numpy astype(int)
        scale = min(x2 - x1, y2 - y1) / 200.0 * 1.05
        five = ",".join(repr(float(v)) for v in z["rf5"][i].reshape(-1))
        target = ",".join(repr(float(v)) for v in z["points"][i].reshape(-1))
        image = f"frame_{int(z['frame'][i]) + 1}.png"
        rows.append(f"{image}\t{five}\t{target}\t{scale!r}\t{(x1 + x2) / 2.0!r}\t{(y1 + y2) / 2.0!r}")
    with open(os.path.join(a.out_dir, "val.tsv"), "w") as f:
        f.write("\n".join(rows) + "\n")
    print(f"{len(rows)} validation faces from {len(numbers)} frames -> {a.out_dir}/val.tsv")


if __name__ == "__main__":
    main()
