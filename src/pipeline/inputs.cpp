#include "pipeline/inputs.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/error.h"
#include "core/text.h"

namespace starface::pipeline {

namespace fs = std::filesystem;

namespace {

std::string lower_extension(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext;
}

Input broken(const std::string& path, const std::string& why) {
  Input in;
  in.kind = Input::Kind::kBroken;
  in.path = path;
  in.name = fs::path(path).filename().string();
  in.error = path + ": " + why;
  return in;
}

Input video(const std::string& path) {
  Input in;
  in.kind = Input::Kind::kVideo;
  in.path = path;
  in.name = fs::path(path).stem().string();
  return in;
}

Input image_sequence(const std::string& path, std::vector<std::string> files,
                     const std::string& name) {
  Input in;
  in.kind = Input::Kind::kImages;
  in.path = path;
  in.files = std::move(files);
  in.name = name;
  return in;
}

// The folder's images as one sequence, then its videos; folders inside are not entered.
void expand_folder(const std::string& path, std::vector<Input>& out) {
  std::error_code ec;
  std::vector<std::string> images;
  std::vector<std::string> videos;
  fs::directory_iterator it(path, ec);
  if (ec) {
    out.push_back(broken(path, "cannot read folder (" + ec.message() + ")"));
    return;
  }
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (!it->is_regular_file(ec)) continue;
    const std::string file = it->path().string();
    if (is_image_file(file)) images.push_back(file);
    if (is_video_file(file)) videos.push_back(file);
  }
  if (ec) {
    out.push_back(broken(path, "cannot read folder (" + ec.message() + ")"));
    return;
  }
  // All in one folder: ordering the paths orders the file names.
  std::sort(images.begin(), images.end(), natural_less);
  std::sort(videos.begin(), videos.end(), natural_less);
  // "dir/" has an empty filename: name the sequence after the folder itself.
  std::string name = fs::path(path).lexically_normal().filename().string();
  if (name.empty()) name = fs::path(path).lexically_normal().parent_path().filename().string();
  if (name.empty() || name == ".") name = "images";
  if (images.empty() && videos.empty()) {
    out.push_back(broken(path, "folder holds no image or video files"));
    return;
  }
  if (!images.empty()) out.push_back(image_sequence(path, std::move(images), name));
  for (const std::string& v : videos) out.push_back(video(v));
}

void expand_one(const std::string& path, std::vector<Input>& out) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (!fs::exists(status)) {
    out.push_back(broken(path, "no such file or folder"));
  } else if (fs::is_directory(status)) {
    std::vector<Input> found;
    expand_folder(path, found);
    out.insert(out.end(), found.begin(), found.end());
  } else if (!fs::is_regular_file(status)) {
    out.push_back(broken(path, "not a regular file"));
  } else if (is_image_file(path)) {
    out.push_back(image_sequence(path, {path}, fs::path(path).stem().string()));
  } else {
    out.push_back(video(path));  // unknown extensions too: OpenCV decides
  }
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The digit run starting at i: its end, and where its value starts (leading zeros dropped,
// one digit kept), so runs of any length compare without overflow.
std::pair<size_t, size_t> digit_run(const std::string& s, size_t i) {
  size_t end = i;
  while (end < s.size() && is_digit(s[end])) ++end;
  size_t value = i;
  while (value + 1 < end && s[value] == '0') ++value;
  return {end, value};
}

// <0, 0, >0 as in strcmp, with digit runs compared by value.
int natural_compare(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (is_digit(a[i]) && is_digit(b[j])) {
      const auto [a_end, a_value] = digit_run(a, i);
      const auto [b_end, b_value] = digit_run(b, j);
      const size_t a_len = a_end - a_value, b_len = b_end - b_value;
      if (a_len != b_len) return a_len < b_len ? -1 : 1;  // fewer digits: smaller
      const int c = a.compare(a_value, a_len, b, b_value, b_len);
      if (c != 0) return c;
      i = a_end;
      j = b_end;
      continue;
    }
    if (a[i] != b[j])
      return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]) ? -1 : 1;
    ++i;
    ++j;
  }
  if (i < a.size()) return 1;  // b is a prefix of a
  if (j < b.size()) return -1;
  return 0;
}

void make_names_unique(std::vector<Input>& inputs) {
  std::set<std::string> taken;
  for (Input& in : inputs) {
    if (in.name.empty()) in.name = "input";
    std::string name = in.name;
    for (int n = 2; taken.count(name); ++n) name = in.name + "_" + std::to_string(n);
    in.name = name;
    taken.insert(name);
  }
}

}  // namespace

bool natural_less(const std::string& a, const std::string& b) {
  const int c = natural_compare(a, b);
  return c != 0 ? c < 0 : a < b;
}

bool is_image_file(const std::string& path) {
  static const std::set<std::string> kExt = {".jpg",  ".jpeg", ".png", ".bmp", ".tif",
                                             ".tiff", ".webp", ".ppm", ".pgm"};
  return kExt.count(lower_extension(path)) > 0;
}

bool is_video_file(const std::string& path) {
  static const std::set<std::string> kExt = {".avi", ".mp4",  ".mov", ".mkv", ".webm", ".m4v",
                                             ".mpg", ".mpeg", ".wmv", ".flv", ".mts",  ".ts"};
  return kExt.count(lower_extension(path)) > 0;
}

std::vector<std::string> read_list_file(const std::string& list_path) {
  std::ifstream in(list_path);
  if (!in) throw Error(ErrorCode::kIo, "--list " + list_path + ": cannot read the list file");
  const fs::path base = fs::path(list_path).parent_path();
  std::vector<std::string> paths;
  std::string line;
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    const fs::path p(line);
    paths.push_back(p.is_absolute() || base.empty() ? line : (base / p).string());
  }
  return paths;
}

std::vector<Input> expand_inputs(const std::vector<std::string>& paths) {
  std::vector<Input> inputs;
  for (const std::string& path : paths) expand_one(path, inputs);
  make_names_unique(inputs);
  return inputs;
}

Shard parse_shard(const std::string& text) {
  const auto slash = text.find('/');
  Shard s;
  try {
    if (slash == std::string::npos) throw std::invalid_argument(text);
    size_t used_i = 0, used_n = 0;
    const std::string i = text.substr(0, slash);
    const std::string n = text.substr(slash + 1);
    s.index = std::stoi(i, &used_i);
    s.count = std::stoi(n, &used_n);
    if (used_i != i.size() || used_n != n.size()) throw std::invalid_argument(text);
  } catch (const std::exception&) {
    throw Error(ErrorCode::kBadArgument, "--shard '" + text + "': expected i/n, e.g. 0/4");
  }
  if (s.count < 1 || s.index < 0 || s.index >= s.count) {
    throw Error(ErrorCode::kBadArgument,
                "--shard '" + text + "': need 0 <= i < n (shards are numbered from 0)");
  }
  return s;
}

std::vector<Input> select_shard(const std::vector<Input>& inputs, const Shard& shard) {
  std::vector<Input> mine;
  for (size_t k = shard.index; k < inputs.size(); k += shard.count) mine.push_back(inputs[k]);
  return mine;
}

}  // namespace starface::pipeline
