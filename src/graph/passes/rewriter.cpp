#include "graph/passes/rewriter.h"

namespace starface::graph::passes {

Rewriter::Rewriter(const Graph& source)
    : source_(source), mapped_(source.values().size(), -1), readers_(source.values().size()) {
  for (int i = 0; i < static_cast<int>(source.nodes().size()); ++i) {
    for (ValueId v : source.nodes()[i].inputs) readers_[v].push_back(i);
  }
}

bool Rewriter::single_use(ValueId value) const {
  if (readers_[value].size() != 1) return false;
  for (const auto& [name, v] : source_.outputs()) {
    if (v == value) return false;
  }
  return true;
}

const Node* Rewriter::producer(ValueId value) const {
  const int p = source_.value(value).producer;
  return p < 0 ? nullptr : &source_.nodes()[p];
}

ValueId Rewriter::map(ValueId value) {
  if (mapped_[value] >= 0) return mapped_[value];
  const Value& v = source_.value(value);
  if (value == source_.input()) {
    mapped_[value] = target_.add_input(v.name, v.shape);
  } else if (v.is_constant()) {
    mapped_[value] = target_.add_constant(v.name, v.constant);
  } else {
    throw Error(ErrorCode::kInternal, "pass reads '" + v.name + "' before it is computed");
  }
  return mapped_[value];
}

void Rewriter::alias(ValueId value, ValueId replacement) { mapped_[value] = replacement; }

ValueId Rewriter::copy(int index) {
  const Node& n = node(index);
  std::vector<ValueId> inputs;
  for (ValueId v : n.inputs) inputs.push_back(map(v));
  const ValueId out = target_.add_node(n.op, n.name, n.stage, std::move(inputs), n.attrs);
  alias(n.output, out);
  return out;
}

ValueId Rewriter::add_node(OpKind op, const std::string& name, const std::string& stage,
                           std::vector<ValueId> inputs, OpAttrs attrs) {
  return target_.add_node(op, name, stage, std::move(inputs), std::move(attrs));
}

ValueId Rewriter::add_constant(const std::string& name, Tensor tensor) {
  return target_.add_constant(name, std::move(tensor));
}

Graph Rewriter::finish(const std::vector<std::string>& outputs) {
  if (outputs.empty()) {
    for (const auto& [name, v] : source_.outputs()) target_.mark_output(name, map(v));
  } else {
    for (const std::string& name : outputs) target_.mark_output(name, map(source_.output(name)));
  }
  return std::move(target_);
}

}  // namespace starface::graph::passes
