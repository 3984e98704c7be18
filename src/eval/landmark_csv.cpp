#include "eval/landmark_csv.h"

#include <charconv>
#include <fstream>
#include <map>
#include <optional>

#include "core/error.h"
#include "core/text.h"

namespace starface::eval {

namespace {

Error bad(const std::string& where, const std::string& what) {
  return Error(ErrorCode::kBadInput, where + ": " + what);
}

double number(const std::string& text, const std::string& where, const std::string& column) {
  double value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) {
    throw bad(where, "column '" + column + "' holds '" + text + "', not a number");
  }
  return value;
}

// Where each needed column is, by name.
struct Columns {
  size_t frame = 0, face_id = 0, success = 0;
  std::optional<size_t> timestamp;
  std::vector<size_t> x, y;
  std::string x_prefix, y_prefix;  // "x_" or "x_smooth_"
  size_t count = 0;
};

Columns find_columns(const std::vector<std::string>& header, const std::string& where,
                     PointColumns points) {
  const bool smooth = points == PointColumns::kSmooth;
  const std::string x_name = smooth ? "x_smooth_" : "x_", y_name = smooth ? "y_smooth_" : "y_";
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < header.size(); ++i) index.emplace(header[i], i);
  const auto need = [&](const std::string& name) {
    const auto it = index.find(name);
    if (it == index.end()) throw bad(where, "no '" + name + "' column in the header");
    return it->second;
  };
  Columns c;
  c.count = header.size();
  c.x_prefix = x_name;
  c.y_prefix = y_name;
  c.frame = need("frame");
  c.face_id = need("face_id");
  c.success = need("success");
  if (index.count("timestamp")) c.timestamp = index.at("timestamp");
  for (int p = 0; index.count(x_name + std::to_string(p)); ++p) {
    c.x.push_back(index.at(x_name + std::to_string(p)));
    c.y.push_back(need(y_name + std::to_string(p)));
  }
  if (c.x.size() < 2 && smooth) {
    throw bad(where,
              "no smoothed landmark columns x_smooth_0, ... y_smooth_0, ... in the header "
              "(written by `starface run --smooth online|offline`)");
  }
  if (c.x.size() < 2) {
    throw bad(where,
              "no landmark columns x_0, x_1, ... y_0, y_1, ... in the header (is this a CSV "
              "written by `starface run`?)");
  }
  if (index.count(y_name + std::to_string(c.x.size()))) {
    throw bad(where, "more " + y_name + " than " + x_name + " columns (" + y_name +
                         std::to_string(c.x.size()) + ")");
  }
  return c;
}

LandmarkRow parse_row(const std::vector<std::string>& f, const Columns& c,
                      const std::string& where) {
  if (f.size() != c.count) {
    throw bad(where,
              std::to_string(f.size()) + " fields where the header has " + std::to_string(c.count));
  }
  LandmarkRow r;
  r.frame = static_cast<long>(number(f[c.frame], where, "frame"));
  r.face_id = static_cast<int>(number(f[c.face_id], where, "face_id"));
  if (c.timestamp) r.timestamp = number(f[*c.timestamp], where, "timestamp");
  r.success = number(f[c.success], where, "success") != 0;
  r.x.resize(c.x.size());
  r.y.resize(c.y.size());
  for (size_t p = 0; p < c.x.size(); ++p) {
    r.x[p] = number(f[c.x[p]], where, c.x_prefix + std::to_string(p));
    r.y[p] = number(f[c.y[p]], where, c.y_prefix + std::to_string(p));
  }
  return r;
}

}  // namespace

std::vector<std::string> split_csv_line(const std::string& line, const std::string& where) {
  std::vector<std::string> fields;
  std::string field;
  bool quoted = false, was_quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char ch = line[i];
    if (quoted) {
      if (ch != '"') {
        field += ch;
      } else if (i + 1 < line.size() && line[i + 1] == '"') {
        field += '"';
        ++i;
      } else {
        quoted = false;
      }
    } else if (ch == '"' && trim(field).empty()) {
      field.clear();  // spaces before an opening quote are padding, not content
      quoted = was_quoted = true;
    } else if (ch == ',') {
      fields.push_back(was_quoted ? field : trim(field));
      field.clear();
      was_quoted = false;
    } else if (!was_quoted || (ch != ' ' && ch != '\r')) {
      field += ch;
    }
  }
  if (quoted) throw bad(where, "a quoted field is not closed");
  fields.push_back(was_quoted ? field : trim(field));
  return fields;
}

LandmarkTable read_landmark_csv(const std::string& path, PointColumns points) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kIo, path + ": cannot open the file");
  LandmarkTable table;
  table.path = path;
  std::string line;
  if (!std::getline(in, line) || trim(line).empty()) {
    throw bad(path, "empty file: no CSV header");
  }
  const Columns columns = find_columns(split_csv_line(line, path + ":1"), path + ":1", points);
  table.points = static_cast<int>(columns.x.size());
  for (long number = 2; std::getline(in, line); ++number) {
    if (trim(line).empty()) continue;
    const std::string where = path + ":" + std::to_string(number);
    table.rows.push_back(parse_row(split_csv_line(line, where), columns, where));
  }
  return table;
}

}  // namespace starface::eval
