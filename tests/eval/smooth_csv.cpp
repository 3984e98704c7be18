// smooth_csv IN.csv OUT.csv online|offline [MIN_CUTOFF BETA | CUTOFF] [FPS]: the smoothing of
// `starface run --smooth` applied to the raw columns of a CSV it wrote, for choosing settings
// without running the models again (docs/ACCURACY.md, "Smoothing"). Times come from the
// timestamp column (FPS, default 30, where they do not advance), as in `starface run`.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <map>

#include "eval/landmark_csv.h"
#include "pipeline/csv_writer.h"
#include "pipeline/smoothing.h"

namespace {

using starface::pipeline::FrameResult;

// The CSV's rows as the frames `starface run` wrote them (success-0 rows: no face).
std::vector<FrameResult> frames_of(const starface::eval::LandmarkTable& table) {
  std::map<long, FrameResult> frames;
  for (const auto& row : table.rows) {
    FrameResult& f = frames[row.frame];
    f.number = static_cast<int>(row.frame);
    f.timestamp = row.timestamp;
    if (!row.success) continue;
    starface::pipeline::FaceResult face;
    face.face_id = row.face_id;
    for (size_t p = 0; p < row.x.size(); ++p) face.points.push_back({row.x[p], row.y[p]});
    f.faces.push_back(face);
  }
  std::vector<FrameResult> out;
  for (auto& [number, frame] : frames) out.push_back(std::move(frame));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr,
                 "usage: %s IN.csv OUT.csv online|offline [MIN_CUTOFF BETA | CUTOFF] [FPS]\n",
                 argv[0]);
    return 1;
  }
  try {
    namespace pipeline = starface::pipeline;
    pipeline::SmoothOptions options;
    options.mode = pipeline::parse_smooth_mode(argv[3]);
    int next = 4;
    if (options.mode == pipeline::SmoothMode::kOnline && argc >= 6) {
      options.min_cutoff_hz = std::atof(argv[4]);
      options.beta = std::atof(argv[5]);
      next = 6;
    } else if (options.mode == pipeline::SmoothMode::kOffline && argc >= 5) {
      options.offline_cutoff_hz = std::atof(argv[4]);
      next = 5;
    }
    const double fps = argc > next ? std::atof(argv[next]) : 30.0;
    const auto table = starface::eval::read_landmark_csv(argv[1]);
    std::vector<FrameResult> frames = frames_of(table);
    pipeline::SmoothingClock clock(true, fps);
    if (options.mode == pipeline::SmoothMode::kOnline) {
      pipeline::OnlineSmoother smoother(options);
      for (FrameResult& f : frames) smoother.add(f, clock.time_of(f));
    } else if (options.mode == pipeline::SmoothMode::kOffline) {
      pipeline::OfflineSmoother smoother(options);
      for (FrameResult& f : frames) {
        const double time = clock.time_of(f);
        smoother.add(std::move(f), time);
      }
      frames = smoother.finish();
    }
    if (const auto notice = clock.notice())
      std::fprintf(stderr, "smooth_csv: %s\n", notice->c_str());
    const bool smooth = options.mode != pipeline::SmoothMode::kNone;
    std::ofstream out(argv[2], std::ios::binary);
    out << pipeline::csv_header(table.points, false, smooth);
    for (const FrameResult& f : frames) out << pipeline::csv_rows(f, table.points, false, smooth);
    if (!out) throw std::runtime_error(std::string(argv[2]) + ": cannot write");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "smooth_csv: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
