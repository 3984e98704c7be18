// The waiting policy the starface command runs with: its default when the user sets none,
// the user's OMP_WAIT_POLICY or GOMP_SPINCOUNT otherwise, reported by `bench` (which ran it).
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "cli_run.h"
#include "core/threads.h"

namespace starface::testing {
namespace {

// Sets (or with nullptr unsets) an environment variable for one test, then restores it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    value ? setenv(name, value, 1) : unsetenv(name);
  }
  ~ScopedEnv() { old_.empty() ? unsetenv(name_) : setenv(name_, old_.c_str(), 1); }

 private:
  const char* name_;
  std::string old_;
};

std::string reported_threading() {
  const CliResult r =
      run_starface("bench --model " + quoted(star_fixture("models/star_wflw_tiny.pth")) +
                   " --runs 1 --warmup 0 --peak-seconds 0.01 --threads 2 --json");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(r.out).at("threading").get<std::string>();
}

TEST(CliThreads, DefaultIsStarfacesSpinCount) {
  ScopedEnv policy("OMP_WAIT_POLICY", nullptr), spin("GOMP_SPINCOUNT", nullptr);
  const std::string threading = reported_threading();
  EXPECT_NE(threading.find("GNU OpenMP (libgomp), 2 threads"), std::string::npos) << threading;
  EXPECT_NE(threading.find(std::string("GOMP_SPINCOUNT=") + kDefaultSpinCount), std::string::npos)
      << threading;
}

TEST(CliThreads, VersionSaysWhichRuntimeRuns) {
  ScopedEnv policy("OMP_WAIT_POLICY", nullptr), spin("GOMP_SPINCOUNT", nullptr);
  const CliResult r = run_starface("--version");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\nthreading: GNU OpenMP (libgomp)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(std::string("GOMP_SPINCOUNT=") + kDefaultSpinCount), std::string::npos);
}

TEST(CliThreads, UsersWaitPolicyWins) {
  ScopedEnv policy("OMP_WAIT_POLICY", "passive"), spin("GOMP_SPINCOUNT", nullptr);
  const std::string threading = reported_threading();
  EXPECT_NE(threading.find("OMP_WAIT_POLICY=passive"), std::string::npos) << threading;
  EXPECT_EQ(threading.find("GOMP_SPINCOUNT"), std::string::npos) << threading;
}

TEST(CliThreads, UsersSpinCountWins) {
  ScopedEnv policy("OMP_WAIT_POLICY", nullptr), spin("GOMP_SPINCOUNT", "777");
  EXPECT_NE(reported_threading().find("GOMP_SPINCOUNT=777"), std::string::npos);
}

}  // namespace
}  // namespace starface::testing
