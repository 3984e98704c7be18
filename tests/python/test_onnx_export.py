"""starface export-onnx: the file passes the ONNX checker, holds only standard compute ops
(no BatchNormalization, Identity or shape plumbing), has a dynamic batch, and ONNX Runtime
running it reproduces the float64 goldens within the manifest tolerances."""
import collections
import json
import pathlib
import subprocess

import numpy as np
import onnx
import pytest

from conftest import BINARY, STAR, star_case, star_golden, star_input, star_model

HERE = pathlib.Path(__file__).resolve().parent
STARFACE = str(BINARY / "starface")
# Cast is not among them: the boundary gate casts its 0/1 mask to float (see onnx_export.cpp).
SHAPE_PLUMBING = {"Identity", "Shape", "Gather", "Unsqueeze", "Squeeze", "Constant",
                  "ConstantOfShape", "Expand", "Range", "BatchNormalization"}
# What OpenCV DNN 4.6 cannot import in the form ONNX Runtime takes (tests/export/onnx_opencv_test
# runs the export there): the export writes each another way.
OPENCV_BLOCKERS = {"Where", "ReduceSum", "Max", "Clip", "InstanceNormalization"}


def export(checkpoint, out, *flags):
    r = subprocess.run([STARFACE, "export-onnx", checkpoint, "-o", str(out), "--json", *flags],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def run_ort(model, x, tmp):
    ort_dir = subprocess.run([str(HERE / "ort_install.sh")], capture_output=True, text=True,
                             check=True).stdout.strip()
    x = np.ascontiguousarray(x, dtype=np.float32)
    (tmp / "input.bin").write_bytes(x.tobytes())
    subprocess.run(["node", str(HERE / "ort_run.mjs"), str(model), str(tmp / "input.bin"),
                    ",".join(map(str, x.shape)), str(tmp)], check=True,
                   env={"ORT_NODE_DIR": ort_dir, "PATH": "/usr/bin:/bin"})
    dims = json.loads((tmp / "outputs.json").read_text())
    return {name: np.fromfile(tmp / (name + ".bin"), dtype=np.float32).reshape(shape)
            for name, shape in dims.items()}


def check_structure(path, heatmaps):
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    ops = collections.Counter(n.op_type for n in model.graph.node)
    assert not SHAPE_PLUMBING & set(ops), ops
    assert not OPENCV_BLOCKERS & set(ops), ops
    inp = model.graph.input[0].type.tensor_type.shape.dim
    assert inp[0].dim_param == "N" and [d.dim_value for d in inp[1:]] == [3, 256, 256]
    names = [o.name for o in model.graph.output]
    assert names == (["landmarks", "heatmaps"] if heatmaps else ["landmarks"])
    return ops


def test_tiny_export_matches_goldens_in_onnx_runtime(tmp):
    case = star_case("tiny_ba")  # batch 2, reversed order: the dynamic batch and row order
    path = tmp / "tiny.onnx"
    summary = export(star_model(case), path)
    ops = check_structure(path, heatmaps=False)
    assert summary["nodes"] == sum(ops.values())
    assert ops["Conv"] == 213  # every executed conv once, as in the peer (E2H included)
    out = run_ort(path, star_input(case), tmp)
    err = np.abs(out["landmarks"] - star_golden(case, "landmarks")).max()
    assert err <= case["tolerances"]["landmarks"], err


def test_full_export_with_heatmaps_matches_goldens_in_onnx_runtime(tmp):
    case = star_case("full_a")
    path = tmp / "full.onnx"
    export(star_model(case), path, "--heatmaps")
    check_structure(path, heatmaps=True)
    out = run_ort(path, star_input(case), tmp)
    tol = case["tolerances"]
    err = np.abs(out["landmarks"] - star_golden(case, "landmarks")).max()
    assert err <= tol["landmarks"], err
    err = np.abs(out["heatmaps"] - star_golden(case, "fusion")).max()
    assert err <= tol["fusion"], err


@pytest.mark.parametrize("case_id", ["noaam_tiny_ab", "cofw_tiny_ab"])
def test_other_layouts_export(tmp, case_id):
    case = star_case(case_id)
    path = tmp / "m.onnx"
    export(star_model(case), path)
    check_structure(path, heatmaps=False)
    out = run_ort(path, star_input(case), tmp)
    err = np.abs(out["landmarks"] - star_golden(case, "landmarks")).max()
    assert err <= case["tolerances"]["landmarks"], err


def test_export_errors_exit_1_with_the_file_named(tmp):
    missing = str(STAR / "models" / "no_such.pth")
    r = subprocess.run([STARFACE, "export-onnx", missing, "-o", str(tmp / "x.onnx")],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "no_such.pth" in r.stderr
    r = subprocess.run([STARFACE, "export-onnx", str(STAR / "models" / "bad" / "random_bytes.pth"),
                        "-o", str(tmp / "x.onnx")], capture_output=True, text=True)
    assert r.returncode == 1 and "random_bytes.pth" in r.stderr
    assert not (tmp / "x.onnx").exists()
