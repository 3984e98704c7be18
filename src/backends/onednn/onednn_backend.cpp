#include "backends/onednn/onednn_backend.h"

#include <algorithm>
#include <map>
#include <oneapi/dnnl/dnnl.hpp>
#include <set>
#include <tuple>
#include <utility>

#include "backends/onednn/batch_shapes.h"
#include "backends/onednn/constant_cache.h"
#include "backends/onednn/program.h"
#include "backends/onednn/program_builder.h"
#include "core/error.h"
#include "core/threads.h"
#include "core/timer.h"

namespace starface::backends::onednn {
namespace {

using graph::Node;
using graph::OpKind;

// The op as profiles name it: fused convs carry what they absorbed.
std::string profile_op(const Node& node) {
  std::string op = graph::op_name(node.op);
  if (node.op == OpKind::kConv2d) {
    if (node.attrs.bias_map) op += "+BiasMap";
    if (node.attrs.residual) op += "+Add";
  }
  if ((node.op == OpKind::kConv2d || node.op == OpKind::kScaleShift) && node.attrs.relu) {
    op += node.attrs.slope != 0.0f ? "+LeakyRelu" : "+Relu";
  }
  return op;
}

}  // namespace

struct OnednnPlan::Impl {
  Impl(const graph::Graph& g, int per_pass, bool fast, std::map<std::string, float> int8)
      : graph(g),
        images_per_pass(per_pass),
        winograd(fast),
        int8_scales(std::move(int8)),
        engine(dnnl::engine::kind::cpu, 0),
        stream(engine),
        constants(engine, graph) {}

  graph::Graph graph;
  int images_per_pass;
  bool winograd;
  std::map<std::string, float> int8_scales;
  dnnl::engine engine;
  dnnl::stream stream;
  ConstantCache constants;
  std::map<std::string, ValueId> value_by_name;  // -1 where a name is ambiguous
  // One program per batch size, thread count (oneDNN splits work for the threads there
  // are when a primitive is made) and set of computed values asked for.
  using ProgramKey = std::tuple<int64_t, int, std::vector<ValueId>>;
  std::map<ProgramKey, std::unique_ptr<Program>> programs;
  const Program* last = nullptr;
  std::set<int64_t> checked_batches;  // batch sizes whose operand shapes were checked whole

  ValueId resolve(const std::string& name) const;
  void check_input(const Tensor& input) const;
  Program& program(int64_t batch, std::vector<ValueId> computed);
  // Runs `in` through programs of images_per_pass images; returns the computed values
  // asked for, whole. Adds each node's time to `node_ms` when given.
  std::map<ValueId, Tensor> run_passes(const Tensor& in, const std::vector<ValueId>& computed,
                                       std::vector<double>* node_ms, std::vector<bool>* ran);
  void execute(Program& p, std::vector<double>* node_ms);
  std::vector<graph::NodeTime> profile(const std::vector<double>& node_ms,
                                       const std::vector<bool>& ran) const;
};

ValueId OnednnPlan::Impl::resolve(const std::string& name) const {
  if (graph.outputs().count(name)) return graph.output(name);
  auto it = value_by_name.find(name);
  if (it == value_by_name.end()) return graph.output(name);  // throws, listing outputs
  if (it->second < 0) {
    throw Error(ErrorCode::kBadArgument,
                "'" + name + "' names several values of the graph; request a graph output");
  }
  return it->second;
}

void OnednnPlan::Impl::check_input(const Tensor& input) const {
  graph::check_batch_input(graph, input);
}

Program& OnednnPlan::Impl::program(int64_t batch, std::vector<ValueId> computed) {
  std::sort(computed.begin(), computed.end());
  computed.erase(std::unique(computed.begin(), computed.end()), computed.end());
  ProgramKey key{batch, num_threads(), computed};
  auto it = programs.find(key);
  if (it == programs.end()) {
    ProgramBuilder builder(graph, batch, computed, engine, constants, winograd,
                           int8_scales.empty() ? nullptr : &int8_scales);
    it = programs.emplace(std::move(key), builder.build()).first;
  }
  return *it->second;
}

std::map<ValueId, Tensor> OnednnPlan::Impl::run_passes(const Tensor& in,
                                                       const std::vector<ValueId>& computed,
                                                       std::vector<double>* node_ms,
                                                       std::vector<bool>* ran) {
  const int64_t batch = in.dim(0);
  const int64_t per_pass = images_per_pass > 0 ? std::min<int64_t>(images_per_pass, batch) : batch;
  if (per_pass < batch && !checked_batches.count(batch)) {
    check_batch_shapes(graph, batch_shapes(graph, batch));
    checked_batches.insert(batch);
  }
  const int64_t image = in.numel() / batch;
  std::map<ValueId, Tensor> results;
  for (int64_t first = 0; first < batch; first += per_pass) {
    Program& p = program(std::min(per_pass, batch - first), computed);
    last = &p;
    p.input.set_data_handle(const_cast<float*>(in.data<float>()) + first * image);
    for (Program::Output& out : p.outputs) {
      auto it = results.find(out.value);
      if (it == results.end()) {
        Shape shape = out.shape;
        if (out.batched) shape[0] = batch;
        it = results.emplace(out.value, Tensor(DType::kFloat32, shape)).first;
      }
      // Values that depend on constants only have one row, the same in every pass.
      const int64_t row = out.batched ? shape_numel(out.shape) / out.shape[0] : 0;
      out.dense.set_data_handle(it->second.data<float>() + first * row);
    }
    execute(p, node_ms);
    for (const Program::Step& step : p.steps) (*ran)[step.node] = true;
  }
  return results;
}

void OnednnPlan::Impl::execute(Program& p, std::vector<double>* node_ms) {
  try {
    for (Program::Step& step : p.steps) {
      if (!node_ms) {
        step.run(stream);
        continue;
      }
      Timer timer;
      step.run(stream);
      stream.wait();
      (*node_ms)[step.node] += timer.elapsed_ms();
    }
    stream.wait();
  } catch (const dnnl::error& e) {
    throw Error(ErrorCode::kInternal,
                std::string("onednn backend: a primitive failed: ") + e.what());
  }
}

std::vector<graph::NodeTime> OnednnPlan::Impl::profile(const std::vector<double>& node_ms,
                                                       const std::vector<bool>& ran) const {
  std::vector<graph::NodeTime> times;
  for (size_t i = 0; i < ran.size(); ++i) {
    if (!ran[i]) continue;
    const Node& node = graph.nodes()[i];
    auto fused = last->profile_ops.find(static_cast<int>(i));
    times.push_back({node.name, fused != last->profile_ops.end() ? fused->second : profile_op(node),
                     node.stage, node_ms[i]});
  }
  return times;
}

OnednnPlan::OnednnPlan(const graph::Graph& graph, int images_per_pass, bool winograd,
                       std::map<std::string, float> int8_scales) {
  graph::check_well_formed(graph, "onednn backend");
  check_internal(images_per_pass >= 0, "onednn backend: images_per_pass must be >= 0");
  impl_ = std::make_unique<Impl>(graph, images_per_pass, winograd, std::move(int8_scales));
  const auto& values = impl_->graph.values();
  for (ValueId v = 0; v < static_cast<ValueId>(values.size()); ++v) {
    auto [it, inserted] = impl_->value_by_name.emplace(values[v].name, v);
    if (!inserted) it->second = -1;
  }
}

OnednnPlan::~OnednnPlan() = default;

TensorMap OnednnPlan::run(const Tensor& input, const std::vector<std::string>& outputs) {
  Impl& m = *impl_;
  m.check_input(input);
  // Resolve every name before computing anything, so a typo fails fast.
  std::vector<std::pair<std::string, ValueId>> requested;
  std::vector<ValueId> computed;
  for (const std::string& name : outputs) {
    const ValueId v = m.resolve(name);
    requested.emplace_back(name, v);
    if (m.graph.value(v).producer >= 0) computed.push_back(v);
  }

  const Tensor in = input.contiguous();
  std::vector<double> node_ms(m.graph.nodes().size(), 0.0);
  std::vector<bool> ran(m.graph.nodes().size(), false);
  const std::map<ValueId, Tensor> results =
      m.run_passes(in, computed, profiling_ ? &node_ms : nullptr, &ran);
  if (profiling_) profile_ = m.profile(node_ms, ran);

  TensorMap result;
  for (const auto& [name, v] : requested) {
    const graph::Value& value = m.graph.value(v);
    if (value.is_constant()) {
      result[name] = value.constant;
    } else if (v == m.graph.input()) {
      result[name] = in;
    } else {
      result[name] = results.at(v);
    }
  }
  return result;
}

OnednnPlan::ProgramStats OnednnPlan::last_program_stats() const {
  ProgramStats stats;
  stats.constant_bytes = impl_->constants.bytes();
  if (const Program* p = impl_->last) {
    stats.activation_bytes = p->pool.total_bytes();
    stats.buffers = p->pool.count();
    stats.layout_reorders = p->layout_reorders;
    stats.accumulator_copies = p->accumulator_copies;
    stats.winograd_convs = p->winograd_convs;
    stats.int8_convs = p->int8_convs;
    stats.steps = static_cast<int>(p->steps.size());
  }
  return stats;
}

std::unique_ptr<graph::Plan> compile(const graph::Graph& graph, const std::string& precision,
                                     const std::map<std::string, float>& int8_scales) {
  if (precision != "fp32" && precision != "fp32-fast" && precision != "int8") {
    throw Error(ErrorCode::kBadArgument, "onednn backend: unknown precision '" + precision +
                                             "' (available: fp32, fp32-fast, int8)");
  }
  if (precision == "int8" && int8_scales.empty()) {
    throw Error(ErrorCode::kBadArgument,
                "precision 'int8' needs a calibrated model file: starface convert CHECKPOINT -o "
                "MODEL.safetensors --precision int8 --calibrate IMAGES_OR_VIDEOS...");
  }
  return std::make_unique<OnednnPlan>(
      graph, 1, precision == "fp32-fast",
      precision == "int8" ? int8_scales : std::map<std::string, float>{});
}

bool has_vnni() {
  using dnnl::cpu_isa;
  const cpu_isa isa = dnnl::get_effective_cpu_isa();
  return isa == cpu_isa::avx2_vnni || isa == cpu_isa::avx512_core_vnni ||
         isa == cpu_isa::avx512_core_bf16 || isa == cpu_isa::avx512_core_amx;
}

float int8_input_scale(float calibrated) {
  static const bool vnni = has_vnni();
  return vnni ? calibrated : calibrated * (255.0f / 127.0f);
}

std::string isa_name() {
  using dnnl::cpu_isa;
  switch (dnnl::get_effective_cpu_isa()) {
    case cpu_isa::sse41:
      return "sse41";
    case cpu_isa::avx:
      return "avx";
    case cpu_isa::avx2:
      return "avx2";
    case cpu_isa::avx2_vnni:
      return "avx2_vnni";
    case cpu_isa::avx512_mic:
      return "avx512_mic";
    case cpu_isa::avx512_mic_4ops:
      return "avx512_mic_4ops";
    case cpu_isa::avx512_core:
      return "avx512_core";
    case cpu_isa::avx512_core_vnni:
      return "avx512_core_vnni";
    case cpu_isa::avx512_core_bf16:
      return "avx512_core_bf16";
    case cpu_isa::avx512_core_amx:
      return "avx512_core_amx";
    default:
      return "unknown";
  }
}

}  // namespace starface::backends::onednn
