// What Engine and Detector share: checking the options and compiling a graph on the
// chosen backend.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "graph/graph.h"
#include "graph/plan.h"

namespace starface::detail {

// Throws kBadArgument for an unknown backend or precision (listing the known ones).
void check_backend_and_precision(const EngineOptions& options);

// The reference backend runs the graph exactly as built (it is the oracle); the fast
// backend runs the graph the passes made for exactly `outputs`.
// `precision` other than "fp32" needs the fast backend.
// "int8" needs `int8_scales` (a calibrated model file's).
std::unique_ptr<graph::Plan> compile(const graph::Graph& graph, const std::string& backend,
                                     const std::string& precision,
                                     const std::vector<std::string>& outputs,
                                     const std::map<std::string, float>& int8_scales = {});

// "onednn (avx512_core)", "onednn (avx512_core), winograd avx512", "ref (scalar oracle, OpenMP)".
std::string backend_info(const std::string& backend, const std::string& precision);

// Rethrows `e` with `path` in front of its message unless it already names the file.
[[noreturn]] void rethrow_naming(const std::string& path, const Error& e);

}  // namespace starface::detail
