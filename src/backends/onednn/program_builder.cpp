#include "backends/onednn/program_builder.h"

#include <algorithm>
#include <string>

#include "backends/onednn/lowering.h"
#include "backends/onednn/onednn_backend.h"
#include "core/error.h"
#include "graph/int8.h"

namespace starface::backends::onednn {

ProgramBuilder::ProgramBuilder(const graph::Graph& graph, int64_t batch,
                               const std::vector<ValueId>& requested, const dnnl::engine& engine,
                               ConstantCache& constants, const graph::ConvPrecisions& precisions)
    : graph_(graph),
      engine_(engine),
      constants_(constants),
      precisions_(precisions),
      program_(std::make_unique<Program>()),
      schedule_(make_schedule(graph, requested)) {
  BatchShapes shapes = batch_shapes(graph, batch);
  shapes_ = std::move(shapes.shapes);
  batched_ = std::move(shapes.batched);
}

std::unique_ptr<Program> ProgramBuilder::build() {
  slots_.assign(graph_.values().size(), Slot{});
  const ValueId input = graph_.input();
  program_->input = dnnl::memory(plain_desc(shapes_[input]), engine_, DNNL_MEMORY_NONE);
  slots_[input] = Slot{plain_desc(shapes_[input]), program_->input, -1};
  scratchpad_ = program_->pool.acquire(0);
  owner_.push_back(-1);

  for (position_ = 0; position_ < static_cast<int>(schedule_.order.size()); ++position_) {
    current_ = schedule_.order[position_];
    lower_current();
  }
  program_->pool.allocate();
  return std::move(program_);
}

void ProgramBuilder::lower_current() {
  const graph::Node& n = node();
  try {
    lower_node(*this, n);
  } catch (const dnnl::error& e) {
    throw Error(ErrorCode::kInternal, "node '" + n.name + "' (" + graph::op_name(n.op) +
                                          "): oneDNN refused it: " + e.what());
  } catch (const Error& e) {
    throw Error(e.code(), "node '" + n.name + "' (" + graph::op_name(n.op) + "): " + e.what());
  }
  check_internal(static_cast<bool>(slots_[n.output].mem),
                 "onednn backend: node " + n.name + " produced no output");
  if (schedule_.requested[n.output]) extract(n.output);

  for (int t : temps_) program_->pool.release(t);
  temps_.clear();
  std::vector<ValueId> inputs = n.inputs;
  if (const graph::Node* up = fused_upsample()) inputs.push_back(up->inputs[0]);
  std::sort(inputs.begin(), inputs.end());
  inputs.erase(std::unique(inputs.begin(), inputs.end()), inputs.end());
  for (ValueId v : inputs) {
    if (schedule_.last_use[v] == position_) release(v);
  }
  if (schedule_.last_use[n.output] < 0) release(n.output);
}

// A requested value goes to the caller's tensor right away, so its buffer is free for
// reuse afterwards like any other.
void ProgramBuilder::extract(ValueId v) {
  Program::Output out{v, shapes_[v], batched_[v],
                      dnnl::memory(plain_desc(shapes_[v]), engine_, DNNL_MEMORY_NONE)};
  dnnl::reorder reorder(slots_[v].mem, out.dense);
  auto args = std::unordered_map<int, dnnl::memory>{{DNNL_ARG_FROM, slots_[v].mem},
                                                    {DNNL_ARG_TO, out.dense}};
  program_->steps.push_back(
      {current_, [reorder, args](dnnl::stream& s) { reorder.execute(s, args); }});
  program_->outputs.push_back(std::move(out));
}

void ProgramBuilder::release(ValueId v) {
  const int buffer = slots_[v].buffer;
  if (buffer >= 0 && owner_[buffer] == v) {
    program_->pool.release(buffer);
    owner_[buffer] = -1;
  }
}

memory::desc ProgramBuilder::desc(ValueId v) const {
  if (is_constant(v)) return plain_desc(shapes_[v]);
  check_internal(static_cast<bool>(slots_[v].mem),
                 "onednn backend: " + graph_.value(v).name + " read before it is computed");
  return slots_[v].desc;
}

dnnl::memory ProgramBuilder::read(ValueId v) {
  if (is_constant(v)) return constants_.plain(v);
  // Kernels that read a value as it is laid out take float32 only.
  check_internal(desc(v).data.data_type == dnnl_f32,
                 "onednn backend: " + graph_.value(v).name + " is stored as int8 or bf16");
  return slots_[v].mem;
}

dnnl::memory ProgramBuilder::read_as(ValueId v, const memory::desc& want) {
  if (is_constant(v)) return constants_.get(v, want);
  return read_scaled(v, want, 1.0f);
}

dnnl::memory ProgramBuilder::read_scaled(ValueId v, const memory::desc& want, float scale) {
  const Slot& slot = slots_[v];
  if (desc(v) == want && slot.scale == scale) return slot.mem;
  dnnl::memory converted = temp(want);
  dnnl::primitive_attr a = attr();
  if (slot.scale != scale) a.set_output_scales(0, {slot.scale / scale});
  const dnnl::reorder::primitive_desc pd(slot.mem, converted, a);
  add(dnnl::reorder(pd), {{DNNL_ARG_FROM, slot.mem}, {DNNL_ARG_TO, converted}},
      pd.scratchpad_desc());
  ++program_->layout_reorders;
  return converted;
}

std::optional<float> ProgramBuilder::int8_input_scale(const graph::Node& conv) const {
  if (precision_of(conv) != graph::Precision::kInt8 || !graph::int8_candidate(graph_, conv)) {
    return std::nullopt;
  }
  const auto& scales = precisions_.int8_input_scales;
  const auto it = scales.find(conv.name);
  if (it == scales.end() || !(it->second > 0.0f)) return std::nullopt;
  // An int8 (signed) input keeps its 8 bits without VNNI too: oneDNN halves the weights
  // of such convs instead (its s8s8 compensation).
  if (graph::int8_input_signed(graph_, conv)) return it->second;
  return onednn::int8_input_scale(it->second);
}

std::optional<std::vector<const graph::Node*>> ProgramBuilder::input_readers(ValueId v) const {
  if (schedule_.requested[v]) return std::nullopt;
  std::vector<const graph::Node*> readers;
  for (const graph::Node& n : graph_.nodes()) {
    const auto reads = std::count(n.inputs.begin(), n.inputs.end(), v);
    if (reads == 0) continue;
    if (reads != 1 || n.inputs[0] != v) return std::nullopt;
    readers.push_back(&n);
  }
  if (readers.empty()) return std::nullopt;
  return readers;
}

std::optional<float> ProgramBuilder::int8_readers_scale(ValueId v) const {
  const auto readers = input_readers(v);
  if (!readers) return std::nullopt;
  std::optional<float> scale;
  for (const graph::Node* n : *readers) {
    const std::optional<float> s = int8_input_scale(*n);
    if (!s || (scale && *scale != *s)) return std::nullopt;
    scale = s;
  }
  return scale;
}

bool ProgramBuilder::only_bf16_conv_readers(ValueId v) const {
  const auto readers = input_readers(v);
  return readers && std::all_of(readers->begin(), readers->end(), [&](const graph::Node* n) {
           return n->op == graph::OpKind::kConv2d && precision_of(*n) == graph::Precision::kBf16;
         });
}

void ProgramBuilder::fall_back(const std::string& why) { program_->fallbacks[node().name] = why; }

void ProgramBuilder::set_output_scale(float scale) { slots_[node().output].scale = scale; }

bool ProgramBuilder::can_overwrite(ValueId v) const {
  if (is_constant(v)) return false;
  const Slot& s = slots_[v];
  return s.buffer >= 0 && owner_[s.buffer] == v && schedule_.last_use[v] == position_;
}

const graph::Node* ProgramBuilder::fused_upsample() const {
  const int up = schedule_.fused_upsample[current_];
  return up >= 0 ? &graph_.nodes()[up] : nullptr;
}

void ProgramBuilder::set_profile_op(const std::string& op) { program_->profile_ops[current_] = op; }

dnnl::memory ProgramBuilder::bound(const memory::desc& desc, int buffer) {
  dnnl::memory mem(desc, engine_, DNNL_MEMORY_NONE);
  program_->pool.grow(buffer, desc.get_size());
  program_->pool.bind(buffer, mem);
  return mem;
}

dnnl::memory ProgramBuilder::output(const memory::desc& desc) {
  const int buffer = program_->pool.acquire(desc.get_size());
  if (buffer >= static_cast<int>(owner_.size())) owner_.resize(buffer + 1, -1);
  owner_[buffer] = node().output;
  dnnl::memory mem = bound(desc, buffer);
  slots_[node().output] = Slot{desc, mem, buffer};
  return mem;
}

dnnl::memory ProgramBuilder::output_over(ValueId v, const memory::desc& desc) {
  check_internal(can_overwrite(v), "onednn backend: " + graph_.value(v).name +
                                       " is still read after node " + node().name);
  const int buffer = slots_[v].buffer;
  owner_[buffer] = node().output;
  dnnl::memory mem = bound(desc, buffer);
  slots_[node().output] = Slot{desc, mem, buffer};
  return mem;
}

dnnl::memory ProgramBuilder::temp(const memory::desc& desc) {
  const int buffer = program_->pool.acquire(desc.get_size());
  if (buffer >= static_cast<int>(owner_.size())) owner_.resize(buffer + 1, -1);
  temps_.push_back(buffer);
  return bound(desc, buffer);
}

void ProgramBuilder::add(const dnnl::primitive& primitive,
                         std::unordered_map<int, dnnl::memory> args,
                         const memory::desc& scratchpad) {
  if (scratchpad.get_size() > 0) args[DNNL_ARG_SCRATCHPAD] = bound(scratchpad, scratchpad_);
  program_->steps.push_back({current_, [primitive, args = std::move(args)](dnnl::stream& s) {
                               primitive.execute(s, args);
                             }});
}

void ProgramBuilder::add(std::function<void()> kernel) {
  // oneDNN may still be finishing an earlier primitive on the stream.
  program_->steps.push_back({current_, [kernel = std::move(kernel)](dnnl::stream& s) {
                               s.wait();
                               kernel();
                             }});
}

dnnl::memory ProgramBuilder::output_accumulating_onto(ValueId v, const memory::desc& desc) {
  if (can_overwrite(v) && this->desc(v) == desc) return output_over(v, desc);
  const dnnl::memory out = output(desc);
  copy(read(v), out);
  ++program_->accumulator_copies;
  return out;
}

void ProgramBuilder::copy(const dnnl::memory& from, const dnnl::memory& to) {
  const dnnl::reorder::primitive_desc pd(from, to, attr());
  add(dnnl::reorder(pd), {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}}, pd.scratchpad_desc());
}

dnnl::primitive_attr ProgramBuilder::attr(const dnnl::post_ops& post_ops) const {
  dnnl::primitive_attr a;
  a.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  a.set_fpmath_mode(dnnl::fpmath_mode::strict);
  a.set_post_ops(post_ops);
  return a;
}

}  // namespace starface::backends::onednn
