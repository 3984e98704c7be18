// Lowers a graph to a Program for one batch size: walks the nodes the requested values need,
// asks each op's lowering (lowering.h) for its primitives, tracks every value's layout and
// buffer, and frees a buffer after its value's last reader so the next op can reuse it.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "backends/onednn/batch_shapes.h"
#include "backends/onednn/constant_cache.h"
#include "backends/onednn/layout.h"
#include "backends/onednn/program.h"
#include "backends/onednn/schedule.h"
#include "graph/graph.h"
#include "graph/precision.h"

namespace starface::backends::onednn {

using graph::ValueId;

class ProgramBuilder {
 public:
  // `precisions`: what each conv runs in (graph/precision.h); must outlive the builder.
  ProgramBuilder(const graph::Graph& graph, int64_t batch, const std::vector<ValueId>& requested,
                 const dnnl::engine& engine, ConstantCache& constants,
                 const graph::ConvPrecisions& precisions);

  // Throws starface::Error naming the node at fault (kShapeMismatch for operands that do
  // not fit, kInternal when oneDNN refuses a primitive).
  std::unique_ptr<Program> build();

  // --- What an op's lowering uses (the node being lowered is node()). ---
  const graph::Graph& graph() const { return graph_; }
  const graph::Node& node() const { return graph_.nodes()[current_]; }
  int node_index() const { return current_; }
  // For an Add that absorbs an Upsample2x (see Schedule), that node; else null.
  const graph::Node* fused_upsample() const;
  const dnnl::engine& engine() const { return engine_; }
  ConstantCache& constants() { return constants_; }
  // The precision `conv` is assigned (its lowering may still fall back to float32).
  graph::Precision precision_of(const graph::Node& conv) const { return precisions_.of(conv.name); }
  // The node being lowered runs in float32 although assigned another precision, because
  // `why`: listed in ProgramStats::fallbacks.
  void fall_back(const std::string& why);
  void count_bf16() { ++program_->bf16_convs; }
  // Whether every reader of `v` is a conv assigned bf16 taking it as its input (and v is
  // not requested): v may then be stored as bf16.
  bool only_bf16_conv_readers(ValueId v) const;
  // Counts the node as run by our Winograd kernel, for ProgramStats.
  void count_winograd() { ++program_->winograd_convs; }
  // The scale of `conv`'s input when it runs in int8 (x ~ scale * q, q in 0..255; 0..127
  // without VNNI, see onednn::int8_input_scale; -128..127 for a signed input, see
  // graph::int8_input_signed), else nullopt: not assigned int8, not
  // calibrated, or a shape the int8 lowering does not take.
  std::optional<float> int8_input_scale(const graph::Node& conv) const;
  // When every reader of `v` is a conv taking it as its input in int8 at one scale (and v
  // is not requested), that scale: v may then be stored as uint8. Else nullopt.
  std::optional<float> int8_readers_scale(ValueId v) const;
  void count_int8() { ++program_->int8_convs; }

  // The value's shape at this batch size (constants keep their own).
  const Shape& shape(ValueId v) const { return shapes_.at(v); }
  bool is_constant(ValueId v) const { return graph_.value(v).is_constant(); }
  // The value's current layout (constants: dense).
  memory::desc desc(ValueId v) const;
  // The value as laid out now.
  dnnl::memory read(ValueId v);
  // The value as `want`: itself when the layouts agree; a constant reordered once; an
  // activation reordered into a temporary at every run (a uint8 one back to real values).
  dnnl::memory read_as(ValueId v, const memory::desc& want);
  // Activation `v` as `want` holding v / `scale` (`want` uint8: quantized, rounded to
  // nearest and saturated): itself when it is stored so already, else reordered.
  dnnl::memory read_scaled(ValueId v, const memory::desc& want, float scale);
  // Whether the node being lowered may write its output over `v`: v's last reader is this
  // node and v is an activation (not the caller's input, not a constant).
  bool can_overwrite(ValueId v) const;

  // The node's output in a buffer of its own, or over `v` (can_overwrite(v) must hold).
  dnnl::memory output(const memory::desc& desc);
  dnnl::memory output_over(ValueId v, const memory::desc& desc);
  // The node's output is stored as uint8 q with value = scale * q.
  void set_output_scale(float scale);
  // A buffer that lives until the node is lowered.
  dnnl::memory temp(const memory::desc& desc);

  // The name profiles give the node when it absorbed another ("Upsample2x+Add").
  void set_profile_op(const std::string& op);

  // Steps of the node, run in the order added. A primitive gets the shared scratchpad.
  void add(const dnnl::primitive& primitive, std::unordered_map<int, dnnl::memory> args,
           const memory::desc& scratchpad);
  void add(std::function<void()> kernel);
  // Copies `from` into `to`, converting the layout where they differ.
  void copy(const dnnl::memory& from, const dnnl::memory& to);
  // The node's output, holding `v` to accumulate onto: v's own buffer when the node may
  // overwrite it and the layouts agree, else a copy.
  dnnl::memory output_accumulating_onto(ValueId v, const memory::desc& desc);

  // Attributes for every primitive: strict float32 math (no implicit bf16, whatever
  // DNNL_DEFAULT_FPMATH_MODE says) and the program's own scratchpad.
  dnnl::primitive_attr attr(const dnnl::post_ops& post_ops = dnnl::post_ops()) const;

 private:
  struct Slot {
    memory::desc desc;
    dnnl::memory mem;
    int buffer = -1;     // -1: the caller's input or a constant
    float scale = 1.0f;  // value = scale * stored (a uint8 value; 1 for float32)
  };

  // The readers of `v` when each reads it once, as its first input, and v is not requested;
  // else (or when nothing reads it) nullopt.
  std::optional<std::vector<const graph::Node*>> input_readers(ValueId v) const;
  void lower_current();
  void extract(ValueId v);
  void release(ValueId v);
  dnnl::memory bound(const memory::desc& desc, int buffer);

  const graph::Graph& graph_;
  dnnl::engine engine_;
  ConstantCache& constants_;
  const graph::ConvPrecisions& precisions_;
  std::unique_ptr<Program> program_;

  std::vector<Shape> shapes_;
  std::vector<bool> batched_;  // per value: depends on the input, so carries the batch
  Schedule schedule_;
  std::vector<Slot> slots_;
  std::vector<ValueId> owner_;  // per buffer: the value living in it, -1 when free
  std::vector<int> temps_;
  int scratchpad_ = -1;
  int current_ = -1;   // the node being lowered
  int position_ = -1;  // its place in schedule_.order
};

}  // namespace starface::backends::onednn
