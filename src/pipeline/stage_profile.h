// Time per pipeline stage (decode, detect, track, crop, landmarks, smooth, write): calls, total,
// mean and share of the wall time, for the end-of-run report and <name>_profile.json.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/timer.h"

namespace starface::pipeline {

class StageProfile {
 public:
  // The stages in report order.
  static const std::vector<std::string>& stage_names();

  void add(const std::string& stage, double ms);
  void merge(const StageProfile& other);
  long calls(const std::string& stage) const;
  double total_ms(const std::string& stage) const;

  nlohmann::json to_json(double wall_ms) const;
  std::string table(double wall_ms) const;

 private:
  struct Entry {
    long calls = 0;
    double total_ms = 0;
  };
  std::map<std::string, Entry> entries_;
};

// Adds the time from construction to destruction to one stage.
class ScopedStage {
 public:
  ScopedStage(StageProfile& profile, const char* stage) : profile_(profile), stage_(stage) {}
  ~ScopedStage() { profile_.add(stage_, timer_.elapsed_ms()); }
  ScopedStage(const ScopedStage&) = delete;
  ScopedStage& operator=(const ScopedStage&) = delete;

 private:
  StageProfile& profile_;
  const char* stage_;
  Timer timer_;
};

}  // namespace starface::pipeline
