// Checked access to a state dict while a network is built: every key the network needs is
// taken once with its expected shape; keys it may ignore are declared; whatever is left is
// an unknown key. Errors name the key and the expected vs found shape.
#pragma once

#include <set>
#include <string>
#include <utility>

#include "core/tensor.h"

namespace starface::import {

class WeightReader {
 public:
  // `network` names the net in the unknown-key message ("STAR", "RetinaFace").
  WeightReader(const TensorMap& state_dict, std::string network)
      : sd_(state_dict), network_(std::move(network)) {}

  // The tensor under `key` as contiguous float32 (float16/bfloat16/float64 are widened).
  Tensor take(const std::string& key, const Shape& expected);
  // Marks a key that may be present but is never executed (checked for shape when present).
  void allow_unused(const std::string& key, const Shape& expected);
  // Throws kUnexpectedKey naming the first key no one took or allowed.
  void check_all_used() const;

 private:
  const Tensor* find_checked(const std::string& key, const Shape& expected);

  const TensorMap& sd_;
  std::string network_;
  std::set<std::string> seen_;
};

}  // namespace starface::import
