#include "nets/star/params.h"

#include <map>
#include <set>

namespace starface::star {

std::string stage_of_key(const std::string& key) {
  if (key.starts_with("pre.")) return "stem";
  const size_t dot = key.find('.');
  const size_t dot2 = key.find('.', dot + 1);
  if (dot == std::string::npos || dot2 == std::string::npos) return "heads[0]";
  const std::string module = key.substr(0, dot);
  const std::string index = key.substr(dot + 1, dot2 - dot - 1);
  if (module == "hgs") return "hourglass[" + index + "]";
  if (module == "features") return "features[" + index + "]";
  if (module.starts_with("merge_")) return "merges[" + index + "]";
  return "heads[" + index + "]";
}

namespace {

bool is_buffer(const std::string& key) {
  return key.ends_with(".running_mean") || key.ends_with(".running_var") ||
         key.starts_with("e2h_transform.");
}

// Network order of the stages, so reports read from input to output; names of no known
// form (a stored graph may hold anything) go last.
int stage_rank(const std::string& stage) {
  constexpr int kUnknown = 1 << 20;
  if (stage == "stem") return 0;
  const size_t open = stage.find('[');
  if (open == std::string::npos || open + 1 >= stage.size()) return kUnknown;
  const char digit = stage[open + 1];
  if (digit < '0' || digit > '9' || stage.size() - open > 6) return kUnknown;
  const int stack = std::stoi(stage.substr(open + 1));
  const std::string kind = stage.substr(0, open);
  const int within = kind == "hourglass" ? 0 : kind == "features" ? 1 : kind == "heads" ? 2 : 3;
  return 1 + stack * 4 + within;
}

}  // namespace

ParamReport count_parameters(const TensorMap& sd, const graph::Graph& graph) {
  std::set<std::string> executed;
  for (const graph::Value& v : graph.values()) {
    if (v.is_constant()) executed.insert(v.name);
  }
  ParamReport report;
  std::map<int, std::pair<std::string, ParamCount>> stages;
  for (const auto& [key, tensor] : sd) {
    if (key.ends_with(".num_batches_tracked")) continue;
    if (is_buffer(key)) {
      report.buffers += tensor.numel();
      continue;
    }
    const std::string stage = stage_of_key(key);
    auto& entry = stages[stage_rank(stage)];
    entry.first = stage;
    entry.second.stored += tensor.numel();
    report.total.stored += tensor.numel();
    if (executed.count(key)) {
      entry.second.used += tensor.numel();
      report.total.used += tensor.numel();
    }
  }
  for (auto& [rank, entry] : stages) report.by_stage.push_back(entry);
  return report;
}

ParamReport count_graph_parameters(const graph::Graph& graph) {
  ParamReport report;
  std::map<std::pair<int, std::string>, ParamCount> stages;
  std::set<graph::ValueId> seen;
  for (const graph::Node& node : graph.nodes()) {
    for (graph::ValueId id : node.inputs) {
      const graph::Value& v = graph.value(id);
      if (!v.is_constant() || !seen.insert(id).second || id == graph::conv_bias_map(node)) {
        continue;
      }
      if (v.name.starts_with("e2h_transform.")) {
        report.buffers += v.constant.numel();
        continue;
      }
      ParamCount& count = stages[{stage_rank(node.stage), node.stage}];
      count.stored += v.constant.numel();
      count.used += v.constant.numel();
      report.total.stored += v.constant.numel();
      report.total.used += v.constant.numel();
    }
  }
  for (const auto& [key, count] : stages) report.by_stage.emplace_back(key.second, count);
  return report;
}

}  // namespace starface::star
