#include "pipeline/stage_profile.h"

#include <cstdio>

namespace starface::pipeline {

const std::vector<std::string>& StageProfile::stage_names() {
  static const std::vector<std::string> kNames = {"decode",    "detect", "track", "crop",
                                                  "landmarks", "smooth", "write"};
  return kNames;
}

namespace {

// Stages that only some runs have (--smooth) are left out of reports where they never ran.
bool shown(const std::string& stage, long calls) { return calls > 0 || stage != "smooth"; }

}  // namespace

void StageProfile::add(const std::string& stage, double ms) {
  Entry& e = entries_[stage];
  ++e.calls;
  e.total_ms += ms;
}

void StageProfile::merge(const StageProfile& other) {
  for (const auto& [stage, e] : other.entries_) {
    entries_[stage].calls += e.calls;
    entries_[stage].total_ms += e.total_ms;
  }
}

long StageProfile::calls(const std::string& stage) const {
  const auto it = entries_.find(stage);
  return it == entries_.end() ? 0 : it->second.calls;
}

double StageProfile::total_ms(const std::string& stage) const {
  const auto it = entries_.find(stage);
  return it == entries_.end() ? 0 : it->second.total_ms;
}

nlohmann::json StageProfile::to_json(double wall_ms) const {
  nlohmann::json stages = nlohmann::json::array();
  for (const std::string& name : stage_names()) {
    const long n = calls(name);
    const double total = total_ms(name);
    if (!shown(name, n)) continue;
    stages.push_back({{"stage", name},
                      {"calls", n},
                      {"total_ms", total},
                      {"mean_ms", n > 0 ? total / n : 0.0},
                      {"share", wall_ms > 0 ? total / wall_ms : 0.0}});
  }
  return {{"wall_ms", wall_ms}, {"stages", stages}};
}

std::string StageProfile::table(double wall_ms) const {
  std::string text = "stage          calls    total ms     mean ms   share\n";
  char line[128];
  for (const std::string& name : stage_names()) {
    const long n = calls(name);
    const double total = total_ms(name);
    if (!shown(name, n)) continue;
    std::snprintf(line, sizeof line, "%-10s %9ld %11.1f %11.3f %6.1f%%\n", name.c_str(), n, total,
                  n > 0 ? total / n : 0.0, wall_ms > 0 ? 100.0 * total / wall_ms : 0.0);
    text += line;
  }
  std::snprintf(line, sizeof line, "%-10s %9s %11.1f\n", "wall", "", wall_ms);
  return text + line;
}

}  // namespace starface::pipeline
