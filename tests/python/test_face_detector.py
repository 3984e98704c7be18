"""starface.FaceDetector: OpenFace 3.0's detect_faces (paths and arrays), detect, get_face
and preprocess_image against the RetinaFace goldens, by the manifest's comparison rules."""
import json

import numpy as np
import pytest

import starface
from conftest import RETINAFACE, SHARED

MANIFEST = json.loads((RETINAFACE / "manifest.json").read_text())
TOL = MANIFEST["tolerances"]
MODEL = str(SHARED / MANIFEST["model"]["file"])
IMAGES = {  # case -> (image file, golden dets)
    "image:0.jpg": ("data/images/0.jpg", "img_0_dets.npy"),
    "image:16.jpg": ("data/images/16.jpg", "img_16_dets.npy"),
    "image:89.jpg": ("data/images/89.jpg", "img_89_dets.npy"),
    "image:no_face": ("data/images/no_face_gradient_640x480.png",
                      "img_no_face_gradient_640x480_dets.npy"),
    "frame:0": ("data/images/video_frame000_decoded_1280x720.png", "frame000_dets.npy"),
}


@pytest.fixture(scope="module")
def detector():
    return starface.FaceDetector(MODEL, device="cpu")


def within(row, golden):
    return (np.abs(row[:4] - golden[:4]).max() <= TOL["det_box_px_abs"]
            and abs(row[4] - golden[4]) <= TOL["det_score_abs"]
            and np.abs(row[5:] - golden[5:]).max() <= TOL["det_landmark_px_abs"])


def check_against_golden(dets, golden):
    assert dets.dtype == np.float32 and dets.ndim == 2 and dets.shape[1] == 15
    # dets_vis: same rows with score >= 0.5, same order, every element within tolerance.
    vis, gvis = dets[dets[:, 4] >= 0.5], golden[golden[:, 4] >= 0.5]
    assert len(vis) == len(gvis)
    for row, g in zip(vis, gvis):
        assert within(row, g), (row, g)
    # dets_all: rows with score >= 0.03 match one-to-one by box; (0.02, 0.03) may differ.
    for a, b in ((dets, golden), (golden, dets)):
        for row in a[a[:, 4] >= 0.03]:
            assert (np.abs(b[:, :4] - row[:4]).max(axis=1) <= TOL["det_box_px_abs"]).sum() == 1
    assert np.all(np.diff(dets[:, 4]) <= 0)  # descending score
    assert np.all(dets[:, 4] > 0.02)


@pytest.mark.parametrize("case", sorted(IMAGES))
def test_detect_faces_on_paths_matches_goldens(detector, case):
    image, golden = IMAGES[case]
    dets, img = detector.detect_faces(str(SHARED / image))
    check_against_golden(dets, np.load(RETINAFACE / golden))
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3


def test_array_input_gives_the_path_result(detector):
    path = str(SHARED / IMAGES["image:0.jpg"][0])
    dets, img = detector.detect_faces(path)
    dets2, img2 = detector.detect_faces(img)
    assert np.array_equal(dets, dets2) and np.array_equal(img, img2)


def test_detect_keeps_vis_rows_and_get_face_crops_row_0(detector):
    path = str(SHARED / IMAGES["frame:0"][0])
    dets, img = detector.detect_faces(path)
    faces = detector.detect(img)
    assert np.array_equal(faces, dets[dets[:, 4] >= 0.5]) and len(faces) == 1
    crop, all_dets = detector.get_face(img)
    x1, y1, x2, y2 = dets[0, :4].astype(int)
    assert np.array_equal(crop, img[y1:y2, x1:x2]) and np.array_equal(all_dets, dets)
    assert detector.get_face(str(SHARED / IMAGES["image:no_face"][0])) == (None, None)
    assert detector.detect(str(SHARED / IMAGES["image:no_face"][0])).shape == (0, 15)


def test_confidence_threshold_filters_the_list():
    strict = starface.FaceDetector(MODEL, confidence_threshold=0.5)
    dets, _ = strict.detect_faces(str(SHARED / IMAGES["frame:0"][0]))
    assert len(dets) == 1 and dets[0, 4] > 0.5


def test_preprocess_image_subtracts_the_bgr_mean(detector):
    tensor, img = detector.preprocess_image(str(SHARED / IMAGES["image:0.jpg"][0]))
    assert tensor.shape == (1, 3, 224, 224) and tensor.dtype == np.float32
    expect = img.astype(np.float32).transpose(2, 0, 1)[None] - np.array(
        [104, 117, 123], np.float32)[None, :, None, None]
    assert np.array_equal(tensor, expect)


def test_resize_scales_results_back(detector):
    path = str(SHARED / IMAGES["image:0.jpg"][0])
    full, _ = detector.detect_faces(path)
    half, img = detector.detect_faces(path, resize=0.5)
    assert img.shape == (224, 224, 3)  # the image searched is returned at its own size
    a, b = half[0, :4], full[0, :4]  # the same face, in original-image pixels
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    area = lambda r: (r[2] - r[0]) * (r[3] - r[1])
    assert w * h / (area(a) + area(b) - w * h) > 0.7


def test_bad_arguments_raise_before_loading():
    with pytest.raises(ValueError, match="CPU only"):
        starface.FaceDetector(MODEL, device="cuda")
    with pytest.raises(ValueError, match="nms_threshold"):
        starface.FaceDetector(MODEL, nms_threshold=0.3)
    with pytest.raises(ValueError, match="confidence_threshold"):
        starface.FaceDetector(MODEL, confidence_threshold=0.01)
    with pytest.raises(ValueError, match="no int8 calibration"):
        starface.FaceDetector(MODEL, precision="int8")
    with pytest.raises(ValueError, match="unknown precision 'half'"):
        starface.FaceDetector(MODEL, precision="half")


def test_missing_model_is_file_not_found():
    with pytest.raises(FileNotFoundError, match="no_such_detector.pth"):
        starface.FaceDetector(str(SHARED / "models" / "no_such_detector.pth"))


def test_bad_images_and_resize(detector):
    with pytest.raises(ValueError, match="uint8"):
        detector.detect_faces(np.zeros((32, 32, 3), np.float32))
    with pytest.raises(ValueError, match="resize"):
        detector.detect_faces(np.zeros((32, 32, 3), np.uint8), resize=0)
    with pytest.raises(FileNotFoundError, match="nothing.png"):
        detector.detect_faces(str(SHARED / "nothing.png"))
