"""starface: the STAR facial-landmark network and its RetinaFace detector, natively in C++,
with OpenFace 3.0's Python calls:

    from starface import FaceDetector, LandmarkDetector
    dets, img = FaceDetector("Alignment_RetinaFace.pth").detect_faces("face.jpg")
    points = LandmarkDetector("Landmark_98.pkl").detect_landmarks(img, dets)

Errors from the C++ side keep its message: ValueError (bad argument, input or model file),
FileNotFoundError (a file that cannot be read), RuntimeError (an internal error).
"""
from ._starface import FaceDetector, LandmarkDetector

__all__ = ["FaceDetector", "LandmarkDetector"]
__version__ = "0.1.0"
