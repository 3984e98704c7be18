"""starface.LandmarkDetector: OpenFace 3.0's detect_landmarks on the pipeline goldens, the
raw infer() on the tensor goldens, the GIL released while the network runs, and every bad
input raised as a Python exception carrying the C++ message."""
import threading
import time

import numpy as np
import pytest

import starface
from conftest import SHARED, STAR, star_case, star_golden, star_input, star_model

PIPE_CASES = ["pipe_img0", "pipe_large", "pipe_small", "pipe_edge", "pipe_corner"]


@pytest.fixture(scope="module")
def full():
    return starface.LandmarkDetector(star_model(star_case("full_a")), threads=2)


@pytest.fixture(scope="module")
def tiny():
    return starface.LandmarkDetector(star_model(star_case("tiny_a")), device="cpu",
                                     device_ids=[-1])


def pipe(case_id):
    case = star_case(case_id)
    image = np.load(STAR / case["files"]["image"]["file"])
    score = case.get("box_score") or 1.0  # pipe_corner's box is a moved one, with no score
    dets = np.array([case["box_xyxy"] + [score]], dtype=np.float32)
    return case, image, dets


@pytest.mark.parametrize("case_id", PIPE_CASES)
def test_detect_landmarks_matches_pipeline_golden(full, case_id):
    case, image, dets = pipe(case_id)
    points = full.detect_landmarks(image, dets)
    assert isinstance(points, list) and len(points) == 1
    assert points[0].dtype == np.float32 and points[0].shape == (98, 2)
    err = np.abs(points[0] - star_golden(case, "landmarks_image")).max()
    assert err <= case["tolerances"]["landmarks_image_px"], err


def test_score_filter_keeps_rows_in_order_and_accepts_15_columns(full):
    case, image, dets = pipe("pipe_img0")
    row = np.concatenate([dets[0], np.zeros(10, np.float32)])  # an OpenFace (N,15) row
    low = row.copy()
    low[4] = 0.3
    moved = row.copy()
    moved[[0, 2]] += 10
    points = full.detect_landmarks(image, np.stack([row, low, moved]))
    assert len(points) == 2  # the 0.3 row is skipped
    golden = star_golden(case, "landmarks_image")
    assert np.abs(points[0] - golden).max() <= case["tolerances"]["landmarks_image_px"]
    assert np.abs(points[1] - golden).max() > 1.0  # the moved box, second: order kept
    assert len(full.detect_landmarks(image, np.stack([row, low]), confidence_threshold=0.2)) == 2
    assert full.detect_landmarks(image, np.zeros((0, 15), np.float32)) == []
    assert full.detect_landmarks(image, np.stack([low])) == []


def test_image_path_gives_the_array_result(full):
    case, image, dets = pipe("pipe_img0")
    from_path = full.detect_landmarks(str(SHARED / "data" / "images" / "0.jpg"), dets)
    assert np.array_equal(from_path[0], full.detect_landmarks(image, dets)[0])


def test_infer_matches_tensor_goldens(tiny):
    case = star_case("tiny_ba")
    lmk = tiny.infer(star_input(case))
    assert lmk.dtype == np.float32 and lmk.shape == (2, 98, 2)
    assert np.abs(lmk - star_golden(case, "landmarks")).max() <= case["tolerances"]["landmarks"]
    assert tiny.points == 98


def test_infer_heatmaps_match_full_a(full):
    case = star_case("full_a")
    lmk, heat = full.infer(star_input(case), heatmaps=True)
    tol = case["tolerances"]
    assert np.abs(lmk - star_golden(case, "landmarks")).max() <= tol["landmarks"]
    assert heat.shape == (1, 98, 64, 64)
    assert np.abs(heat - star_golden(case, "fusion")).max() <= tol["fusion"]


def test_gil_is_released_during_inference(full):
    # A spinner thread notes the time about every millisecond. If infer() held the GIL, it
    # could run only within ~5 ms (the switch interval) of the call's start or end.
    ticks = []
    stop = threading.Event()

    def spin():
        last = 0.0
        while not stop.is_set():
            now = time.perf_counter()
            if now - last > 1e-3:
                ticks.append(now)
                last = now

    x = star_input(star_case("full_a"))
    thread = threading.Thread(target=spin)
    thread.start()
    try:
        start = time.perf_counter()
        full.infer(x)  # a few hundred ms
        end = time.perf_counter()
    finally:
        stop.set()
        thread.join()
    middle = [t for t in ticks if start + 0.02 < t < end - 0.02]
    assert end - start > 0.1 and len(middle) > 10, (end - start, len(middle))


def test_missing_model_is_file_not_found():
    with pytest.raises(FileNotFoundError, match="no_such_model.pth"):
        starface.LandmarkDetector(str(STAR / "models" / "no_such_model.pth"))


def test_bad_model_is_value_error_naming_the_file():
    with pytest.raises(ValueError, match="random_bytes.pth"):
        starface.LandmarkDetector(str(STAR / "models" / "bad" / "random_bytes.pth"))


def test_bad_arguments(tiny):
    model = star_model(star_case("tiny_a"))
    with pytest.raises(ValueError, match="CPU only"):
        starface.LandmarkDetector(model, device="cuda", device_ids=[0])
    with pytest.raises(ValueError, match="threads"):
        starface.LandmarkDetector(model, threads=0)


def test_bad_images_and_dets(tiny):
    _, image, dets = pipe("pipe_img0")
    with pytest.raises(ValueError, match="uint8"):
        tiny.detect_landmarks(image.astype(np.float32), dets)
    with pytest.raises(ValueError, match=r"\(224, 224\)"):
        tiny.detect_landmarks(image[:, :, 0], dets)
    with pytest.raises(ValueError, match=r"\(1, 4\)"):
        tiny.detect_landmarks(image, dets[:, :4])
    with pytest.raises(ValueError, match="dets"):
        tiny.detect_landmarks(image, "boxes")
    zero = np.array([[10, 10, 10.9, 50, 0.9], [50, 50, 100, 100, 0.9]], np.float32)
    with pytest.raises(ValueError, match="box 0 "):  # zero width after truncation: row 0
        tiny.detect_landmarks(image, zero)
    outside = np.array([[20, 20, 80, 80, 0.9], [300, 300, 400, 400, 0.9]], np.float32)
    with pytest.raises(ValueError, match="box 1 "):  # no overlap with the image: row 1
        tiny.detect_landmarks(image, outside)
    with pytest.raises(FileNotFoundError, match="no_such.png"):
        tiny.detect_landmarks(str(SHARED / "no_such.png"), dets)


def test_bad_infer_tensors(tiny):
    x = star_input(star_case("tiny_a"))
    with pytest.raises(ValueError, match="float32"):
        tiny.infer(x.astype(np.float64))
    with pytest.raises(ValueError, match="128"):
        tiny.infer(np.zeros((1, 3, 128, 128), np.float32))
    with pytest.raises(ValueError):
        tiny.infer(np.zeros((3, 256, 256), np.float32))
    lmk = tiny.infer(np.asfortranarray(x))  # any memory order is read correctly
    assert np.abs(lmk - tiny.infer(x)).max() == 0


def test_precision_chooses_the_arithmetic(tiny):
    case = star_case("tiny_ba")
    x = star_input(case)
    assert tiny.precision == "fp32"  # "model" for a checkpoint: exact fp32
    fast = starface.LandmarkDetector(star_model(case), precision="fp32-fast")
    assert fast.precision == "fp32-fast" and "winograd" in fast.backend_info
    # Winograd rounds differently: the goldens' tolerance times 2 (golden_precision.h).
    tol = 2 * case["tolerances"]["landmarks"]
    assert np.abs(fast.infer(x) - star_golden(case, "landmarks")).max() <= tol


def test_precision_auto_makes_the_model_once_and_reuses_it(tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    case = star_case("tiny_ba")
    faces = [str(SHARED / "data" / "images" / name) for name in ("0.jpg", "16.jpg", "89.jpg")]
    # A budget every-conv-int8 meets on the random tiny model (its drift is a few crop px).
    first = starface.LandmarkDetector(star_model(case), precision="auto", max_drift=40,
                                      max_drift_p99=200, calibrate=faces)
    assert first.precision == "int8"
    assert "converting" in capfd.readouterr().err
    again = starface.LandmarkDetector(star_model(case), precision="auto", max_drift=40,
                                      max_drift_p99=200)  # cached: no faces needed
    assert again.model_path == first.model_path
    assert "converting" not in capfd.readouterr().err
    x = star_input(case)
    assert np.abs(again.infer(x) - first.infer(x)).max() == 0
    with pytest.raises(ValueError, match="--calibrate"):
        starface.LandmarkDetector(star_model(case), precision="auto", max_drift=30,
                                  max_drift_p99=200)
    with pytest.raises(ValueError, match="max-drift-p99"):
        starface.LandmarkDetector(star_model(case), precision="auto", max_drift=3,
                                  max_drift_p99=1, calibrate=faces)


def test_bad_precision_is_value_error_naming_the_choices():
    case = star_case("tiny_ba")
    with pytest.raises(ValueError, match="unknown precision 'fp64'.*fp32, fp32-fast, bf16, int8"):
        starface.LandmarkDetector(star_model(case), precision="fp64")
    with pytest.raises(ValueError, match="calibrated model file"):
        starface.LandmarkDetector(star_model(case), precision="int8")
