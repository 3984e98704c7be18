// Limits oneDNN to AVX2 before any primitive exists, so this binary checks the AVX2 kernels
// and their nChw8c layouts (and our kernels on them) on an AVX-512 machine too; our own
// Winograd kernels are limited to AVX2 alike.
#include <gtest/gtest.h>

#include <oneapi/dnnl/dnnl.hpp>

#include "backends/onednn/onednn_backend.h"
#include "backends/x86/winograd.h"

namespace {

const bool kLimited = dnnl::set_max_cpu_isa(dnnl::cpu_isa::avx2) == dnnl::status::success;
const bool kOursLimited = [] {
  starface::set_max_simd_target(starface::SimdTarget::kAvx2);
  return true;
}();

TEST(OnednnAvx2, DispatchIsLimitedToAvx2) {
  ASSERT_TRUE(kLimited);
  const std::string isa = starface::backends::onednn::isa_name();
  // A CPU without AVX2 falls back further; every CPU this project targets has it.
  EXPECT_EQ(isa, "avx2");
  ASSERT_TRUE(kOursLimited);
  EXPECT_EQ(starface::selected_simd_target(), starface::SimdTarget::kAvx2);
}

}  // namespace
