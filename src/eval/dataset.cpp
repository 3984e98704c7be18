#include "eval/dataset.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/error.h"

namespace starface::eval {

namespace {

constexpr int kWflwPoints = 98;
// 196 landmark coordinates, 4 box values, 6 attribute flags, the image path.
constexpr int kWflwFields = 2 * kWflwPoints + 4 + kSubsetCount + 1;

[[noreturn]] void bad_line(const std::string& where, const std::string& why) {
  throw Error(ErrorCode::kBadInput, where + ": " + why);
}

// Reads a text file line by line; calls visit(line_number (1-based), line) for every line
// that is not blank, with a trailing '\r' (files written on Windows) removed.
template <typename Visit>
void for_each_line(const std::string& path, Visit visit) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw Error(ErrorCode::kIo, path + ": no such file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kIo, path + ": cannot open");
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    visit(number, line);
  }
  if (in.bad()) throw Error(ErrorCode::kIo, path + ": read error");
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end - start));
    if (end == std::string::npos) return parts;
    start = end + 1;
  }
}

std::vector<std::string> split_whitespace(const std::string& text) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (true) {
    i = text.find_first_not_of(" \t", i);
    if (i == std::string::npos) return parts;
    const size_t end = text.find_first_of(" \t", i);
    parts.push_back(text.substr(i, end - i));
    if (end == std::string::npos) return parts;
    i = end;
  }
}

std::string trim(const std::string& text) {
  const size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(" \t") - begin + 1);
}

std::optional<double> to_number(std::string text) {
  text = trim(text);
  if (!text.empty() && text.front() == '+') text.erase(0, 1);
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  if (!std::isfinite(value)) return std::nullopt;
  return value;
}

// `what` names the field in the message ("field 12 (landmark x5)").
double number_or_throw(const std::string& text, const std::string& where, const std::string& what) {
  const auto value = to_number(text);
  if (!value) bad_line(where, what + ": '" + text + "' is not a finite number");
  return *value;
}

std::vector<double> numbers_or_throw(const std::string& text, const std::string& where,
                                     const std::string& what) {
  std::vector<double> values;
  const auto parts = split(text, ',');
  for (size_t i = 0; i < parts.size(); ++i) {
    values.push_back(number_or_throw(parts[i], where, what + " value " + std::to_string(i)));
  }
  return values;
}

std::string landmark_field_name(int index) {
  return "field " + std::to_string(index + 1) + " (landmark " + std::to_string(index / 2) +
         (index % 2 == 0 ? " x)" : " y)");
}

// STAR reads coordinates into float32 arrays (np.float32 of Python's float).
std::vector<float> to_float32(const std::vector<double>& values) {
  return std::vector<float>(values.begin(), values.end());
}

int attribute_flag(double value, const std::string& where, const std::string& what) {
  // STAR reads its tags as int(float(x)); a flag is a subset membership, so only 0 and 1.
  const double flag = std::trunc(value);
  if (flag != 0 && flag != 1) {
    bad_line(where, what + " must be 0 or 1, got " + std::to_string(value));
  }
  return static_cast<int>(flag);
}

Face parse_wflw_line(const std::string& where, const std::string& line) {
  const auto fields = split_whitespace(line);
  if (fields.size() != kWflwFields) {
    bad_line(where, "expected " + std::to_string(kWflwFields) + " fields (" +
                        std::to_string(2 * kWflwPoints) + " landmark coordinates for " +
                        std::to_string(kWflwPoints) +
                        " points, 4 box values, 6 attribute flags, image path), got " +
                        std::to_string(fields.size()));
  }
  Face face;
  face.where = where;
  std::vector<double> coords(2 * kWflwPoints);
  for (int i = 0; i < 2 * kWflwPoints; ++i) {
    coords[i] = number_or_throw(fields[i], where, landmark_field_name(i));
  }
  face.landmarks = to_float32(coords);
  double box[4];
  const char* box_names[4] = {"x_min", "y_min", "x_max", "y_max"};
  for (int i = 0; i < 4; ++i) {
    const int field = 2 * kWflwPoints + i;
    box[i] = number_or_throw(fields[field], where,
                             "field " + std::to_string(field + 1) + " (box " + box_names[i] + ")");
  }
  face.box = Box{box[0], box[1], box[2], box[3]};
  std::array<int, kSubsetCount> attributes{};
  for (int i = 0; i < kSubsetCount; ++i) {
    const int field = 2 * kWflwPoints + 4 + i;
    const std::string what =
        "field " + std::to_string(field + 1) + " (" + subset_name(i) + " flag)";
    attributes[i] = attribute_flag(number_or_throw(fields[field], where, what), where, what);
  }
  face.attributes = attributes;
  face.image = fields.back();
  return face;
}

// pandas.read_csv(sep="\t"), as STAR calls it, takes the first row as column names. A
// first row whose landmarks_target column is not numbers is that header; a numeric first
// row is kept as a face (pandas would silently drop it: we would rather not lose a face).
bool is_tsv_header(const std::vector<std::string>& columns) {
  if (columns.size() < 3) return false;
  for (const std::string& value : split(columns[2], ',')) {
    if (!to_number(value)) return true;
  }
  return false;
}

Face parse_tsv_row(const std::string& where, const std::vector<std::string>& columns) {
  if (columns.size() != 6 && columns.size() != 7) {
    bad_line(where,
             "expected 6 or 7 tab-separated columns (image_path, landmarks_5pts, "
             "landmarks_target, scale, center_w, center_h [, attribute tags]), got " +
                 std::to_string(columns.size()));
  }
  Face face;
  face.where = where;
  face.image = trim(columns[0]);
  if (face.image.empty()) bad_line(where, "column 1 (image_path) is empty");
  const auto five = numbers_or_throw(columns[1], where, "column 2 (landmarks_5pts)");
  if (five.size() != 10) {
    bad_line(where,
             "column 2 (landmarks_5pts): expected 10 values, got " + std::to_string(five.size()));
  }
  const auto target = numbers_or_throw(columns[2], where, "column 3 (landmarks_target)");
  if (target.size() % 2 != 0 || target.size() < 4) {
    bad_line(where, "column 3 (landmarks_target): expected 2 values (x, y) per point, got " +
                        std::to_string(target.size()));
  }
  face.landmarks = to_float32(target);
  StarCentre centre;
  centre.scale = number_or_throw(columns[3], where, "column 4 (scale)");
  centre.center_x = number_or_throw(columns[4], where, "column 5 (center_w)");
  centre.center_y = number_or_throw(columns[5], where, "column 6 (center_h)");
  if (centre.scale <= 0) bad_line(where, "column 4 (scale) must be positive");
  face.centre = centre;
  if (columns.size() == 7) {
    const auto tags = numbers_or_throw(columns[6], where, "column 7 (attribute tags)");
    if (tags.size() != kSubsetCount) {
      bad_line(where,
               "column 7 (attribute tags): expected 6 values, got " + std::to_string(tags.size()));
    }
    std::array<int, kSubsetCount> attributes{};
    for (int i = 0; i < kSubsetCount; ++i) {
      attributes[i] =
          attribute_flag(tags[i], where, std::string("column 7 (") + subset_name(i) + " tag)");
    }
    face.attributes = attributes;
  }
  return face;
}

Face parse_face_list_line(const std::string& where, const std::string& line) {
  const std::string text = trim(line);
  const size_t cut = text.find_last_of(" \t");
  if (cut == std::string::npos) bad_line(where, "expected 'IMAGE x1,y1,x2,y2'");
  Face face;
  face.where = where;
  face.image = trim(text.substr(0, cut));
  const auto box = numbers_or_throw(text.substr(cut + 1), where, "box");
  if (box.size() != 4) {
    bad_line(where, "box: expected 4 numbers x1,y1,x2,y2, got " + std::to_string(box.size()));
  }
  face.box = Box{box[0], box[1], box[2], box[3]};
  return face;
}

std::string where(const std::string& path, int line) { return path + ":" + std::to_string(line); }

}  // namespace

const char* subset_name(int subset) {
  static const char* const kNames[kSubsetCount] = {"pose",   "expression", "illumination",
                                                   "makeup", "occlusion",  "blur"};
  check_internal(subset >= 0 && subset < kSubsetCount, "subset index out of range");
  return kNames[subset];
}

std::vector<Face> read_wflw(const std::string& path) {
  std::vector<Face> faces;
  for_each_line(path, [&](int number, const std::string& line) {
    faces.push_back(parse_wflw_line(where(path, number), line));
  });
  return faces;
}

std::vector<Face> read_tsv(const std::string& path) {
  std::vector<Face> faces;
  bool first = true;
  for_each_line(path, [&](int number, const std::string& line) {
    const auto columns = split(line, '\t');
    const bool header = first && is_tsv_header(columns);
    first = false;
    if (header) return;
    Face face = parse_tsv_row(where(path, number), columns);
    if (!faces.empty() && face.points() != faces.front().points()) {
      bad_line(face.where, "column 3 (landmarks_target) has " + std::to_string(face.points()) +
                               " points, " + faces.front().where + " has " +
                               std::to_string(faces.front().points()));
    }
    faces.push_back(std::move(face));
  });
  return faces;
}

std::vector<Face> read_face_list(const std::string& path) {
  std::vector<Face> faces;
  for_each_line(path, [&](int number, const std::string& line) {
    if (trim(line).front() == '#') return;
    faces.push_back(parse_face_list_line(where(path, number), line));
  });
  return faces;
}

std::string resolve_image_path(const std::string& root, const std::string& image) {
  std::string cleaned = image;
  std::replace(cleaned.begin(), cleaned.end(), '\\', '/');
  // The two prefixes STAR's AlignmentDataset strips from its released metadata.
  for (const std::string prefix :
       {"//msr-facestore/Workspace/MSRA_EP_Allergan/users/yanghuan/training_data/wflw/rawImages/",
        "./rawImages/"}) {
    for (size_t at = cleaned.find(prefix); at != std::string::npos; at = cleaned.find(prefix)) {
      cleaned.erase(at, prefix.size());
    }
  }
  if (root.empty()) return cleaned;
  return (std::filesystem::path(root) / cleaned).string();
}

CropMatrix face_crop_matrix(const Face& face, int width, int height) {
  if (face.centre) {
    return star::crop_matrix(face.centre->scale, face.centre->center_x, face.centre->center_y);
  }
  check_internal(face.box.has_value(), "face without box or centre");
  // WFLW's raw files give only a box; ecosystem.md is silent on how STAR turns one into a
  // crop, so we use the fixtures' convention (OpenFace 3.0 / STAR demo: truncate the box,
  // centre, scale = min(w, h) / 200 * 1.05), the one users' boxes go through.
  try {
    return star::crop_matrix(truncate_and_check(*face.box, width, height));
  } catch (const Error& e) {
    throw Error(e.code(), face.where + ": " + e.what());
  }
}

std::vector<float> ground_truth_in_crop(const Face& face, const CropMatrix& m) {
  std::vector<float> out(face.landmarks.size());
  const auto normalise = [](float crop_px) {
    const double v = (static_cast<double>(crop_px) * 2.0 + 1.0) / star::kCropSize - 1.0;
    return static_cast<float>(std::clamp(v, -1.0, 1.0));
  };
  for (size_t i = 0; i + 1 < face.landmarks.size(); i += 2) {
    const double x = face.landmarks[i], y = face.landmarks[i + 1];
    // STAR transforms the points in float32 (its points are float32): round like it.
    const auto crop_x = static_cast<float>(m[0] * x + m[1] * y + m[2]);
    const auto crop_y = static_cast<float>(m[3] * x + m[4] * y + m[5]);
    out[i] = normalise(crop_x);
    out[i + 1] = normalise(crop_y);
  }
  return out;
}

}  // namespace starface::eval
