"""starface.FaceDetector and LandmarkDetector called from 4 Python threads at once, on
different images, give exactly what sequential calls give: with one object shared by the
threads, and with one object per thread. A deadlock fails by the ctest timeout."""
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import starface
from conftest import SHARED, STAR

DETECTOR = str(SHARED / "models" / "retinaface_mobilenet0.25.pth")
LANDMARKS = str(STAR / "models" / "star_wflw_tiny.pth")
IMAGES = [str(SHARED / "data" / "images" / name)
          for name in ("0.jpg", "16.jpg", "89.jpg", "video_frame000_decoded_1280x720.png")]
THREADS = 4
ROUNDS = 3  # each image goes through the pool this many times


def make_models():
    # threads=2 inside each of 4 callers: more OpenMP threads than cores, on purpose.
    return (starface.FaceDetector(DETECTOR, threads=2),
            starface.LandmarkDetector(LANDMARKS, threads=2))


def faces_and_points(models, path):
    detector, landmarks = models
    dets, img = detector.detect_faces(path)
    # A fixed box as well, so every image has a face for the landmark network.
    boxes = np.vstack([dets[:, :5], [[10, 20, 110, 140, 1.0]]]).astype(np.float32)
    return dets, landmarks.detect_landmarks(img, boxes, confidence_threshold=0.5)


def assert_same(got, want):
    (dets, points), (want_dets, want_points) = got, want
    np.testing.assert_array_equal(dets, want_dets)
    assert len(points) == len(want_points)
    for p, w in zip(points, want_points):
        np.testing.assert_array_equal(p, w)


@pytest.fixture(scope="module")
def sequential():
    models = make_models()
    return {path: faces_and_points(models, path) for path in IMAGES}


def test_images_give_different_results(sequential):
    # Otherwise a mix-up between threads could go unseen.
    dets = [sequential[p][0] for p in IMAGES]
    assert len({d.tobytes() for d in dets}) == len(IMAGES)


def test_one_shared_object_pair(sequential):
    models = make_models()
    jobs = IMAGES * ROUNDS
    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(lambda p: faces_and_points(models, p), jobs))
    for path, got in zip(jobs, results):
        assert_same(got, sequential[path])


def test_one_object_pair_per_thread(sequential):
    def worker(path):
        models = make_models()
        return [faces_and_points(models, path) for _ in range(ROUNDS)]

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(worker, IMAGES))
    for path, runs in zip(IMAGES, results):
        for got in runs:
            assert_same(got, sequential[path])


def test_waiting_policy_is_reported():
    summary = starface.threading_summary()
    assert "GNU OpenMP" in summary and "at a barrier" in summary
