// Our kernels (head ops and ScaleShift) on every layout they accept (nchw, nhwc, nChw8c, nChw16c),
// whichever one oneDNN happens to choose on this CPU, against the reference kernels; padded
// channels of blocked layouts must come out as zeros; and every SIMD target they are
// compiled for against the portable one, bit for bit.
#include "backends/onednn/head_kernels.h"

#include <gtest/gtest.h>

#include <oneapi/dnnl/dnnl.hpp>
#include <vector>

#include "backends/onednn/scale_shift_kernel.h"
#include "backends/ref/kernels.h"
#include "core/cpu.h"
#include "support/fixtures.h"

namespace starface::backends::onednn {
namespace {

using starface::testing::max_abs_diff;
using starface::testing::random_tensor;
using tag = memory::format_tag;

class HeadKernels : public ::testing::TestWithParam<tag> {
 protected:
  // `t` (dense nchw) laid out as the test's format.
  memory to_layout(const Tensor& t) {
    memory dense(plain_desc(t.shape()), engine_, const_cast<float*>(t.data<float>()));
    memory out(memory::desc(to_dims(t.shape()), memory::data_type::f32, GetParam()), engine_);
    dnnl::reorder(dense, out).execute(stream_, dense, out);
    stream_.wait();
    return out;
  }
  // A memory of the test's format filled with garbage, so untouched elements show.
  memory garbage(const Shape& shape) {
    memory out(memory::desc(to_dims(shape), memory::data_type::f32, GetParam()), engine_);
    float* d = static_cast<float*>(out.get_data_handle());
    std::fill(d, d + out.get_desc().get_size() / sizeof(float), 7.0f);
    return out;
  }
  Tensor to_dense(const memory& m, const Shape& shape) {
    Tensor t(DType::kFloat32, shape);
    memory dense(plain_desc(shape), engine_, t.data<float>());
    memory src = m;
    dnnl::reorder(src, dense).execute(stream_, src, dense);
    stream_.wait();
    return t;
  }
  // Every padded channel of a blocked layout holds 0.
  void expect_zero_padding(const memory& m) {
    const ChannelView v = *channel_view(m.get_desc());
    const float* d = static_cast<const float*>(m.get_data_handle());
    for (int64_t n = 0; n < v.batch; ++n) {
      for (int64_t c = v.channels; c < v.padded_channels; ++c) {
        for (int64_t h = 0; h < v.height; ++h) {
          for (int64_t w = 0; w < v.width; ++w) {
            ASSERT_EQ(d[v.offset(n, c, h, w)], 0.0f) << n << " " << c << " " << h << " " << w;
          }
        }
      }
    }
  }
  float* floats(const memory& m) { return static_cast<float*>(m.get_data_handle()); }

  dnnl::engine engine_{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream_{engine_};
};

const Shape kShapes[] = {{2, 98, 9, 7}, {1, 5, 4, 6}, {3, 16, 8, 8}};

TEST_P(HeadKernels, InstanceNormMatchesReference) {
  for (const Shape& shape : kShapes) {
    // An offset mean checks that the variance is taken around it.
    const Tensor x = random_tensor(shape, 1, 3.0f, 5.0f);
    const Tensor want = ref::instance_norm(x, 1e-5f);
    const memory in = to_layout(x);
    ASSERT_TRUE(channel_view(in.get_desc())) << shape_str(shape);
    const memory out = garbage(shape);
    instance_norm(*channel_view(in.get_desc()), floats(in), floats(out), 1e-5f);
    EXPECT_LE(max_abs_diff(to_dense(out, shape), want), 2e-6) << shape_str(shape);
    expect_zero_padding(out);
    // In place.
    instance_norm(*channel_view(in.get_desc()), floats(in), floats(in), 1e-5f);
    EXPECT_LE(max_abs_diff(to_dense(in, shape), want), 2e-6) << shape_str(shape);
    expect_zero_padding(in);
  }
}

TEST_P(HeadKernels, SoftArgmaxMatchesReference) {
  for (const Shape& shape : kShapes) {
    const Tensor x = random_tensor(shape, 2, 0.0f, 1.0f);
    const Tensor want = ref::soft_argmax(x);
    const memory in = to_layout(x);
    Tensor got(DType::kFloat32, {shape[0], shape[1], 2});
    soft_argmax(*channel_view(in.get_desc()), floats(in), got.data<float>());
    EXPECT_LE(max_abs_diff(got, want), 1e-7) << shape_str(shape);
  }
}

TEST_P(HeadKernels, BoundaryPlanesMatchReferenceExactly) {
  for (const Shape& shape : kShapes) {
    Tensor x = random_tensor(shape, 3, -0.2f, 0.3f);
    // The threshold itself is outside (strict >), the next float above is inside.
    x.data<float>()[(shape[1] - 1) * shape[2] * shape[3]] = 0.05f;
    x.data<float>()[(shape[1] - 1) * shape[2] * shape[3] + 1] = std::nextafter(0.05f, 1.0f);
    const Tensor want = ref::boundary_planes(x, 0.05f);
    const memory in = to_layout(x);
    const Shape out_shape{shape[0], 2, shape[2], shape[3]};
    const memory out = garbage(out_shape);
    boundary_planes(*channel_view(in.get_desc()), floats(in), 0.05f, *channel_view(out.get_desc()),
                    floats(out));
    EXPECT_EQ(max_abs_diff(to_dense(out, out_shape), want), 0.0) << shape_str(shape);
    expect_zero_padding(out);
  }
}

TEST_P(HeadKernels, ScaleShiftMatchesReference) {
  for (const Shape& shape : kShapes) {
    const Tensor x = random_tensor(shape, 4, -2.0f, 2.0f);
    const Tensor scale = random_tensor({shape[1]}, 5, -1.5f, 1.5f);
    const Tensor shift = random_tensor({shape[1]}, 6);
    for (bool relu : {false, true}) {
      const Tensor want = ref::scale_shift(x, scale, shift, relu);
      const memory in = to_layout(x);
      const ChannelView v = *channel_view(in.get_desc());
      std::vector<float> scales(v.padded_channels, 0.0f), shifts(v.padded_channels, 0.0f);
      std::copy_n(scale.data<float>(), shape[1], scales.begin());
      std::copy_n(shift.data<float>(), shape[1], shifts.begin());
      const memory out = garbage(shape);
      onednn::scale_shift(v, floats(in), floats(out), scales.data(), shifts.data(), relu);
      // One fused multiply-add against the reference's double result rounded once.
      EXPECT_LE(max_abs_diff(to_dense(out, shape), want), 4e-7) << shape_str(shape);
      expect_zero_padding(out);
    }
  }
}

// What each kernel writes for one input, as raw bytes, with every own kernel at one target.
std::vector<std::vector<uint8_t>> kernel_outputs(const ChannelView& v, const float* x,
                                                 const float* scales, const float* shifts) {
  const size_t floats = static_cast<size_t>(v.batch * v.image);
  std::vector<std::vector<uint8_t>> out;
  auto keep = [&out](const void* data, size_t bytes) {
    const uint8_t* b = static_cast<const uint8_t*>(data);
    out.emplace_back(b, b + bytes);
  };
  std::vector<float> y(floats, 7.0f);
  instance_norm(v, x, y.data(), 1e-5f);
  keep(y.data(), floats * sizeof(float));
  std::vector<float> centres(static_cast<size_t>(v.batch * v.channels * 2), 7.0f);
  soft_argmax(v, x, centres.data());
  keep(centres.data(), centres.size() * sizeof(float));
  for (bool relu : {false, true}) {
    std::fill(y.begin(), y.end(), 7.0f);
    scale_shift(v, x, y.data(), scales, shifts, relu);
    keep(y.data(), floats * sizeof(float));
  }
  std::vector<uint8_t> q(floats, 7);
  scale_shift_relu_u8(v, x, q.data(), scales, shifts);
  keep(q.data(), q.size());
  return out;
}

// Every SIMD target this CPU runs gives the portable target's bits: the double sums keep
// their order and the multiply-adds are fused on each.
TEST_P(HeadKernels, EverySimdTargetMatchesTheScalarTarget) {
  const char* names[] = {"instance_norm", "soft_argmax", "scale_shift", "scale_shift relu",
                         "scale_shift_relu_u8"};
  for (const Shape& shape : {Shape{2, 98, 9, 7}, Shape{1, 64, 32, 32}, Shape{1, 5, 4, 6}}) {
    const Tensor x = random_tensor(shape, 7, -40.0f, 300.0f);
    const memory in = to_layout(x);
    const ChannelView v = *channel_view(in.get_desc());
    const Tensor scale = random_tensor({v.padded_channels}, 8, -1.5f, 1.5f);
    const Tensor shift = random_tensor({v.padded_channels}, 9, -3.0f, 3.0f);
    set_max_simd_target(SimdTarget::kScalar);
    const auto want = kernel_outputs(v, floats(in), scale.data<float>(), shift.data<float>());
    for (SimdTarget target : {SimdTarget::kAvx512, SimdTarget::kAvx2}) {
      if (!simd_target_supported(target)) continue;
      set_max_simd_target(target);
      ASSERT_EQ(selected_simd_target(), target);
      const auto got = kernel_outputs(v, floats(in), scale.data<float>(), shift.data<float>());
      for (size_t k = 0; k < want.size(); ++k) {
        EXPECT_TRUE(got[k] == want[k])
            << names[k] << " on " << simd_target_name(target) << " " << shape_str(shape);
      }
    }
    set_max_simd_target(std::nullopt);
  }
}

INSTANTIATE_TEST_SUITE_P(Layouts, HeadKernels,
                         ::testing::Values(tag::nchw, tag::nhwc, tag::nChw8c, tag::nChw16c),
                         [](const auto& info) {
                           switch (info.param) {
                             case tag::nchw:
                               return std::string("nchw");
                             case tag::nhwc:
                               return std::string("nhwc");
                             case tag::nChw8c:
                               return std::string("nChw8c");
                             default:
                               return std::string("nChw16c");
                           }
                         });

TEST(Layout, DescLikeKeepsTheLayoutForOtherShapes) {
  for (tag t : {tag::nchw, tag::nhwc, tag::nChw8c, tag::nChw16c}) {
    const memory::desc like({2, 98, 64, 64}, memory::data_type::f32, t);
    const memory::desc pair = desc_like(like, {2, 2, 64, 64});
    EXPECT_EQ(pair, memory::desc({2, 2, 64, 64}, memory::data_type::f32, t));
    EXPECT_EQ(layout_name(pair), layout_name(like));
    EXPECT_EQ(with_batch(like, 1), memory::desc({1, 98, 64, 64}, memory::data_type::f32, t));
    EXPECT_EQ(image_bytes(like), like.get_size() / 2);
  }
}

}  // namespace
}  // namespace starface::backends::onednn
