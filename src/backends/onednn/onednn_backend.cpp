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
#include "graph/value_lookup.h"

namespace starface::backends::onednn {

using graph::Node;

struct OnednnPlan::Impl {
  Impl(const graph::Graph& g, int per_pass, graph::ConvPrecisions conv_precisions)
      : graph(g),
        images_per_pass(per_pass),
        precisions(std::move(conv_precisions)),
        engine(dnnl::engine::kind::cpu, 0),
        stream(engine),
        constants(engine, graph) {}

  graph::Graph graph;
  int images_per_pass;
  graph::ConvPrecisions precisions;
  dnnl::engine engine;
  dnnl::stream stream;
  ConstantCache constants;
  graph::ValueLookup values{graph};
  // One program per batch size, thread count (oneDNN splits work for the threads there
  // are when a primitive is made) and set of computed values asked for.
  using ProgramKey = std::tuple<int64_t, int, std::vector<ValueId>>;
  std::map<ProgramKey, std::unique_ptr<Program>> programs;
  const Program* last = nullptr;
  std::set<int64_t> checked_batches;  // batch sizes whose operand shapes were checked whole

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

void OnednnPlan::Impl::check_input(const Tensor& input) const {
  graph::check_batch_input(graph, input);
}

Program& OnednnPlan::Impl::program(int64_t batch, std::vector<ValueId> computed) {
  std::sort(computed.begin(), computed.end());
  computed.erase(std::unique(computed.begin(), computed.end()), computed.end());
  ProgramKey key{batch, num_threads(), computed};
  auto it = programs.find(key);
  if (it == programs.end()) {
    ProgramBuilder builder(graph, batch, computed, engine, constants, precisions);
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
    times.push_back({node.name,
                     fused != last->profile_ops.end() ? fused->second : graph::node_kind(node),
                     node.stage, node_ms[i]});
  }
  return times;
}

OnednnPlan::OnednnPlan(const graph::Graph& graph, int images_per_pass,
                       graph::ConvPrecisions precisions) {
  graph::check_well_formed(graph, "onednn backend");
  check_internal(images_per_pass >= 0, "onednn backend: images_per_pass must be >= 0");
  impl_ = std::make_unique<Impl>(graph, images_per_pass, std::move(precisions));
}

OnednnPlan::~OnednnPlan() = default;

TensorMap OnednnPlan::run(const Tensor& input, const std::vector<std::string>& outputs) {
  Impl& m = *impl_;
  m.check_input(input);
  // Resolve every name before computing anything, so a typo fails fast.
  std::vector<std::pair<std::string, ValueId>> requested;
  std::vector<ValueId> computed;
  for (const std::string& name : outputs) {
    const ValueId v = m.values.resolve(name);
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
    stats.bf16_convs = p->bf16_convs;
    stats.fallbacks = p->fallbacks;
    stats.steps = static_cast<int>(p->steps.size());
  }
  return stats;
}

void check_supported(graph::Precision precision) {
  if (precision == graph::Precision::kBf16 && !has_bf16()) {
    throw Error(ErrorCode::kBadArgument,
                "precision 'bf16' needs a CPU with avx512_bf16 (this one runs oneDNN's " +
                    isa_name() +
                    " kernels, which would emulate bf16 slower than float32); use fp32-fast");
  }
}

std::unique_ptr<graph::Plan> compile(const graph::Graph& graph,
                                     const graph::ConvPrecisions& precisions) {
  for (graph::Precision p : graph::all_precisions()) {
    if (precisions.uses(p)) check_supported(p);
  }
  if (precisions.uses(graph::Precision::kInt8) && precisions.int8_input_scales.empty()) {
    throw Error(ErrorCode::kBadArgument,
                "precision 'int8' needs a calibrated model file: starface convert CHECKPOINT -o "
                "MODEL.safetensors --precision int8 --calibrate IMAGES_OR_VIDEOS...");
  }
  return std::make_unique<OnednnPlan>(graph, 1, precisions);
}

bool has_bf16() {
  using dnnl::cpu_isa;
  const cpu_isa isa = dnnl::get_effective_cpu_isa();
  return isa == cpu_isa::avx512_core_bf16 || isa == cpu_isa::avx512_core_amx;
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
