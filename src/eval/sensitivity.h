// Which convs a reduced precision hurts: the landmark drift when only one conv runs in the
// reduced precision and every other in exact fp32, per conv, against exact fp32 on the same
// crops. The input of choosing a precision per layer against a drift budget, and what
// `starface convert --precision int8 --report` prints.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "graph/graph.h"
#include "graph/int8.h"
#include "graph/plan.h"
#include "graph/precision.h"

namespace starface::eval {

struct ConvDrift {
  std::string conv;
  double mean_px = 0;  // mean landmark displacement over points and crops, 256x256 crop px
  double p99_px = 0;   // its 99th percentile over points and crops (nearest rank)
  double max_px = 0;
};

// Compiles the plan of `graph` in which `conv` alone is reduced.
using ReducedPlan =
    std::function<std::unique_ptr<graph::Plan>(const graph::Graph& graph, const std::string& conv)>;

// The conv at `precision` on the oneDNN backend, the rest exact fp32. int8 needs
// `calibration` (its scale, and its bias correction applied to a copy of the graph);
// kBadArgument for an int8 conv it does not calibrate.
ReducedPlan reduce_one_conv(graph::Precision precision,
                            const graph::Int8Calibration* calibration = nullptr);

// Drift of each of `convs` reduced alone (by `reduce`) on `crops` (float32 [N, 3, H, W]
// each) against `graph` in exact fp32, largest mean first. `progress(done, total)` after
// each conv when given.
std::vector<ConvDrift> conv_sensitivity(const graph::Graph& graph,
                                        const std::vector<std::string>& convs,
                                        const std::vector<Tensor>& crops, const ReducedPlan& reduce,
                                        const std::function<void(int, int)>& progress = {});

// Every calibrated conv in int8 with its bias correction, the rest exact fp32: the plan of
// `exact` (the checkpoint's weights) as its int8 model file runs.
std::unique_ptr<graph::Plan> int8_plan(const graph::Graph& exact,
                                       const graph::Int8Calibration& calibration);

// Landmark drift of `reduced` against exact fp32 `graph` on `crops`: the mean over all
// points, the 99th percentile, the max.
ConvDrift plan_drift(const graph::Graph& graph, graph::Plan& reduced,
                     const std::vector<Tensor>& crops);

// The final landmarks [1, P, 2] of `plan` on each crop.
std::vector<Tensor> landmarks_of(graph::Plan& plan, const std::vector<Tensor>& crops);

// Mean, 99th percentile and max distance between landmark tensors [N, P, 2] in [-1, 1],
// pairwise over the two lists, in crop pixels (x 128, as 256x256 crops span [-1, 1]).
ConvDrift landmark_drift(const std::vector<Tensor>& reference, const std::vector<Tensor>& reduced,
                         const std::string& what = "all");
ConvDrift landmark_drift(const Tensor& reference, const Tensor& reduced);

}  // namespace starface::eval
