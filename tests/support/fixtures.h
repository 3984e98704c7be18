// Paths into the shared fixtures and small helpers the tests share.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "core/tensor.h"

namespace starface::testing {

// The shared/ folder (env STARFACE_SHARED overrides the configured path).
std::filesystem::path shared_dir();
// shared/fixtures/star/<relative>
std::filesystem::path star_fixture(const std::string& relative);
// shared/fixtures/star/manifest.json, parsed once.
const nlohmann::json& star_manifest();
// The largest |a - b| over two float32 tensors of the same shape (shapes checked).
double max_abs_diff(const Tensor& a, const Tensor& b);
// A float32 tensor of uniform values in [lo, hi) from a fixed seed.
Tensor random_tensor(const Shape& shape, uint32_t seed, float lo = -1.0f, float hi = 1.0f);
// A fresh, empty temporary directory for one test.
std::filesystem::path temp_dir(const std::string& name);

}  // namespace starface::testing
