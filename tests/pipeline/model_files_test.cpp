// Where models are looked for, and downloads from a local server: success, 404, refused.
#include "pipeline/model_files.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "core/error.h"
#include "pipeline/atomic_file.h"
#include "pipeline/download.h"
#include "support/fixtures.h"
#include "support/http_server.h"
#include "support/scoped_env.h"

namespace starface::testing {
namespace {

namespace fs = std::filesystem;

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(ModelFiles, SearchOrderIsFlagThenEnvironmentThenCache) {
  const auto dir = temp_dir("models");
  ScopedEnv env("STARFACE_MODELS", (dir / "env").string());
  ScopedEnv xdg("XDG_CACHE_HOME", (dir / "xdg").string());
  const auto dirs = pipeline::model_search_dirs((dir / "flag").string());
  ASSERT_EQ(dirs.size(), 3u);
  EXPECT_EQ(dirs[0].path, dir / "flag");
  EXPECT_EQ(dirs[1].path, dir / "env");
  EXPECT_EQ(dirs[2].path, dir / "xdg" / "starface");
  EXPECT_EQ(pipeline::download_dir("", (dir / "flag").string()), dir / "flag");
  EXPECT_EQ(pipeline::download_dir((dir / "d").string(), ""), dir / "d");

  fs::create_directories(dir / "env");
  fs::create_directories(dir / "xdg" / "starface");
  std::ofstream(dir / "env" / "Landmark_98.pkl") << "x";
  std::ofstream(dir / "xdg" / "starface" / "Landmark_98.pkl") << "x";
  std::ofstream(dir / "xdg" / "starface" / "Alignment_RetinaFace.pth") << "x";
  EXPECT_EQ(pipeline::resolve_model("Landmark_98.pkl", "", "--landmark-model", dirs),
            dir / "env" / "Landmark_98.pkl");
  EXPECT_EQ(pipeline::resolve_model("Alignment_RetinaFace.pth", "", "--detector-model", dirs),
            dir / "xdg" / "starface" / "Alignment_RetinaFace.pth");
  EXPECT_EQ(pipeline::resolve_model("Landmark_98.pkl", (dir / "env" / "Landmark_98.pkl").string(),
                                    "--landmark-model", {}),
            dir / "env" / "Landmark_98.pkl");
}

TEST(ModelFiles, MissingModelSaysWhereItLookedAndWhatToDo) {
  const auto dir = temp_dir("models");
  ScopedEnv xdg("XDG_CACHE_HOME", (dir / "xdg").string());
  try {
    pipeline::resolve_model("Landmark_98.pkl", "", "--landmark-model",
                            pipeline::model_search_dirs((dir / "flag").string()));
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_EQ(e.code(), ErrorCode::kIo);
    EXPECT_NE(m.find((dir / "flag" / "Landmark_98.pkl").string() + " (--models)"),
              std::string::npos)
        << m;
    EXPECT_NE(m.find((dir / "xdg" / "starface").string()), std::string::npos) << m;
    EXPECT_NE(m.find("starface models download"), std::string::npos) << m;
  }
  EXPECT_THROW(pipeline::resolve_model("Landmark_98.pkl", (dir / "nope.pkl").string(),
                                       "--landmark-model", {}),
               Error);
}

TEST(ModelFiles, BaseUrlFromFlagEnvironmentOrHuggingFace) {
  EXPECT_EQ(pipeline::models_base_url("http://x/y/"), "http://x/y");
  {
    ScopedEnv env("STARFACE_MODELS_URL", "http://mirror/models");
    EXPECT_EQ(pipeline::models_base_url(""), "http://mirror/models");
  }
  unsetenv("STARFACE_MODELS_URL");
  EXPECT_EQ(pipeline::models_base_url(""),
            "https://huggingface.co/nutPace/openface_weights/resolve/main");
}

TEST(Download, FetchesFromALocalServerThroughAPartialFile) {
  const auto dir = temp_dir("download");
  fs::create_directories(dir / "served");
  std::string payload(300000, '\0');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 7 % 251);
  std::ofstream(dir / "served" / "Landmark_98.pkl", std::ios::binary) << payload;
  LocalHttpServer server(dir / "served");
  int64_t last_done = 0, last_total = 0;
  pipeline::download_file(
      server.url() + "/Landmark_98.pkl", dir / "Landmark_98.pkl",
      [&](int64_t done, int64_t total) { last_done = done, last_total = total; });
  EXPECT_EQ(read_all(dir / "Landmark_98.pkl"), payload);
  EXPECT_EQ(last_done, 300000);
  EXPECT_EQ(last_total, 300000);
  EXPECT_FALSE(fs::exists(pipeline::partial_path(dir / "Landmark_98.pkl")));
}

TEST(Download, NotFoundAndRefusedAreErrorsThatLeaveNoFile) {
  const auto dir = temp_dir("download");
  fs::create_directories(dir / "served");
  {
    LocalHttpServer server(dir / "served");
    try {
      pipeline::download_file(server.url() + "/missing.pkl", dir / "missing.pkl");
      FAIL() << "no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kIo);
      EXPECT_NE(std::string(e.what()).find("HTTP 404"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("/missing.pkl"), std::string::npos) << e.what();
    }
  }
  const std::string refused = "http://127.0.0.1:" + std::to_string(free_port()) + "/x.pkl";
  try {
    pipeline::download_file(refused, dir / "x.pkl");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(refused), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("onnect"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fs::is_empty(dir / "served"));
  for (const auto& e : fs::directory_iterator(dir)) {
    EXPECT_EQ(e.path().filename(), "served") << "left behind: " << e.path();
  }
}

}  // namespace
}  // namespace starface::testing
