#include "backends/onednn/schedule.h"

#include <algorithm>

namespace starface::backends::onednn {
namespace {

using graph::OpKind;
using graph::ValueId;

// Per node: whether it computes a value the requested ones need.
std::vector<bool> needed_nodes(const graph::Graph& g, const std::vector<bool>& requested) {
  const std::vector<bool> needed_value = graph::needed_values(g, requested);
  std::vector<bool> needed(g.nodes().size(), false);
  for (size_t i = 0; i < needed.size(); ++i) needed[i] = needed_value[g.nodes()[i].output];
  return needed;
}

// Upsample2x nodes whose only reader is an Add, keyed by that Add.
std::vector<int> find_fused_upsamples(const graph::Graph& g, const std::vector<bool>& needed,
                                      const std::vector<bool>& requested) {
  const auto& nodes = g.nodes();
  std::vector<int> readers(g.values().size(), 0);
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!needed[i]) continue;
    for (ValueId v : nodes[i].inputs) ++readers[v];
  }
  std::vector<int> fused(nodes.size(), -1);
  for (size_t i = 0; i < nodes.size(); ++i) {
    const graph::Node& add = nodes[i];
    if (!needed[i] || add.op != OpKind::kAdd || add.inputs[0] == add.inputs[1]) continue;
    for (ValueId v : add.inputs) {
      const int producer = g.value(v).producer;
      if (producer >= 0 && nodes[producer].op == OpKind::kUpsample2x && readers[v] == 1 &&
          !requested[v]) {
        fused[i] = producer;
        break;
      }
    }
  }
  return fused;
}

}  // namespace

Schedule make_schedule(const graph::Graph& g, const std::vector<ValueId>& requested) {
  const auto& nodes = g.nodes();
  Schedule s;
  s.requested.assign(g.values().size(), false);
  for (ValueId v : requested) s.requested[v] = true;
  const std::vector<bool> needed = needed_nodes(g, s.requested);
  s.fused_upsample = find_fused_upsamples(g, needed, s.requested);

  std::vector<bool> runs_alone = needed;
  for (int up : s.fused_upsample) {
    if (up >= 0) runs_alone[up] = false;
  }
  std::vector<std::vector<int>> pools_of(g.values().size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (runs_alone[i] && nodes[i].op == OpKind::kMaxPool2x2) {
      pools_of[nodes[i].inputs[0]].push_back(static_cast<int>(i));
    }
  }
  std::vector<bool> placed(nodes.size(), false);
  auto place = [&](int i) {
    s.order.push_back(i);
    placed[i] = true;
  };
  // The graph input's pools go first.
  for (int pool : pools_of[g.input()]) place(pool);
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!runs_alone[i] || placed[i]) continue;
    place(static_cast<int>(i));
    for (int pool : pools_of[nodes[i].output]) place(pool);
  }

  // A fused Add reads the upsample's input in place of the upsampled map.
  s.last_use.assign(g.values().size(), -1);
  for (int pos = 0; pos < static_cast<int>(s.order.size()); ++pos) {
    const int i = s.order[pos];
    for (ValueId v : nodes[i].inputs) {
      const int producer = g.value(v).producer;
      if (s.fused_upsample[i] >= 0 && producer == s.fused_upsample[i]) {
        v = nodes[producer].inputs[0];
      }
      s.last_use[v] = pos;
    }
  }
  return s;
}

}  // namespace starface::backends::onednn
