// Face size and yaw read off the landmarks, and the bins that `starface eval --by` and
// `starface stability --by` group faces into, so a user sees where a model is weak.
//
// Size: the inter-ocular distance (outer eye corners) in image pixels, in octaves: < 32,
// 32-64, 64-128, 128-256, >= 256.
// Yaw: how far the nose tip sits off the middle of the outer eye corners, along the line
// through them, over their distance: a turned head moves the nose tip, which stands in front
// of the eyes, sideways in the image. With the nose tip d in front of the eye corners and the
// corners w apart, a head turned by yaw puts it d sin(yaw) off the middle while the corners
// appear w cos(yaw) apart, so offset / distance = (d / w) tan(yaw) and
// yaw = atan(offset / distance / (d / w)). d / w = 0.3, the ratio of the generic 3D face often
// used for head pose from 2D points (nose tip at depth 0, outer eye corners 450 apart at depth
// -135). It measures the yaw of an average face: a rough scale for binning, not a head-pose
// estimate. Pitch barely enters (it moves the nose along the face's vertical), roll not at
// all (the offset is taken along the eye line). Bins of |yaw|: 0-15, 15-30, 30-45, >= 45 deg.
#pragma once

#include <string>
#include <vector>

namespace starface::eval {

enum class BinAxis { kSize, kYaw };

// "size", "yaw" or "size,yaw" (--by); kBadArgument naming the valid values otherwise.
std::vector<BinAxis> parse_bin_axes(const std::string& spec);
const char* axis_name(BinAxis axis);  // "size", "yaw"
// What the axis measures, for table titles.
const char* axis_title(BinAxis axis);

// The outer eye corners and nose tip of a layout: 98 (WFLW) 60, 72, 54; 68 (300W) 36, 45, 30.
struct PoseLandmarks {
  int left_eye = 0, right_eye = 0, nose_tip = 0;
};
// kBadArgument for a layout without them, naming the option that needs them.
PoseLandmarks pose_landmarks(int points, const std::string& option);

// Points as x, y arrays of the layout's size. Inter-ocular distance in pixels; yaw in degrees
// (> 0: the nose tip right of the eyes' middle in the image), NaN when the eyes coincide.
double inter_ocular_px(const std::vector<double>& x, const std::vector<double>& y,
                       const PoseLandmarks& at);
double estimate_yaw_deg(const std::vector<double>& x, const std::vector<double>& y,
                        const PoseLandmarks& at);

int bin_count(BinAxis axis);
// The bin of a value (size: pixels; yaw: degrees, binned by |yaw|); -1 for NaN.
int bin_index(BinAxis axis, double value);
// "32-64 px", ">= 256 px", "15-30 deg".
std::string bin_label(BinAxis axis, int bin);

// Values grouped by bin: sample s goes to bin_index(axis, keys[s]).
template <typename T>
std::vector<std::vector<T>> group_by_bin(BinAxis axis, const std::vector<double>& keys,
                                         const std::vector<T>& samples) {
  std::vector<std::vector<T>> groups(bin_count(axis));
  for (size_t s = 0; s < samples.size(); ++s) {
    const int bin = bin_index(axis, keys[s]);
    if (bin >= 0) groups[bin].push_back(samples[s]);
  }
  return groups;
}

}  // namespace starface::eval
