// The oneDNN backend: the product's default fast path, exact float32.
//
// Convolutions run as oneDNN primitives in the layout oneDNN picks for this CPU (nhwc for
// its AVX-512 brgemm kernels, nChw8c on AVX2), with bias, bias map, residual and ReLU
// fused. Every other op works on that same layout, so nothing is reordered between convs;
// the head ops oneDNN lacks (instance norm, soft-argmax, boundary planes) are our own
// kernels over the same layouts. For each batch size (and set of requested outputs) the
// first run builds a program: primitives, weights reordered once and shared between batch
// sizes, and a memory plan that reuses a buffer after its value's last reader.
//
// A batch runs as passes of `images_per_pass` images through one program: on the 2-core
// AVX-512 machine STAR's maps of one image already keep both cores busy, and larger passes
// only spill the caches (160 ms/face at 1 image per pass, 177 at 4, measured). Every row
// therefore comes out exactly as it would alone.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/plan.h"

namespace starface::backends::onednn {

class OnednnPlan : public graph::Plan {
 public:
  // Copies the graph (constants share storage with it), so `graph` may go away. Throws
  // kInternal when the graph breaks the IR's rules, as the reference backend does.
  // `images_per_pass` 0 runs each batch in one pass.
  // `winograd` (--precision fp32-fast): 3x3 stride-1 convs run as our Winograd F(4x4, 3x3)
  // kernel where that is measured faster for the layer's shape (winograd_conv.cpp).
  // `int8_scales` (--precision int8): conv node name -> its input's calibrated scale; those
  // convs run as uint8 x int8 convolutions (int8_conv.cpp), the others in float32.
  explicit OnednnPlan(const graph::Graph& graph, int images_per_pass = 1, bool winograd = false,
                      std::map<std::string, float> int8_scales = {});
  ~OnednnPlan() override;

  // As RefPlan::run: `input` is float32 [N, ...] with the graph input's shape apart from N
  // (kBadDtype / kShapeMismatch otherwise); `outputs` names graph outputs or, for
  // layer-by-layer comparisons, any value; an unknown name is kBadArgument listing the
  // graph outputs. Outputs are dense float32 tensors of their own. One run at a time.
  TensorMap run(const Tensor& input, const std::vector<std::string>& outputs) override;

  // About the program the last run used (for tests and reports).
  struct ProgramStats {
    size_t activation_bytes = 0;  // planned activation and scratch buffers
    size_t constant_bytes = 0;    // reordered weights and other laid-out constants (all programs)
    int buffers = 0;
    int layout_reorders = 0;     // activations converted between layouts on the way
    int accumulator_copies = 0;  // residuals copied because a later node still reads them
    int winograd_convs = 0;      // convs run by our Winograd kernel
    int int8_convs = 0;          // convs run in int8
    int steps = 0;
  };
  ProgramStats last_program_stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Compiles `graph` for oneDNN (an OnednnPlan). Programs are built on first use per batch.
// `precision`: "fp32" (exact direct convolution), "fp32-fast" (Winograd where faster) or
// "int8" (the convs named in `int8_scales`, which must not be empty); kBadArgument otherwise.
std::unique_ptr<graph::Plan> compile(const graph::Graph& graph,
                                     const std::string& precision = "fp32",
                                     const std::map<std::string, float>& int8_scales = {});

// How fp32-fast chooses between Winograd and oneDNN's direct conv for a layer: by timing
// both once per shape (kMeasure, the default), or Winograd wherever the layer qualifies
// (kAlways: tests, so the kernel runs whatever the timings say).
enum class WinogradChoice { kMeasure, kAlways };
void set_winograd_choice(WinogradChoice choice);

// The scale an int8 conv quantizes its input at, for a calibrated scale (input max / 255).
// Without VNNI, oneDNN multiplies uint8 x int8 pairs with vpmaddubsw, whose int16 pair sums
// saturate for inputs above 127 (255 * 127 * 2 > 32767): there inputs use 7 bits, at
// twice the calibrated scale (255 / 127).
float int8_input_scale(float calibrated);
bool has_vnni();

// The instruction set oneDNN dispatches to on this CPU ("avx512_core", "avx2", ...).
std::string isa_name();

}  // namespace starface::backends::onednn
