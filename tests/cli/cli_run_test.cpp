// `starface run` and `starface models` as a user runs them, without the detector: flags,
// errors that name what is wrong, where models are looked for, downloads from a local server.
#include "cli/cli_run.h"

#include <cstdlib>

#include "support/http_server.h"

namespace starface::testing {
namespace {

namespace fs = std::filesystem;

// Points the model search at an empty place for one test: no cache, no $STARFACE_MODELS.
class IsolatedModelSearch {
 public:
  explicit IsolatedModelSearch(const fs::path& home) {
    setenv("XDG_CACHE_HOME", (home / "cache").c_str(), 1);
    unsetenv("STARFACE_MODELS");
    unsetenv("STARFACE_MODELS_URL");
  }
  ~IsolatedModelSearch() { unsetenv("XDG_CACHE_HOME"); }
};

std::string read_binary(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(CliRun, HelpNamesTheFlags) {
  const CliResult r = run_starface("run --help");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* flag : {"--detect-every", "--max-faces", "--vis-threshold", "--landmarks68",
                           "--json", "--annotated", "--skip-existing", "--shard", "--list",
                           "--quiet", "--landmark-model", "--detector-model", "--models"}) {
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
  }
  const CliResult m = run_starface("models --help");
  EXPECT_EQ(m.exit_code, 0);
  EXPECT_NE(m.out.find("download"), std::string::npos) << m.out;
}

TEST(CliRun, UsageErrorsExitOneWithAMessage) {
  const auto dir = temp_dir("run_cli");
  const std::string out = " -o " + quoted(dir / "out");
  CliResult r = run_starface("run" + out);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no inputs"), std::string::npos) << r.err;
  r = run_starface("run x.avi" + out + " --shard 2/2");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--shard '2/2'"), std::string::npos) << r.err;
  EXPECT_EQ(run_starface("run x.avi" + out + " --detect-every 0").exit_code, 1);
  EXPECT_EQ(run_starface("run x.avi" + out + " --vis-threshold 2").exit_code, 1);
  r = run_starface("run x.avi" + out + " --list " + quoted(dir / "no_list.txt"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no_list.txt"), std::string::npos) << r.err;
}

TEST(CliRun, UnwritableOutputFolderIsAClearError) {
  const auto dir = temp_dir("run_cli");
  std::ofstream(dir / "a_file") << "x";
  const CliResult r = run_starface("run x.avi -o " + quoted(dir / "a_file" / "out"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("-o " + (dir / "a_file" / "out").string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("cannot create the output folder"), std::string::npos) << r.err;
}

TEST(CliRun, MissingModelsSayWhereTheyWereLookedFor) {
  const auto dir = temp_dir("run_cli");
  IsolatedModelSearch isolated(dir);
  const CliResult r =
      run_starface("run x.avi -o " + quoted(dir / "out") + " --models " + quoted(dir / "mine"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("Landmark_98.pkl not found"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find((dir / "mine").string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find((dir / "cache" / "starface").string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("starface models download"), std::string::npos) << r.err;
  const CliResult d = run_starface("run x.avi -o " + quoted(dir / "out") + " --landmark-model " +
                                   quoted(dir / "nope.pkl"));
  EXPECT_EQ(d.exit_code, 1);
  EXPECT_NE(d.err.find("--landmark-model " + (dir / "nope.pkl").string()), std::string::npos)
      << d.err;
}

TEST(CliModels, ListAndPathShowWhereTheyLookAndWhatIsThere) {
  const auto dir = temp_dir("models_cli");
  IsolatedModelSearch isolated(dir);
  fs::create_directories(dir / "mine");
  std::ofstream(dir / "mine" / "Landmark_98.pkl") << "12345";
  CliResult r = run_starface("models --models " + quoted(dir / "mine") + " list --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["search"].size(), 2u);
  EXPECT_EQ(j["search"][0]["path"], (dir / "mine").string());
  EXPECT_EQ(j["search"][0]["origin"], "--models");
  EXPECT_EQ(j["search"][0]["files"]["Landmark_98.pkl"], 5);
  EXPECT_TRUE(j["search"][0]["files"]["Alignment_RetinaFace.pth"].is_null());
  EXPECT_EQ(j["search"][1]["path"], (dir / "cache" / "starface").string());
  r = run_starface("models --models " + quoted(dir / "mine") + " list");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("missing"), std::string::npos) << r.out;
  r = run_starface("models --models " + quoted(dir / "mine") + " path --json");
  EXPECT_EQ(r.exit_code, 1);  // the detector is missing
  EXPECT_EQ(nlohmann::json::parse(r.out)["landmark"], (dir / "mine" / "Landmark_98.pkl").string());
  fs::create_directories(dir / "cache" / "starface");
  std::ofstream(dir / "cache" / "starface" / "Alignment_RetinaFace.pth") << "x";
  r = run_starface("models --models " + quoted(dir / "mine") + " path");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find((dir / "cache" / "starface" / "Alignment_RetinaFace.pth").string()),
            std::string::npos)
      << r.out;
}

TEST(CliModels, DownloadFromALocalServerThen404AndRefused) {
  const auto dir = temp_dir("models_cli");
  IsolatedModelSearch isolated(dir);
  fs::create_directories(dir / "served");
  std::ofstream(dir / "served" / "Landmark_98.pkl", std::ios::binary) << std::string(70000, 'L');
  std::ofstream(dir / "served" / "Alignment_RetinaFace.pth", std::ios::binary)
      << std::string(1000, 'R');
  LocalHttpServer server(dir / "served");
  // The URL from the environment; the folder from --dir.
  setenv("STARFACE_MODELS_URL", server.url().c_str(), 1);
  CliResult r = run_starface("models download --dir " + quoted(dir / "got"));
  unsetenv("STARFACE_MODELS_URL");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_binary(dir / "got" / "Landmark_98.pkl"), std::string(70000, 'L'));
  EXPECT_EQ(read_binary(dir / "got" / "Alignment_RetinaFace.pth"), std::string(1000, 'R'));
  // Into the cache by default, which run then finds.
  r = run_starface("models download --url " + server.url());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir / "cache" / "starface" / "Landmark_98.pkl"));
  EXPECT_EQ(run_starface("models path").exit_code, 0);

  r = run_starface("models download --dir " + quoted(dir / "bad") + " --url " + server.url() +
                   "/nothing");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("HTTP 404"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("put them in " + (dir / "bad").string()), std::string::npos) << r.err;
  EXPECT_TRUE(fs::is_empty(dir / "bad"));

  r = run_starface("models download --dir " + quoted(dir / "bad") +
                   " --url http://127.0.0.1:" + std::to_string(free_port()));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("onnect"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("without network"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::is_empty(dir / "bad"));
}

}  // namespace
}  // namespace starface::testing
