// starface models: where the model files are looked for, what is there, and a download of
// OpenFace 3.0's released weights into the model folder.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "pipeline/download.h"
#include "pipeline/model_files.h"

namespace starface::cli {

namespace {

namespace fs = std::filesystem;

struct ModelsFlags {
  std::string models_dir;
  std::string dir;
  std::string url;
  bool force = false;
  bool quiet = false;
  bool json = false;
};

const char* const kModelFiles[] = {pipeline::kLandmarkModelFile, pipeline::kDetectorModelFile};

nlohmann::json list_json(const ModelsFlags& f) {
  nlohmann::json dirs = nlohmann::json::array();
  for (const auto& d : pipeline::model_search_dirs(f.models_dir)) {
    nlohmann::json files = nlohmann::json::object();
    for (const char* name : kModelFiles) {
      std::error_code ec;
      const fs::path p = d.path / name;
      files[name] = fs::is_regular_file(p, ec) ? nlohmann::json(fs::file_size(p, ec))
                                               : nlohmann::json(nullptr);
    }
    dirs.push_back({{"path", d.path.string()}, {"origin", d.origin}, {"files", files}});
  }
  return {{"search", dirs}};
}

void print_list(const nlohmann::json& j) {
  std::printf("starface looks for %s and %s in, in order:\n", pipeline::kLandmarkModelFile,
              pipeline::kDetectorModelFile);
  for (const auto& d : j["search"]) {
    std::printf("  %s (%s)\n", d["path"].get<std::string>().c_str(),
                d["origin"].get<std::string>().c_str());
    for (const auto& [name, size] : d["files"].items()) {
      if (size.is_null()) {
        std::printf("    %-26s missing\n", name.c_str());
      } else {
        std::printf("    %-26s %.1f MB\n", name.c_str(), size.get<double>() / 1e6);
      }
    }
  }
}

// The file each model resolves to, or null.
nlohmann::json path_json(const ModelsFlags& f) {
  const auto search = pipeline::model_search_dirs(f.models_dir);
  nlohmann::json j;
  const std::pair<const char*, const char*> models[] = {{"landmark", pipeline::kLandmarkModelFile},
                                                        {"detector", pipeline::kDetectorModelFile}};
  for (const auto& [key, name] : models) {
    try {
      j[key] = pipeline::resolve_model(name, "", "--models", search).string();
    } catch (const Error&) {
      j[key] = nullptr;
    }
  }
  return j;
}

void show_paths(const ModelsFlags& f) {
  const nlohmann::json j = path_json(f);
  if (f.json) {
    std::cout << j.dump() << "\n";
  } else {
    for (const auto& [key, path] : j.items()) {
      std::printf("%-9s %s\n", key.c_str(),
                  path.is_null() ? "not found (see `starface models list`)"
                                 : path.get<std::string>().c_str());
    }
  }
  if (j["landmark"].is_null() || j["detector"].is_null()) {
    throw Error(ErrorCode::kIo, "some model files are missing; run `starface models download`");
  }
}

pipeline::DownloadProgress progress_bar(const std::string& name, bool quiet) {
  if (quiet || !::isatty(::fileno(stderr))) return {};
  return [name](int64_t done, int64_t total) {
    if (total > 0) {
      const int filled = static_cast<int>(24 * done / total);
      std::fprintf(stderr, "\r%s [%s%s] %.1f / %.1f MB\033[K", name.c_str(),
                   std::string(filled, '#').c_str(), std::string(24 - filled, '.').c_str(),
                   done / 1e6, total / 1e6);
    } else {
      std::fprintf(stderr, "\r%s %.1f MB\033[K", name.c_str(), done / 1e6);
    }
  };
}

void download(const ModelsFlags& f) {
  const fs::path dir = pipeline::download_dir(f.dir, f.models_dir);
  const std::string base = pipeline::models_base_url(f.url);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    throw Error(ErrorCode::kIo,
                dir.string() + ": cannot create the model folder (" + ec.message() + ")");
  for (const char* name : kModelFiles) {
    const fs::path target = dir / name;
    if (!f.force && fs::is_regular_file(target, ec)) {
      if (!f.quiet) std::fprintf(stderr, "%s: already there\n", target.c_str());
      continue;
    }
    const std::string url = base + "/" + name;
    try {
      pipeline::download_file(url, target, progress_bar(name, f.quiet));
    } catch (const Error& e) {
      if (!f.quiet && ::isatty(::fileno(stderr))) std::fprintf(stderr, "\n");
      throw Error(e.code(), std::string(e.what()) + "\nwithout network: download " + base + "/" +
                                pipeline::kLandmarkModelFile + " and " + base + "/" +
                                pipeline::kDetectorModelFile + " elsewhere and put them in " +
                                dir.string() +
                                " (or pass --landmark-model/--detector-model to run)");
    }
    if (!f.quiet) {
      std::fprintf(stderr, "%s%s: %.1f MB\n", ::isatty(::fileno(stderr)) ? "\r\033[K" : "",
                   target.c_str(), fs::file_size(target, ec) / 1e6);
    }
  }
}

}  // namespace

void add_models(CLI::App& app) {
  auto f = std::make_shared<ModelsFlags>();
  CLI::App* cmd = app.add_subcommand(
      "models", "Model files: where starface looks (list, path) and fetching them (download)");
  cmd->require_subcommand(1);
  // Accepted before the action (`models --models DIR list`) and after it (`models list
  // --models DIR`), as users type both.
  const auto add_models_dir = [&](CLI::App* app) {
    app->add_option("--models", f->models_dir,
                    "Model folder, searched before $STARFACE_MODELS and ~/.cache/starface");
  };
  add_models_dir(cmd);

  CLI::App* list = cmd->add_subcommand("list", "Where models are looked for and what is there");
  add_models_dir(list);
  list->add_flag("--json", f->json, "Print as JSON");
  list->callback([f] {
    const nlohmann::json j = list_json(*f);
    if (f->json) {
      std::cout << j.dump() << "\n";
    } else {
      print_list(j);
    }
  });

  CLI::App* path = cmd->add_subcommand(
      "path", "The landmark and detector files `starface run` would use (exit 1 if missing)");
  add_models_dir(path);
  path->add_flag("--json", f->json, "Print {\"landmark\": path|null, \"detector\": path|null}");
  path->callback([f] { show_paths(*f); });

  CLI::App* get = cmd->add_subcommand(
      "download", std::string("Download ") + pipeline::kLandmarkModelFile + " and " +
                      pipeline::kDetectorModelFile + " (OpenFace 3.0's weights, " +
                      pipeline::kDefaultModelsUrl + ")");
  add_models_dir(get);
  get->add_option("--dir", f->dir, "Target folder (default: the first model folder)");
  get->add_option("--url", f->url, "Base URL (default: $STARFACE_MODELS_URL or Hugging Face)");
  get->add_flag("--force", f->force, "Download again even when the file is there");
  get->add_flag("-q,--quiet", f->quiet, "No progress");
  get->callback([f] { download(*f); });
}

}  // namespace starface::cli
