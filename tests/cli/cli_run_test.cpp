// `starface run` and `starface models` as a user runs them, without the detector: flags,
// errors that name what is wrong, where models are looked for, downloads from a local server.
#include "cli/cli_run.h"

#include <cstdlib>
#include <opencv2/core.hpp>
#include <opencv2/videoio.hpp>

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
  for (const char* flag :
       {"--detect-every", "--max-faces", "--vis-threshold", "--landmarks68", "--json",
        "--annotated", "--skip-existing", "--shard", "--list", "--quiet", "--landmark-model",
        "--detector-model", "--models", "--sequence", "--max-frames", "--start", "--end"}) {
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

TEST(CliRun, SmoothFlagsAreCheckedBeforeAnyWork) {
  const auto dir = temp_dir("run_cli_smooth");
  const std::string run = "run x.avi -o " + quoted(dir / "out");
  CliResult r = run_starface(run + " --smooth kalman");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--smooth"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("offline"), std::string::npos) << r.err;  // the valid values are named
  r = run_starface(run + " --smooth online --smooth-min-cutoff -1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--smooth-min-cutoff"), std::string::npos) << r.err;
  EXPECT_EQ(run_starface(run + " --smooth online --smooth-beta -2").exit_code, 1);
  EXPECT_EQ(run_starface(run + " --smooth offline --smooth-offline-cutoff 0").exit_code, 1);
  r = run_starface(run + " --smooth-beta 5");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("add --smooth online"), std::string::npos) << r.err;
  r = run_starface(run + " --smooth online --smooth-offline-cutoff 3");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("add --smooth offline"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "out"));
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

std::string model_flags() {
  return " --landmark-model " + quoted(star_fixture("models/star_wflw_tiny.pth")) +
         " --detector-model " + quoted(shared_dir() / "models" / "retinaface_mobilenet0.25.pth");
}

TEST(CliRun, RangeFlagsAreCheckedBeforeAnyWork) {
  const auto dir = temp_dir("run_cli");
  const std::string out = " -o " + quoted(dir / "out");
  CliResult r = run_starface("run x.avi" + out + " --start 10 --end 5");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--end 5 must be after --start 10"), std::string::npos) << r.err;
  r = run_starface("run x.avi" + out + " --start -1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--start"), std::string::npos) << r.err;
  EXPECT_EQ(run_starface("run x.avi" + out + " --max-frames -3").exit_code, 1);
  EXPECT_EQ(run_starface("run x.avi" + out + " --end abc").exit_code, 1);
  EXPECT_FALSE(fs::exists(dir / "out"));
}

TEST(CliRun, FailureBeforeTheFirstOutputLeavesNoFolderBehind) {
  const auto dir = temp_dir("run_cli");
  IsolatedModelSearch isolated(dir);
  // A bad model path: the folder (and the parents it needed) are gone again.
  CliResult r = run_starface("run x.avi -o " + quoted(dir / "new" / "out") + " --landmark-model " +
                             quoted(dir / "nope.pkl"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("nope.pkl"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "new"));
  // A folder that was there stays, even when empty.
  fs::create_directories(dir / "mine");
  r = run_starface("run x.avi -o " + quoted(dir / "mine") + " --landmark-model " +
                   quoted(dir / "nope.pkl"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(fs::is_directory(dir / "mine"));
}

// An MP4 cut before its index: FFmpeg complains "[mov,mp4,... @ 0x...] moov atom not found"
// on its own; only starface's message must reach the user.
TEST(CliRun, TruncatedMp4GetsStarfacesMessageAloneAndNoFolder) {
  const auto dir = temp_dir("run_cli");
  const fs::path whole = dir / "whole.mp4";
  {
    cv::VideoWriter writer(whole.string(), cv::CAP_FFMPEG,
                           cv::VideoWriter::fourcc('m', 'p', '4', 'v'), 10.0, cv::Size(64, 48));
    ASSERT_TRUE(writer.isOpened());
    // Noise, so the frame data dwarfs the index and half the file ends inside the data.
    cv::Mat frame(48, 64, CV_8UC3);
    for (int i = 0; i < 10; ++i) {
      cv::randu(frame, 0, 256);
      writer.write(frame);
    }
  }
  {
    const std::string bytes = read_binary(whole);
    std::ofstream(dir / "cut.mp4", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  const std::string args =
      "run " + quoted(dir / "cut.mp4") + " -o " + quoted(dir / "out") + model_flags();
  CliResult r = run_starface(args);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("starface: skipped input: " + (dir / "cut.mp4").string(), 0), 0u) << r.err;
  EXPECT_EQ(r.err.find("moov atom"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(" @ 0x"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "out"));  // every input failed: nothing was written
  // What the test guards against: asked for FFmpeg's errors (AV_LOG_ERROR), the user gets them
  // (OpenCV's log callback prints them to stdout).
  setenv("OPENCV_FFMPEG_LOGLEVEL", "16", 1);
  r = run_starface(args);
  unsetenv("OPENCV_FFMPEG_LOGLEVEL");
  EXPECT_NE((r.out + r.err).find("moov atom not found"), std::string::npos) << r.out << r.err;
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
  // The folder after the action, as users also type it.
  r = run_starface("models list --models " + quoted(dir / "mine") + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["search"][0]["path"], (dir / "mine").string());
  r = run_starface("models path --models " + quoted(dir / "mine") + " --json");
  EXPECT_EQ(nlohmann::json::parse(r.out)["landmark"], (dir / "mine" / "Landmark_98.pkl").string());
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
