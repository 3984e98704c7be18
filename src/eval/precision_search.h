// Precision per conv against a drift budget (`starface convert --precision auto`): start
// from every calibrated conv in int8, measure the landmark drift against exact fp32 on
// crops held out of calibration, and raise the convs that hurt most (int8 -> bf16 -> fp32)
// until the drift is within the budget.
//
// The search: each conv's drift is measured with it alone reduced (eval/sensitivity.h), in
// int8 and, where the CPU has bf16, in bf16. Every raise of one conv by one step is a move
// whose benefit is the drift it removes (int8 -> bf16: int8's drift minus bf16's; bf16 ->
// fp32: bf16's) and whose cost the time it adds (the conv's multiply-adds times the step
// in time per multiply-add, from the peak rates: int8 1/4, bf16 1/2, fp32 1). Moves are
// ranked by benefit per cost, a conv's two moves merged into int8 -> fp32 where the second
// ranks higher; the shortest prefix of the ranking whose assignment holds the budget is
// found by bisection (about log2(moves) measurements, where raising one conv at a time
// would take one per conv raised). The full prefix is every conv in fp32, the exact
// arithmetic, so a budget is met unless the measurement says otherwise. Last, the raises
// that cost the most time are tried lower one at a time (a measurement each) and kept lower
// where the budget still holds: the ranking measures each conv alone, so a prefix raises
// some convs the budget does not need.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "eval/sensitivity.h"
#include "graph/graph.h"
#include "graph/int8.h"
#include "graph/precision.h"

namespace starface::eval {

// The landmark drift a reduced-precision model may have against exact fp32, in 256x256
// crop pixels: the mean over points and crops, and a cap on the 99th percentile.
struct DriftBudget {
  double mean_px = 0.5;
  double p99_px = 2.0;

  // kBadArgument naming the fault: a negative or non-finite bound, a p99 below the mean.
  void check() const;
  bool holds(const ConvDrift& drift) const;
  std::string str() const;  // "mean 0.5 / p99 2 crop px"
};

// Which calibration crops set the int8 scales and which measure the drift: every 4th is
// held out (the last one when there are fewer than 4). Indices into the crop list; the two
// never share one. kBadArgument for fewer than 2 crops.
struct CropSplit {
  std::vector<size_t> calibrate, held_out;
};
constexpr size_t kHoldOutEvery = 4;
CropSplit split_calibration_crops(size_t crops);
std::string describe(const CropSplit& split);  // "24 crops set the scales, 8 held out ..."
// The crops at `which`, in that order.
std::vector<Tensor> pick_crops(const std::vector<Tensor>& crops, const std::vector<size_t>& which);

// Time per multiply-add relative to fp32, from the peak rates (bf16 2x, int8 VNNI 4x).
double relative_mac_time(graph::Precision precision);
// Conv time of `precisions` on `exact` relative to every conv in fp32, by relative_mac_time.
double predicted_conv_time(const graph::Graph& exact, const graph::ConvPrecisions& precisions);

struct RaisedConv {
  std::string conv;
  graph::Precision precision;  // bf16 or fp32
  double int8_drift_px = 0;    // its mean drift when it alone ran int8
};

struct PrecisionChoice {
  graph::ConvPrecisions precisions;  // the int8 convs with their calibrated input scales
  // `calibration` restricted to the convs left in int8 (scales and bias corrections), the
  // raised ones listed in fp32_layers with why: what the model file stores.
  graph::Int8Calibration int8;
  ConvDrift drift;           // of the choice, on the held-out crops
  ConvDrift all_int8_drift;  // of the start
  std::vector<RaisedConv> raised;
  std::map<std::string, int> conv_counts;  // precision name -> convs of the graph in it
  int moves = 0;                           // in the ranking (0 when all int8 held the budget)
  int measurements = 0;                    // assignments measured, the start included
  double predicted_conv_time = 0;
  std::string search;  // how the choice was found, in words
};

// Calls as the search goes: what it is doing, `done` of `total`.
using SearchProgress = std::function<void(const std::string& stage, int done, int total)>;

// `exact`: the checkpoint's optimized graph; `calibration`: int8 scales for the convs that
// may run int8 (calibrated on other crops than `held_out`); `bf16`: whether convs may be
// raised to bf16 (the CPU has it). kBadArgument for a malformed budget or no crops, and
// when even every conv in fp32 misses the budget.
PrecisionChoice choose_precisions(const graph::Graph& exact,
                                  const graph::Int8Calibration& calibration,
                                  const std::vector<Tensor>& held_out, const DriftBudget& budget,
                                  bool bf16, const SearchProgress& progress = {});

// The plan of `exact` running `precisions`, the int8 convs with their bias corrections
// from `calibration`.
std::unique_ptr<graph::Plan> precision_plan(const graph::Graph& exact,
                                            const graph::Int8Calibration& calibration,
                                            const graph::ConvPrecisions& precisions);

}  // namespace starface::eval
