#include "eval/precision_search.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include "backends/onednn/onednn_backend.h"
#include "core/error.h"
#include "graph/cost.h"

namespace starface::eval {

using graph::Precision;

void DriftBudget::check() const {
  const auto bound = [](const char* flag, double v) {
    if (!std::isfinite(v) || v < 0) {
      throw Error(ErrorCode::kBadArgument,
                  std::string(flag) + " must be a finite number of crop pixels >= 0, not " +
                      std::to_string(v));
    }
  };
  bound("--max-drift (the mean)", mean_px);
  bound("--max-drift-p99", p99_px);
  if (p99_px < mean_px) {
    throw Error(ErrorCode::kBadArgument, "--max-drift-p99 " + std::to_string(p99_px) +
                                             " is below --max-drift (the mean) " +
                                             std::to_string(mean_px) +
                                             ": a 99th percentile is never below the mean it caps");
  }
}

bool DriftBudget::holds(const ConvDrift& drift) const {
  return drift.mean_px <= mean_px && drift.p99_px <= p99_px;
}

std::string DriftBudget::str() const {
  char text[96];
  std::snprintf(text, sizeof text, "mean %g / p99 %g crop px", mean_px, p99_px);
  return text;
}

CropSplit split_calibration_crops(size_t crops) {
  if (crops < 2) {
    throw Error(ErrorCode::kBadArgument,
                "measuring drift needs at least 2 calibration crops (1 of every " +
                    std::to_string(kHoldOutEvery) + " is held out); found " +
                    std::to_string(crops));
  }
  CropSplit s;
  for (size_t i = 0; i < crops; ++i) {
    const bool hold =
        i % kHoldOutEvery == kHoldOutEvery - 1 || (crops < kHoldOutEvery && i + 1 == crops);
    (hold ? s.held_out : s.calibrate).push_back(i);
  }
  return s;
}

std::string describe(const CropSplit& split) {
  return std::to_string(split.calibrate.size()) + " crops set the int8 scales, " +
         std::to_string(split.held_out.size()) + " (every " + std::to_string(kHoldOutEvery) +
         "th) are held out to measure the drift";
}

std::vector<Tensor> pick_crops(const std::vector<Tensor>& crops, const std::vector<size_t>& which) {
  std::vector<Tensor> out;
  for (size_t i : which) out.push_back(crops.at(i));
  return out;
}

double relative_mac_time(Precision precision) {
  switch (precision) {
    case Precision::kInt8:
      return 0.25;
    case Precision::kBf16:
      return 0.5;
    case Precision::kFp32:
    case Precision::kFp32Winograd:
      return 1.0;
  }
  return 1.0;
}

namespace {

std::map<std::string, int64_t> conv_macs(const graph::Graph& g) {
  std::map<std::string, int64_t> macs;
  for (const graph::Node& n : g.nodes()) {
    if (n.op == graph::OpKind::kConv2d) macs[n.name] = graph::node_macs(g, n);
  }
  return macs;
}

}  // namespace

double predicted_conv_time(const graph::Graph& exact, const graph::ConvPrecisions& precisions) {
  double total = 0, reduced = 0;
  for (const auto& [conv, macs] : conv_macs(exact)) {
    total += static_cast<double>(macs);
    reduced += static_cast<double>(macs) * relative_mac_time(precisions.of(conv));
  }
  return total > 0 ? reduced / total : 1.0;
}

std::unique_ptr<graph::Plan> precision_plan(const graph::Graph& exact,
                                            const graph::Int8Calibration& calibration,
                                            const graph::ConvPrecisions& precisions) {
  graph::Int8Calibration corrections;
  for (const auto& [conv, shift] : calibration.bias_corrections) {
    if (precisions.of(conv) == Precision::kInt8) corrections.bias_corrections[conv] = shift;
  }
  graph::Graph corrected = exact;
  graph::apply_bias_corrections(corrected, corrections);
  return std::make_unique<backends::onednn::OnednnPlan>(corrected, 1, precisions);
}

namespace {

// Raising one conv: to bf16 or fp32, from the step below.
struct Move {
  std::string conv;
  Precision to;
  double value = 0;  // drift removed per unit of time added
};

// The moves of one conv, ranked by value; `s8`, `s16`: its drift alone in int8, in bf16
// (negative: not measured).
void add_moves(const std::string& conv, double macs, double s8, double s16,
               std::vector<Move>& moves) {
  const double to_fp32 = macs * (1.0 - relative_mac_time(Precision::kInt8));
  if (s16 < 0) {
    moves.push_back({conv, Precision::kFp32, s8 / to_fp32});
    return;
  }
  const double first =
      std::max(s8 - s16, 0.0) /
      (macs * (relative_mac_time(Precision::kBf16) - relative_mac_time(Precision::kInt8)));
  const double second =
      s16 / (macs * (relative_mac_time(Precision::kFp32) - relative_mac_time(Precision::kBf16)));
  if (second > first) {  // bf16 alone buys little: go to fp32 in one move
    moves.push_back({conv, Precision::kFp32, s8 / to_fp32});
  } else {
    moves.push_back({conv, Precision::kBf16, first});
    moves.push_back({conv, Precision::kFp32, second});
  }
}

std::map<std::string, double> mean_by_conv(const std::vector<ConvDrift>& drifts) {
  std::map<std::string, double> m;
  for (const ConvDrift& d : drifts) m[d.conv] = d.mean_px;
  return m;
}

using ConvMacs = std::map<std::string, int64_t>;  // conv name -> multiply-adds at batch 1

std::vector<Move> rank_moves(const ConvMacs& macs, const std::map<std::string, double>& s8,
                             const std::map<std::string, double>& s16) {
  std::vector<Move> moves;
  for (const auto& [conv, drift8] : s8) {
    const auto bf16 = s16.find(conv);
    add_moves(conv, static_cast<double>(std::max<int64_t>(macs.at(conv), 1)), drift8,
              bf16 == s16.end() ? -1.0 : bf16->second, moves);
  }
  // Stable: equal values keep conv-name order, and a conv's bf16 move before its fp32 one
  // (its value is at least the second's, or they were merged).
  std::stable_sort(moves.begin(), moves.end(),
                   [](const Move& a, const Move& b) { return a.value > b.value; });
  return moves;
}

// Every conv int8 at its calibrated scale, then the first `count` moves applied.
graph::ConvPrecisions after_moves(const graph::Int8Calibration& calibration,
                                  const std::vector<Move>& moves, size_t count) {
  graph::ConvPrecisions p = graph::ConvPrecisions::int8_at(calibration.input_scales);
  for (size_t i = 0; i < count; ++i) {
    p.convs[moves[i].conv] = moves[i].to;
    p.int8_input_scales.erase(moves[i].conv);
  }
  return p;
}

// What the file stores: the scales and bias corrections of the int8 convs only (a file's
// biases hold every correction it carries), the raised convs listed with why.
graph::Int8Calibration stored_calibration(const graph::Int8Calibration& calibration,
                                          const graph::ConvPrecisions& chosen,
                                          const std::vector<RaisedConv>& raised) {
  graph::Int8Calibration c = calibration;
  std::erase_if(c.input_scales,
                [&](const auto& entry) { return chosen.of(entry.first) != Precision::kInt8; });
  std::erase_if(c.bias_corrections,
                [&](const auto& entry) { return chosen.of(entry.first) != Precision::kInt8; });
  for (const RaisedConv& r : raised) {
    char why[160];
    std::snprintf(why, sizeof why, "raised to %s by --precision auto (alone in int8: %.3f px)",
                  graph::precision_name(r.precision).c_str(), r.int8_drift_px);
    c.fp32_layers[r.conv] = why;
  }
  return c;
}

std::vector<RaisedConv> raised_convs(const graph::ConvPrecisions& chosen,
                                     const std::map<std::string, double>& s8) {
  std::vector<RaisedConv> raised;
  for (const auto& [conv, drift] : s8) {
    if (chosen.of(conv) != Precision::kInt8) raised.push_back({conv, chosen.of(conv), drift});
  }
  std::stable_sort(raised.begin(), raised.end(), [](const RaisedConv& a, const RaisedConv& b) {
    return a.int8_drift_px > b.int8_drift_px;
  });
  return raised;
}

class DriftMeter {
 public:
  DriftMeter(const graph::Graph& exact, const graph::Int8Calibration& calibration,
             const std::vector<Tensor>& crops)
      : exact_(exact), calibration_(calibration), crops_(crops) {
    backends::onednn::OnednnPlan plan(exact);
    reference_ = landmarks_of(plan, crops);
  }
  ConvDrift operator()(const graph::ConvPrecisions& precisions) {
    ++measurements_;
    const auto plan = precision_plan(exact_, calibration_, precisions);
    return landmark_drift(reference_, landmarks_of(*plan, crops_));
  }
  int measurements() const { return measurements_; }

 private:
  const graph::Graph& exact_;
  const graph::Int8Calibration& calibration_;
  const std::vector<Tensor>& crops_;
  std::vector<Tensor> reference_;
  int measurements_ = 0;
};

std::vector<ConvDrift> sensitivity(const graph::Graph& exact,
                                   const graph::Int8Calibration& calibration,
                                   const std::vector<Tensor>& crops, Precision precision,
                                   const SearchProgress& progress) {
  std::vector<std::string> convs;
  for (const auto& [conv, scale] : calibration.input_scales) convs.push_back(conv);
  const std::string stage = graph::precision_name(precision) + " sensitivity";
  return conv_sensitivity(exact, convs, crops, reduce_one_conv(precision, &calibration),
                          [&](int done, int total) {
                            if (progress) progress(stage, done, total);
                          });
}

// How many of the raised convs lower_back tries: the costliest ones, where a step down saves
// the most time (each try is one measurement).
constexpr size_t kLowerBackTries = 16;

// The precisions to try for a raised conv, lowest (fastest) first.
std::vector<Precision> lower_steps(Precision now, bool bf16) {
  if (now == Precision::kFp32 && bf16) return {Precision::kInt8, Precision::kBf16};
  return {Precision::kInt8};
}

// After the bisection: the raised convs whose raise costs the most time, each tried lower
// (int8, else bf16) and kept lower where the budget still holds. The ranking measures each
// conv alone and the bisection raises a whole prefix, so the costliest raises of the prefix
// are often not needed; returns how many were lowered.
int lower_back(const ConvMacs& macs, const graph::Int8Calibration& calibration,
               const DriftBudget& budget, bool bf16, DriftMeter& measure, PrecisionChoice& c,
               const SearchProgress& progress) {
  std::vector<std::pair<double, std::string>> raised;  // time a raise adds, conv
  for (const auto& [conv, scale] : calibration.input_scales) {
    const Precision now = c.precisions.of(conv);
    if (now == Precision::kInt8) continue;
    raised.push_back({static_cast<double>(macs.at(conv)) *
                          (relative_mac_time(now) - relative_mac_time(Precision::kInt8)),
                      conv});
  }
  std::stable_sort(raised.begin(), raised.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  raised.resize(std::min(raised.size(), kLowerBackTries));
  int lowered = 0, done = 0;
  for (const auto& [cost, conv] : raised) {
    for (const Precision lower : lower_steps(c.precisions.of(conv), bf16)) {
      graph::ConvPrecisions trial = c.precisions;
      trial.convs[conv] = lower;
      if (lower == Precision::kInt8)
        trial.int8_input_scales[conv] = calibration.input_scales.at(conv);
      const ConvDrift d = measure(trial);
      if (budget.holds(d)) {
        c.precisions = std::move(trial);
        c.drift = d;
        ++lowered;
        break;
      }
    }
    if (progress) progress("lowering back", ++done, static_cast<int>(raised.size()));
  }
  return lowered;
}

}  // namespace

PrecisionChoice choose_precisions(const graph::Graph& exact,
                                  const graph::Int8Calibration& calibration,
                                  const std::vector<Tensor>& held_out, const DriftBudget& budget,
                                  bool bf16, const SearchProgress& progress) {
  budget.check();
  if (held_out.empty()) throw Error(ErrorCode::kBadArgument, "the drift search needs crops");
  DriftMeter measure(exact, calibration, held_out);
  const ConvMacs macs = conv_macs(exact);
  PrecisionChoice c;
  c.precisions = graph::ConvPrecisions::int8_at(calibration.input_scales);
  c.all_int8_drift = c.drift = measure(c.precisions);
  c.search = "every calibrated conv int8 holds the budget";
  if (!budget.holds(c.drift)) {
    const auto s8 =
        mean_by_conv(sensitivity(exact, calibration, held_out, Precision::kInt8, progress));
    const auto s16 =
        bf16 ? mean_by_conv(sensitivity(exact, calibration, held_out, Precision::kBf16, progress))
             : std::map<std::string, double>{};
    const std::vector<Move> moves = rank_moves(macs, s8, s16);
    c.moves = static_cast<int>(moves.size());
    // Invariant: the prefix of length `fails` misses the budget; `holds` meets it once
    // measured (the full prefix, all fp32, is exact and is measured only if reached).
    size_t fails = 0, holds = moves.size();
    std::optional<ConvDrift> at_holds;
    const int steps = static_cast<int>(std::ceil(std::log2(moves.size() + 1.0)));
    while (holds - fails > 1) {
      const size_t mid = fails + (holds - fails) / 2;
      const ConvDrift d = measure(after_moves(calibration, moves, mid));
      if (progress) progress("search", measure.measurements() - 1, steps);
      if (budget.holds(d)) {
        holds = mid;
        at_holds = d;
      } else {
        fails = mid;
      }
    }
    c.precisions = after_moves(calibration, moves, holds);
    c.drift = at_holds ? *at_holds : measure(c.precisions);
    if (!budget.holds(c.drift)) {
      throw Error(ErrorCode::kBadArgument, "the drift budget " + budget.str() +
                                               " is impossible: every conv in fp32 drifts " +
                                               std::to_string(c.drift.mean_px) + " / " +
                                               std::to_string(c.drift.p99_px) +
                                               " crop px on the held-out crops");
    }
    const int lowered = lower_back(macs, calibration, budget, bf16, measure, c, progress);
    c.raised = raised_convs(c.precisions, s8);
    c.search = "bisection over " + std::to_string(moves.size()) +
               " raises ranked by drift removed per time added (" +
               (bf16 ? "int8 -> bf16 -> fp32" : "int8 -> fp32: this CPU has no bf16") +
               "), then up to " + std::to_string(kLowerBackTries) +
               " of the costliest raises tried lower: " + std::to_string(lowered) + " lowered";
  }
  c.measurements = measure.measurements();
  c.int8 = stored_calibration(calibration, c.precisions, c.raised);
  c.predicted_conv_time = predicted_conv_time(exact, c.precisions);
  for (const auto& [conv, conv_cost] : macs) {
    ++c.conv_counts[graph::precision_name(c.precisions.of(conv))];
  }
  return c;
}

}  // namespace starface::eval
