// Builds RetinaFace-MobileNet0.25's inference graph (OpenFace 3.0's face detector) from its
// state dict, for one input size (fixtures/retinaface/README.md §1, §3).
//
// Graph outputs: the features "c1", "c2", "c3" (backbone), "p1", "p2", "p3" (FPN), "s1",
// "s2", "s3" (SSH), and per level k = 0, 1, 2 the raw head maps "class.k" [1,4,Hk,Wk],
// "bbox.k" [1,8,Hk,Wk] and "landmark.k" [1,20,Hk,Wk] in NCHW; postprocess.h turns those
// into loc / conf / landms.
#pragma once

#include <string>
#include <vector>

#include "graph/graph.h"

namespace starface::retinaface {

// The three heads, in the order of the channel count per anchor: class (2), bbox (4),
// landmark (10).
enum class Head { kClass, kBbox, kLandmark };
constexpr int kLevels = 3;
constexpr int kAnchorsPerCell = 2;
int values_per_anchor(Head head);  // 2, 4, 10
// "class.0", "bbox.2", ...
std::string head_output(Head head, int level);
// Every head map output (9 names), the outputs a detector needs.
std::vector<std::string> head_outputs();

// Throws kBadArgument when the state dict is plainly not a RetinaFace-MobileNet0.25 one
// (e.g. a STAR checkpoint given as the detector), naming the key that is missing.
void check_is_retinaface(const TensorMap& state_dict);

// Validates every key (missing, mis-shaped and unknown keys are errors naming the key) and
// returns the graph for input [1, 3, height, width] (BGR minus the mean, native size).
graph::Graph build_graph(const TensorMap& state_dict, int64_t height, int64_t width);

}  // namespace starface::retinaface
