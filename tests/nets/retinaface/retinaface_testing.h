// Shared by the RetinaFace tests: fixture paths, the manifest's tolerances, and the
// comparison of detections with the goldens by the manifest's comparison_rules.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "import/npy.h"
#include "nets/retinaface/detection.h"
#include "support/fixtures.h"

namespace starface::testing {

inline std::filesystem::path rf_model() {
  return shared_dir() / "models" / "retinaface_mobilenet0.25.pth";
}

// shared/fixtures/retinaface/<relative>
inline std::filesystem::path rf_fixture(const std::string& relative) {
  return shared_dir() / "fixtures" / "retinaface" / relative;
}

inline const nlohmann::json& rf_manifest() {
  static const nlohmann::json manifest = [] {
    std::ifstream in(rf_fixture("manifest.json"));
    if (!in) throw std::runtime_error("cannot open " + rf_fixture("manifest.json").string());
    return nlohmann::json::parse(in);
  }();
  return manifest;
}

inline double rf_tolerance(const std::string& key) {
  return rf_manifest()["tolerances"][key].get<double>();
}

// The manifest case with this stem ("frame000", "img_0", ...).
inline const nlohmann::json& rf_case(const std::string& stem) {
  for (const auto& c : rf_manifest()["cases"]) {
    if (c["stem"] == stem) return c;
  }
  throw std::runtime_error("no RetinaFace fixture case " + stem);
}

// One (N, 15) row as doubles: x1 y1 x2 y2 score lx0 ly0 ... ly4.
using DetRow = std::vector<double>;

inline DetRow to_row(const retinaface::Detection& d) {
  DetRow row{d.x1, d.y1, d.x2, d.y2, d.score};
  for (float p : d.points) row.push_back(p);
  return row;
}

// The golden detections of a case, read as float64 [N, 15].
inline std::vector<DetRow> golden_dets(const std::string& stem) {
  const Tensor t = import::read_npy((shared_dir() / rf_case(stem)["dets"]["file"]).string());
  EXPECT_EQ(t.dtype(), DType::kFloat64);
  std::vector<DetRow> rows;
  const int64_t n = t.rank() == 2 ? t.dim(0) : 0;
  for (int64_t i = 0; i < n; ++i) {
    const double* r = t.data<double>() + i * 15;
    rows.emplace_back(r, r + 15);
  }
  return rows;
}

inline double box_diff(const DetRow& a, const DetRow& b) {
  double d = 0;
  for (int k = 0; k < 4; ++k) d = std::max(d, std::fabs(a[k] - b[k]));
  return d;
}

// comparison_rules.dets_vis: the rows with score >= 0.5, same count and order, every
// element within the det_* tolerances.
inline void expect_vis_rows_match(const std::vector<DetRow>& got, const std::vector<DetRow>& want,
                                  const std::string& what) {
  auto visible = [](const std::vector<DetRow>& rows) {
    std::vector<DetRow> out;
    for (const DetRow& r : rows) {
      if (r[4] >= 0.5) out.push_back(r);
    }
    return out;
  };
  const std::vector<DetRow> g = visible(got), w = visible(want);
  ASSERT_EQ(g.size(), w.size()) << what << ": rows with score >= 0.5";
  const double box = rf_tolerance("det_box_px_abs");
  const double score = rf_tolerance("det_score_abs");
  const double point = rf_tolerance("det_landmark_px_abs");
  for (size_t i = 0; i < g.size(); ++i) {
    for (int k = 0; k < 15; ++k) {
      const double tol = k < 4 ? box : k == 4 ? score : point;
      EXPECT_NEAR(g[i][k], w[i][k], tol) << what << ": visible row " << i << " column " << k;
    }
  }
}

// comparison_rules.dets_all: every row with score >= 0.03 on one side matches exactly one
// row of the other side by box (max |diff| <= det_box_px_abs).
inline void expect_all_rows_match_by_box(const std::vector<DetRow>& got,
                                         const std::vector<DetRow>& want, const std::string& what) {
  const double tol = rf_tolerance("det_box_px_abs");
  auto check = [&](const std::vector<DetRow>& from, const std::vector<DetRow>& to,
                   const char* side) {
    for (size_t i = 0; i < from.size(); ++i) {
      if (from[i][4] < 0.03) continue;
      int matches = 0;
      for (const DetRow& r : to) matches += box_diff(from[i], r) <= tol ? 1 : 0;
      EXPECT_EQ(matches, 1) << what << ": " << side << " row " << i << " (score " << from[i][4]
                            << ") matches " << matches << " rows";
    }
  };
  check(want, got, "golden");
  check(got, want, "starface");
}

}  // namespace starface::testing
