#include "graph/precision.h"

#include <algorithm>

namespace starface::graph {

const std::vector<Precision>& all_precisions() {
  static const std::vector<Precision> all{Precision::kFp32, Precision::kFp32Winograd,
                                          Precision::kBf16, Precision::kInt8};
  return all;
}

std::string precision_name(Precision precision) {
  switch (precision) {
    case Precision::kFp32:
      return "fp32";
    case Precision::kFp32Winograd:
      return "fp32-fast";
    case Precision::kBf16:
      return "bf16";
    case Precision::kInt8:
      return "int8";
  }
  return "unknown";
}

std::optional<Precision> parse_precision(std::string_view name) {
  for (Precision p : all_precisions()) {
    if (precision_name(p) == name) return p;
  }
  return std::nullopt;
}

std::string precision_names() {
  std::string text;
  for (Precision p : all_precisions()) text += (text.empty() ? "" : ", ") + precision_name(p);
  return text;
}

ConvPrecisions ConvPrecisions::int8_at(const std::map<std::string, float>& input_scales) {
  ConvPrecisions p;
  for (const auto& [conv, scale] : input_scales) p.convs[conv] = Precision::kInt8;
  p.int8_input_scales = input_scales;
  return p;
}

Precision ConvPrecisions::of(const std::string& conv) const {
  const auto it = convs.find(conv);
  return it == convs.end() ? others : it->second;
}

bool ConvPrecisions::uses(Precision precision) const {
  return others == precision || std::any_of(convs.begin(), convs.end(), [&](const auto& named) {
           return named.second == precision;
         });
}

}  // namespace starface::graph
