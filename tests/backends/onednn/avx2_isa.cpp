// Limits oneDNN to AVX2 before any primitive exists, so this binary checks the AVX2 kernels
// and their nChw8c layouts (and our kernels on them) on an AVX-512 machine too.
#include <gtest/gtest.h>

#include <oneapi/dnnl/dnnl.hpp>

#include "backends/onednn/onednn_backend.h"

namespace {

const bool kLimited = dnnl::set_max_cpu_isa(dnnl::cpu_isa::avx2) == dnnl::status::success;

TEST(OnednnAvx2, DispatchIsLimitedToAvx2) {
  ASSERT_TRUE(kLimited);
  const std::string isa = starface::backends::onednn::isa_name();
  // A CPU without AVX2 falls back further; every CPU this project targets has it.
  EXPECT_EQ(isa, "avx2");
}

}  // namespace
