"""Shared paths and fixture readers for the Python tests (run through ctest, which sets
STARFACE_SHARED_DIR and STARFACE_BINARY_DIR)."""
import json
import os
import pathlib

import numpy as np
import pytest

SHARED = pathlib.Path(os.environ.get("STARFACE_SHARED_DIR",
                                     pathlib.Path(__file__).resolve().parents[3] / "shared"))
BINARY = pathlib.Path(os.environ.get("STARFACE_BINARY_DIR",
                                     pathlib.Path(__file__).resolve().parents[2] / "build"))
STAR = SHARED / "fixtures" / "star"
RETINAFACE = SHARED / "fixtures" / "retinaface"


def star_manifest():
    return json.loads((STAR / "manifest.json").read_text())


def star_case(case_id):
    m = star_manifest()
    for c in m["cases"] + m["pipeline_cases"]:
        if c["id"] == case_id:
            return c
    raise KeyError(case_id)


def star_model(case):
    return str(STAR / star_manifest()["models"][case["model"]]["file"])


def star_input(case):
    """The network input of a tensor case: its input files concatenated along N."""
    return np.concatenate([np.load(STAR / "cases" / "inputs" / (name + ".npy"))
                           for name in case["inputs"]])


def star_golden(case, item):
    return np.load(STAR / case["files"][item]["file"])


@pytest.fixture
def tmp(tmp_path):
    return tmp_path
