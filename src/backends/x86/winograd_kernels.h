// Internal to winograd.cpp: what one run of a layer hands its per-ISA kernels, and the
// table of kernels each ISA provides. The OpenMP loops stay outside the ISA-specific code;
// each kernel call does one work item.
#pragma once

#include <cstdint>

#include "backends/x86/winograd.h"

namespace starface::backends::x86::detail {

constexpr int64_t kTile = 4;         // output pixels per tile side, F(4x4, 3x3)
constexpr int64_t kTileIn = 6;       // input pixels per tile side
constexpr int64_t kPoints = 36;      // transformed-domain points per tile (6 x 6)
constexpr int64_t kChannelPad = 16;  // V / M / U rows are padded to multiples of this
// Floats between the matrices of consecutive points beyond their size: one cache line, so
// the 36 points of a tile, which a transform reads or writes together, do not all fall in
// one L1 set (their distance would otherwise be a multiple of 4 KiB).
constexpr int64_t kPointSkew = 16;

struct Problem {
  const float* src = nullptr;
  ActivationView in;
  float* dst = nullptr;
  ActivationView out;
  int64_t in_channels = 0, out_channels = 0;
  int64_t in_stride = 0;   // floats per row of V: in_channels padded to kChannelPad
  int64_t out_stride = 0;  // floats per row of M: out_channels padded to kChannelPad and panel
  int64_t tiles_y = 0, tiles_x = 0, tiles = 0;  // tiles = batch * tiles_y * tiles_x
  float* v = nullptr;  // [36][tiles][in_stride]: transformed input, points v_point apart
  float* m = nullptr;  // [36][tiles][out_stride]: transformed output, m_point apart
  int64_t v_point = 0, m_point = 0;
  int64_t row_base = 0;         // the tile in row 0 of v and m
  const float* u = nullptr;     // [36][out_stride / panel][in_channels][panel]: weights
  const float* bias = nullptr;  // [out_stride]
  const float* map = nullptr;   // [height][width][out_stride] or null
  bool relu = false;
  bool accumulate = false;
};

struct Kernels {
  int64_t lanes;  // floats per vector
  int64_t panel;  // output channels per GEMM panel (two vectors)
  int64_t rows;   // tiles per GEMM micro-kernel call
  // Transforms input tile `tile`, channels [c0, c0 + lanes), into p.v.
  void (*input_tile)(const Problem& p, int64_t tile, int64_t c0);
  // M[point] rows [row_begin, row_end) = V[point] rows * U[point], all output channels.
  void (*gemm_rows)(const Problem& p, int64_t point, int64_t row_begin, int64_t row_end);
  // Transforms output tile `tile`, channels [c0, c0 + lanes), with the epilogue, into dst.
  void (*output_tile)(const Problem& p, int64_t tile, int64_t c0);
};

}  // namespace starface::backends::x86::detail
