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

// Throws kBadArgument for an unknown backend (listing the registered ones).
void check_backend(const std::string& backend);

// Compiles `graph` on the registered backend (engine/backend_registry.h): prepared by its
// passes for exactly `outputs` (the reference backend runs the graph as built: it is the
// oracle), then compiled whole where it supports every op, or as a PlacedPlan that runs
// the ops it declines on the reference backend (engine/placement.h).
// A precision other than fp32 needs the fast backend; int8 needs calibrated input scales
// (a calibrated model file's), bf16 a CPU with avx512_bf16.
std::unique_ptr<graph::Plan> compile(const graph::Graph& graph, const std::string& backend,
                                     const graph::ConvPrecisions& precisions,
                                     const std::vector<std::string>& outputs);

// "onednn (avx512_core)", "onednn (avx512_core), winograd avx512", "ref (scalar oracle, OpenMP)".
std::string backend_info(const std::string& backend, const graph::ConvPrecisions& precisions);

// Rethrows `e` with `path` in front of its message unless it already names the file.
[[noreturn]] void rethrow_naming(const std::string& path, const Error& e);

}  // namespace starface::detail
