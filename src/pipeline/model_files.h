// Where the model files are: OpenFace 3.0's checkpoints under their own names, looked for
// where users keep them, and where `starface models download` puts them.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace starface::pipeline {

inline constexpr const char* kLandmarkModelFile = "Landmark_98.pkl";
inline constexpr const char* kDetectorModelFile = "Alignment_RetinaFace.pth";
// OpenFace 3.0's weights on Hugging Face; <base>/<file> is a file.
inline constexpr const char* kDefaultModelsUrl =
    "https://huggingface.co/nutPace/openface_weights/resolve/main";

struct SearchDir {
  std::filesystem::path path;
  std::string origin;  // "--models", "$STARFACE_MODELS", "cache"
};

// $XDG_CACHE_HOME/starface, else $HOME/.cache/starface.
std::filesystem::path cache_dir();

// In search order: --models DIR (when given), $STARFACE_MODELS (when set), the cache.
std::vector<SearchDir> model_search_dirs(const std::string& models_flag);

// `explicit_path` (from `flag`, e.g. --landmark-model) when given, which must exist; else the
// first search dir holding `file_name`. kIo otherwise, with a message listing where it
// looked and how to get the file.
std::filesystem::path resolve_model(const std::string& file_name, const std::string& explicit_path,
                                    const std::string& flag, const std::vector<SearchDir>& search);

// Where downloads go: --dir, else the first search dir.
std::filesystem::path download_dir(const std::string& dir_flag, const std::string& models_flag);

// --url, else $STARFACE_MODELS_URL, else kDefaultModelsUrl; without a trailing '/'.
std::string models_base_url(const std::string& url_flag);

}  // namespace starface::pipeline
