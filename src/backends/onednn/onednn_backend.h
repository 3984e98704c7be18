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
#include "graph/precision.h"

namespace starface::backends::onednn {

class OnednnPlan : public graph::Plan {
 public:
  // Copies the graph (constants share storage with it), so `graph` may go away. Throws
  // kInternal when the graph breaks the IR's rules, as the reference backend does.
  // `images_per_pass` 0 runs each batch in one pass.
  // `precisions`: each conv runs in its precision where it qualifies, else in float32
  // (ProgramStats::fallbacks says why): fp32-fast as our Winograd F(4x4, 3x3) kernel where
  // that is measured faster for the layer's shape (winograd_conv.cpp), bf16 as oneDNN's
  // bf16 convolution (bf16_conv.cpp), int8 as a uint8 x int8 convolution at the calibrated
  // input scale (int8_conv.cpp).
  explicit OnednnPlan(const graph::Graph& graph, int images_per_pass = 1,
                      graph::ConvPrecisions precisions = {});
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
    int bf16_convs = 0;          // convs run in bf16
    int steps = 0;
    // Convs that run in float32 although assigned another precision: name -> why.
    std::map<std::string, std::string> fallbacks;
  };
  ProgramStats last_program_stats() const;
  std::map<std::string, std::string> precision_fallbacks() const override {
    return last_program_stats().fallbacks;
  }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Compiles `graph` for oneDNN (an OnednnPlan). Programs are built on first use per batch.
// kBadArgument when a precision cannot run here at all: int8 without calibrated scales,
// bf16 on a CPU without avx512_bf16 (check_supported).
std::unique_ptr<graph::Plan> compile(const graph::Graph& graph,
                                     const graph::ConvPrecisions& precisions = {});

// Whether lower_node lowers `op` (every op of the IR today; a new op is unsupported here
// until it has a lowering, and the engine then places it on the reference backend).
bool supports_op(graph::OpKind op);

// Throws kBadArgument naming what is missing when `precision` cannot run on this CPU
// (bf16 needs avx512_bf16: oneDNN would emulate it far slower than float32).
void check_supported(graph::Precision precision);
// Whether this CPU multiplies bf16 natively (avx512_bf16).
bool has_bf16();

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
