"""starface: the STAR facial-landmark network and its RetinaFace detector, natively in C++,
with OpenFace 3.0's Python calls:

    from starface import FaceDetector, LandmarkDetector
    dets, img = FaceDetector("Alignment_RetinaFace.pth").detect_faces("face.jpg")
    points = LandmarkDetector("Landmark_98.pkl").detect_landmarks(img, dets)

Errors from the C++ side keep its message: ValueError (bad argument, input or model file),
FileNotFoundError (a file that cannot be read), RuntimeError (an internal error).

Threads: every method may be called from several Python threads at once. The GIL is
released while a network runs, so calls on different objects run in parallel; calls on one
shared object take turns (each object runs one image at a time). Each object computes with
the `threads` it was made with, whichever thread calls it. Results do not depend on the
threads or the order of calls.

Waiting policy: unless OMP_WAIT_POLICY or GOMP_SPINCOUNT is set, importing starface sets
GOMP_SPINCOUNT=1000 (as the starface command does), so that its threads sleep soon at a
barrier instead of spinning for milliseconds: on a busy machine spinning threads take the
time their partners need. It applies only when starface is the first module in the process
to load GNU OpenMP (libgomp); `threading_summary()` says what is in effect.
"""
import os as _os


def _libgomp_loaded():
    """libgomp reads its environment once, when it loads: later settings do not reach it."""
    try:
        with open("/proc/self/maps") as maps:
            return any("libgomp" in line for line in maps)
    except OSError:
        return False


if (not _os.environ.get("OMP_WAIT_POLICY") and not _os.environ.get("GOMP_SPINCOUNT")
        and not _libgomp_loaded()):
    _os.environ["GOMP_SPINCOUNT"] = "1000"  # starface::kDefaultSpinCount

from ._starface import FaceDetector, LandmarkDetector, threading_summary  # noqa: E402

__all__ = ["FaceDetector", "LandmarkDetector", "threading_summary"]
__version__ = "0.1.0"
