#include "pipeline/model_files.h"

#include <cstdlib>

#include "core/error.h"

namespace starface::pipeline {

namespace fs = std::filesystem;

namespace {

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

}  // namespace

fs::path cache_dir() {
  if (!env("XDG_CACHE_HOME").empty()) return fs::path(env("XDG_CACHE_HOME")) / "starface";
  if (!env("HOME").empty()) return fs::path(env("HOME")) / ".cache" / "starface";
  return fs::path(".cache") / "starface";
}

std::vector<SearchDir> model_search_dirs(const std::string& models_flag) {
  std::vector<SearchDir> dirs;
  if (!models_flag.empty()) dirs.push_back({models_flag, "--models"});
  if (!env("STARFACE_MODELS").empty()) dirs.push_back({env("STARFACE_MODELS"), "$STARFACE_MODELS"});
  dirs.push_back({cache_dir(), "cache"});
  return dirs;
}

fs::path resolve_model(const std::string& file_name, const std::string& explicit_path,
                       const std::string& flag, const std::vector<SearchDir>& search) {
  std::error_code ec;
  if (!explicit_path.empty()) {
    if (!fs::is_regular_file(explicit_path, ec)) {
      throw Error(ErrorCode::kIo, flag + " " + explicit_path + ": no such file");
    }
    return explicit_path;
  }
  std::string looked;
  for (const SearchDir& dir : search) {
    const fs::path candidate = dir.path / file_name;
    if (fs::is_regular_file(candidate, ec)) return candidate;
    looked += "\n  " + candidate.string() + " (" + dir.origin + ")";
  }
  throw Error(ErrorCode::kIo, file_name + " not found; looked in:" + looked +
                                  "\nrun `starface models download`, or pass " + flag +
                                  " FILE, --models DIR or set $STARFACE_MODELS");
}

fs::path download_dir(const std::string& dir_flag, const std::string& models_flag) {
  if (!dir_flag.empty()) return dir_flag;
  return model_search_dirs(models_flag).front().path;
}

std::string models_base_url(const std::string& url_flag) {
  std::string url = !url_flag.empty()                     ? url_flag
                    : !env("STARFACE_MODELS_URL").empty() ? env("STARFACE_MODELS_URL")
                                                          : kDefaultModelsUrl;
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

}  // namespace starface::pipeline
