#include "engine/placement.h"

#include <algorithm>
#include <map>

#include "backends/ref/ref_backend.h"
#include "core/error.h"
#include "core/timer.h"

namespace starface {

using graph::Graph;
using graph::Node;
using graph::ValueId;

struct PlacedPlan::Segment {
  bool on_reference = false;          // one node, run by the reference kernels
  std::vector<int> nodes;             // indices into the graph's nodes, in order
  ValueId input = -1;                 // on the fast backend: the one value read from outside
  std::unique_ptr<graph::Plan> plan;  // on the fast backend
};

namespace {

// How a segment's graph publishes a value it computes.
std::string export_name(ValueId v) { return "placed:" + std::to_string(v); }

// Whether `node` can join a fast segment whose one outside input is `input` (-1: none
// yet), given which segment made each value; sets `input` when it does.
bool joins(const Graph& g, const Node& node, const std::vector<int>& segment_of_value, int segment,
           ValueId& input) {
  ValueId outside = input;
  for (ValueId v : node.inputs) {
    if (g.value(v).is_constant() || segment_of_value[v] == segment) continue;
    if (outside >= 0 && v != outside) return false;
    if (g.value(v).shape.size() != 4) return false;
    outside = v;
  }
  if (outside < 0) return false;  // reads only constants: nothing would feed the segment
  input = outside;
  return true;
}

// The nodes `nodes` of `g` as a graph of their own reading `input`, every computed value
// published under export_name (constants share storage with `g`).
Graph segment_graph(const Graph& g, const std::vector<int>& nodes, ValueId input) {
  Graph sub;
  std::map<ValueId, ValueId> to_sub;
  to_sub[input] = sub.add_input(g.value(input).name, g.value(input).shape);
  for (int i : nodes) {
    const Node& node = g.nodes()[i];
    std::vector<ValueId> inputs;
    for (ValueId v : node.inputs) {
      if (!to_sub.count(v)) to_sub[v] = sub.add_constant(g.value(v).name, g.value(v).constant);
      inputs.push_back(to_sub.at(v));
    }
    to_sub[node.output] = sub.add_node(node.op, node.name, node.stage, inputs, node.attrs);
    sub.mark_output(export_name(node.output), to_sub[node.output]);
  }
  return sub;
}

}  // namespace

PlacedPlan::PlacedPlan(const Graph& graph, const Backend& backend,
                       const graph::ConvPrecisions& precisions)
    : graph_(graph), backend_(backend.name) {
  graph::check_well_formed(graph_, "placement on " + backend_);
  const auto& nodes = graph_.nodes();
  std::vector<int> segment_of_value(graph_.values().size(), -1);
  last_reader_.assign(graph_.values().size(), -1);
  for (int i = 0; i < static_cast<int>(nodes.size()); ++i) {
    const Node& node = nodes[i];
    const int last = static_cast<int>(segments_.size()) - 1;
    const bool supported = backend.supports_op(node, graph_);
    if (supported && last >= 0 && !segments_[last].on_reference &&
        joins(graph_, node, segment_of_value, last, segments_[last].input)) {
      segments_[last].nodes.push_back(i);
    } else {
      Segment s;
      s.nodes.push_back(i);
      s.on_reference = !supported || !joins(graph_, node, segment_of_value, last + 1, s.input);
      segments_.push_back(std::move(s));
    }
    segment_of_value[node.output] = static_cast<int>(segments_.size()) - 1;
    for (ValueId v : node.inputs) last_reader_[v] = static_cast<int>(segments_.size()) - 1;
  }
  for (Segment& s : segments_) {
    if (!s.on_reference)
      s.plan = backend.compile(segment_graph(graph_, s.nodes, s.input), precisions);
  }
}

PlacedPlan::~PlacedPlan() = default;

void PlacedPlan::set_profiling(bool on) {
  profiling_ = on;
  for (Segment& s : segments_) {
    if (s.plan) s.plan->set_profiling(on);
  }
}

std::map<std::string, std::string> PlacedPlan::precision_fallbacks() const {
  std::map<std::string, std::string> all;
  for (const Segment& s : segments_) {
    if (s.plan) all.merge(s.plan->precision_fallbacks());
  }
  return all;
}

std::vector<std::string> PlacedPlan::placement() const {
  std::vector<std::string> where;
  for (const Segment& s : segments_) {
    const Node& first = graph_.nodes()[s.nodes[0]];
    where.push_back(s.on_reference ? "ref: " + std::string(op_name(first.op)) + " " + first.name
                                   : backend_ + ": " + std::to_string(s.nodes.size()) + " nodes");
  }
  return where;
}

void PlacedPlan::run_segment(int index, const std::vector<bool>& needed,
                             const std::vector<bool>& keep, std::vector<Tensor>& slots) {
  Segment& s = segments_[index];
  if (s.on_reference) {
    const Node& node = graph_.nodes()[s.nodes[0]];
    if (!needed[node.output]) return;
    std::vector<Tensor> args;
    for (ValueId v : node.inputs) {
      args.push_back(graph_.value(v).is_constant() ? graph_.value(v).constant : slots[v]);
    }
    const Timer timer;
    slots[node.output] = backends::ref::evaluate_node(node, args);
    if (profiling_) {
      profile_.push_back({node.name, node_kind(node), node.stage, timer.elapsed_ms()});
    }
    return;
  }
  // The values later segments read or the caller asked for; the rest stay inside.
  std::vector<std::string> names;
  std::vector<ValueId> made;
  for (int i : s.nodes) {
    const ValueId v = graph_.nodes()[i].output;
    if (needed[v] && (keep[v] || last_reader_[v] > index)) {
      names.push_back(export_name(v));
      made.push_back(v);
    }
  }
  if (made.empty()) return;
  TensorMap got = s.plan->run(slots[s.input], names);
  for (size_t i = 0; i < made.size(); ++i) slots[made[i]] = std::move(got.at(names[i]));
  if (profiling_) {
    for (const graph::NodeTime& t : s.plan->last_profile()) profile_.push_back(t);
  }
}

void PlacedPlan::release_dead(int segment, const std::vector<bool>& keep,
                              std::vector<Tensor>& slots) const {
  for (size_t v = 0; v < slots.size(); ++v) {
    if (last_reader_[v] == segment && !keep[v] && static_cast<ValueId>(v) != graph_.input()) {
      slots[v] = Tensor();
    }
  }
}

TensorMap PlacedPlan::run(const Tensor& input, const std::vector<std::string>& outputs) {
  graph::check_batch_input(graph_, input);
  std::vector<ValueId> requested;
  for (const std::string& name : outputs) requested.push_back(values_.resolve(name));
  std::vector<bool> keep(graph_.values().size(), false);
  for (ValueId v : requested) keep[v] = true;
  const std::vector<bool> needed = graph::needed_values(graph_, keep);
  std::vector<Tensor> slots(graph_.values().size());
  slots[graph_.input()] = input.contiguous();
  profile_.clear();
  for (size_t i = 0; i < segments_.size(); ++i) {
    run_segment(static_cast<int>(i), needed, keep, slots);
    release_dead(static_cast<int>(i), keep, slots);
  }
  TensorMap result;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const graph::Value& v = graph_.value(requested[i]);
    result[outputs[i]] = v.is_constant() ? v.constant : slots[requested[i]];
  }
  return result;
}

}  // namespace starface
