// The arithmetic a convolution runs in, and which conv of a network runs in which.
// Front ends (CLI, Python, bench) parse the user's word once, with parse_precision; below
// that everything speaks Precision. A uniform `--precision X` is the policy "every conv
// gets X" (ConvPrecisions::uniform); a calibrated int8 model file stores its own per-conv
// assignment; the backend runs each conv in its precision where the conv qualifies and
// records every fallback with its reason (OnednnPlan's ProgramStats).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace starface::graph {

enum class Precision {
  kFp32,          // direct float32 convolution: exact, the goldens' arithmetic
  kFp32Winograd,  // float32, 3x3 stride-1 convs as Winograd F(4x4, 3x3) where faster
  kBf16,          // bfloat16 inputs and weights (8-bit mantissa), float32 accumulation
  kInt8,          // uint8 inputs x int8 weights at calibrated scales, int32 accumulation
};

// Exact first: "fp32", "fp32-fast", "bf16", "int8" (the names users type).
const std::vector<Precision>& all_precisions();
std::string precision_name(Precision precision);
// nullopt for a name that is none of all_precisions()'.
std::optional<Precision> parse_precision(std::string_view name);
// "fp32, fp32-fast, bf16, int8", for messages.
std::string precision_names();

// Which precision each conv of a graph runs in, by conv node name.
struct ConvPrecisions {
  Precision others = Precision::kFp32;             // every conv not named in `convs`
  std::map<std::string, Precision> convs;          // conv node name -> its precision
  std::map<std::string, float> int8_input_scales;  // the calibrated input scale of int8 convs

  static ConvPrecisions uniform(Precision precision) { return {precision, {}, {}}; }
  // Each conv named in `input_scales` in int8 at its calibrated input scale, the rest fp32.
  static ConvPrecisions int8_at(const std::map<std::string, float>& input_scales);
  Precision of(const std::string& conv) const;
  // Whether any conv may run in `precision`.
  bool uses(Precision precision) const;
};

}  // namespace starface::graph
