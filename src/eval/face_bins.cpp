#include "eval/face_bins.h"

#include <array>
#include <cmath>
#include <limits>
#include <numbers>

#include "core/error.h"

namespace starface::eval {

namespace {

// Nose-tip depth in front of the outer eye corners over their distance (see the header).
constexpr double kNoseDepthOverEyeDistance = 0.3;

constexpr std::array<double, 4> kSizeEdges = {32, 64, 128, 256};  // pixels
constexpr std::array<double, 3> kYawEdges = {15, 30, 45};         // degrees of |yaw|

template <size_t N>
int bin_of(const std::array<double, N>& edges, double value) {
  if (std::isnan(value)) return -1;
  int bin = 0;
  while (bin < static_cast<int>(N) && value >= edges[bin]) ++bin;
  return bin;
}

template <size_t N>
std::string label_of(const std::array<double, N>& edges, int bin, const char* unit) {
  const auto text = [](double v) { return std::to_string(static_cast<int>(v)); };
  if (bin == 0) return "< " + text(edges[0]) + " " + unit;
  if (bin == static_cast<int>(N)) return ">= " + text(edges[N - 1]) + " " + unit;
  return text(edges[bin - 1]) + "-" + text(edges[bin]) + " " + unit;
}

}  // namespace

std::vector<BinAxis> parse_bin_axes(const std::string& spec) {
  std::vector<BinAxis> axes;
  size_t start = 0;
  while (start <= spec.size()) {
    const size_t comma = std::min(spec.find(',', start), spec.size());
    const std::string item = spec.substr(start, comma - start);
    if (item == "size") {
      axes.push_back(BinAxis::kSize);
    } else if (item == "yaw") {
      axes.push_back(BinAxis::kYaw);
    } else {
      throw Error(ErrorCode::kBadArgument,
                  "--by '" + spec + "': '" + item + "' is not size or yaw (e.g. --by size,yaw)");
    }
    start = comma + 1;
  }
  return axes;
}

const char* axis_name(BinAxis axis) { return axis == BinAxis::kSize ? "size" : "yaw"; }

const char* axis_title(BinAxis axis) {
  return axis == BinAxis::kSize ? "face size (inter-ocular distance, image pixels)"
                                : "|yaw| estimated from the landmarks (degrees)";
}

PoseLandmarks pose_landmarks(int points, const std::string& option) {
  if (points == 98) return {60, 72, 54};
  if (points == 68) return {36, 45, 30};
  throw Error(ErrorCode::kBadArgument,
              option +
                  " needs the outer eye corners and the nose tip: known for 98 (WFLW) and "
                  "68 (300W) points, not " +
                  std::to_string(points));
}

double inter_ocular_px(const std::vector<double>& x, const std::vector<double>& y,
                       const PoseLandmarks& at) {
  return std::hypot(x[at.right_eye] - x[at.left_eye], y[at.right_eye] - y[at.left_eye]);
}

double estimate_yaw_deg(const std::vector<double>& x, const std::vector<double>& y,
                        const PoseLandmarks& at) {
  const double ex = x[at.right_eye] - x[at.left_eye], ey = y[at.right_eye] - y[at.left_eye];
  const double iod = std::hypot(ex, ey);
  if (!(iod > 0)) return std::numeric_limits<double>::quiet_NaN();
  const double mx = 0.5 * (x[at.right_eye] + x[at.left_eye]);
  const double my = 0.5 * (y[at.right_eye] + y[at.left_eye]);
  // The nose tip's offset from the middle, along the eye line, in eye distances.
  const double offset = ((x[at.nose_tip] - mx) * ex + (y[at.nose_tip] - my) * ey) / (iod * iod);
  return std::atan(offset / kNoseDepthOverEyeDistance) * 180.0 / std::numbers::pi;
}

int bin_count(BinAxis axis) {
  return axis == BinAxis::kSize ? static_cast<int>(kSizeEdges.size()) + 1
                                : static_cast<int>(kYawEdges.size()) + 1;
}

int bin_index(BinAxis axis, double value) {
  return axis == BinAxis::kSize ? bin_of(kSizeEdges, value) : bin_of(kYawEdges, std::abs(value));
}

std::string bin_label(BinAxis axis, int bin) {
  return axis == BinAxis::kSize ? label_of(kSizeEdges, bin, "px") : label_of(kYawEdges, bin, "deg");
}

}  // namespace starface::eval
