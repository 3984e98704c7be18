#include "nets/star/config.h"

#include <set>

#include "nets/common/landmark_net.h"

namespace starface::star {

std::string Config::layout() const { return nets::layout_of(points); }

namespace {

const Tensor& require(const TensorMap& sd, const std::string& key, int rank) {
  auto it = sd.find(key);
  if (it == sd.end()) {
    throw Error(ErrorCode::kMissingKey, "not a STAR checkpoint: missing key '" + key +
                                            "' (needed to read the network "
                                            "configuration)");
  }
  if (it->second.rank() != rank) {
    throw Error(ErrorCode::kShapeMismatch, "key '" + key + "': expected a " + std::to_string(rank) +
                                               "-d tensor, found shape " +
                                               shape_str(it->second.shape()));
  }
  return it->second;
}

// Depth of the hourglass: the number of nested ".low2" whose tail is a ResBlock.
int count_levels(const TensorMap& sd) {
  std::string prefix = "hgs.0";
  int levels = 0;
  int found = 0;
  while (levels < 16) {
    prefix += ".low2";
    ++levels;
    if (sd.count(prefix + ".bn1.weight")) found = levels;
  }
  if (found == 0) {
    throw Error(ErrorCode::kMissingKey,
                "not a STAR checkpoint: no hourglass core 'hgs.0.low2...low2.bn1.weight'");
  }
  return found;
}

int count_stacks(const TensorMap& sd) {
  std::set<int> stacks;
  for (const auto& [key, tensor] : sd) {
    if (key.rfind("hgs.", 0) != 0) continue;
    const size_t dot = key.find('.', 4);
    const std::string index = key.substr(4, dot - 4);
    if (index.empty() || index.find_first_not_of("0123456789") != std::string::npos ||
        index.size() > 3) {
      throw Error(ErrorCode::kUnexpectedKey, "unexpected key '" + key + "'");
    }
    stacks.insert(std::stoi(index));
  }
  if (stacks.empty()) throw Error(ErrorCode::kMissingKey, "not a STAR checkpoint: no 'hgs.*' keys");
  const int n = static_cast<int>(stacks.size());
  if (*stacks.rbegin() != n - 1) {
    throw Error(ErrorCode::kMissingKey, "hourglass stacks are not numbered 0.." +
                                            std::to_string(n - 1) + ": missing 'hgs.<i>' keys");
  }
  return n;
}

}  // namespace

Config detect_config(const TensorMap& sd) {
  Config c;
  c.channels = static_cast<int>(require(sd, "pre.4.conv3.conv.weight", 4).dim(0));
  c.points = static_cast<int>(require(sd, "out_heatmaps.0.conv.weight", 4).dim(0));
  c.aam = sd.count("e2h_transform.weight") > 0;
  c.edges = c.aam ? static_cast<int>(require(sd, "out_edgemaps.0.conv.weight", 4).dim(0)) : 0;
  c.nstack = count_stacks(sd);
  c.nlevels = count_levels(sd);
  // STAR sizes the hourglass coordinate planes as input_size / nstack; they match the
  // 64x64 trunk of a 256x256 input only with 4 stacks.
  if (c.input_size / c.nstack != c.input_size / 4) {
    throw Error(ErrorCode::kShapeMismatch,
                "STAR with " + std::to_string(c.nstack) +
                    " stacks cannot run on 256x256 inputs: its coordinate planes are sized "
                    "input_size / nstack and must equal the 64x64 trunk (4 stacks)");
  }
  if (c.channels % 2 != 0 || c.channels <= 0 || c.points <= 0) {
    throw Error(ErrorCode::kShapeMismatch,
                "implausible STAR widths: C = " + std::to_string(c.channels) +
                    ", P = " + std::to_string(c.points));
  }
  c.map_size = c.input_size / 4;
  return c;
}

}  // namespace starface::star
