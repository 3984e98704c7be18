// The loader's memory bound (docs/SECURITY.md): loading any input, hostile or not, peaks at
// no more than 2x its size + 64 MiB of resident memory above what the process held before.
// Each load runs in a forked child, whose own peak RSS (getrusage) is then its load's peak.
// Built without sanitizers only: under ASan, shadow memory and the free quarantine would be
// measured instead of the loader.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>

#include "import/checkpoint.h"
#include "import/raw_zip.h"
#include "import/torch_builder.h"
#include "import/zip_archive.h"

namespace starface::import {
namespace {

using starface::testing::PickleBuilder;

constexpr long kSlackKib = 64 * 1024;

long current_rss_kib() {
  long pages = 0, resident = 0;
  std::FILE* statm = std::fopen("/proc/self/statm", "r");
  if (!statm) return -1;
  if (std::fscanf(statm, "%ld %ld", &pages, &resident) != 2) resident = -1;
  std::fclose(statm);
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

long peak_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

// Loads make()'s bytes in a child; passes when the child's peak stays in the bound. The
// load itself may succeed or be refused: only its memory is judged here.
::testing::AssertionResult within_bound(const std::function<std::string()>& make) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return ::testing::AssertionFailure() << "pipe failed";
  const pid_t child = fork();
  if (child == 0) {
    close(pipe_fds[0]);
    const std::string bytes = make();
    const long before = current_rss_kib();
    try {
      load_state_dict_bytes(std::as_bytes(std::span(bytes.data(), bytes.size())), "input");
    } catch (const Error&) {
      // refused: fine
    } catch (...) {
      _exit(4);
    }
    const long report[3] = {before, peak_rss_kib(), static_cast<long>(bytes.size() / 1024)};
    if (write(pipe_fds[1], report, sizeof(report)) != sizeof(report)) _exit(5);
    _exit(0);
  }
  close(pipe_fds[1]);
  long report[3] = {0, 0, 0};
  const bool got = read(pipe_fds[0], report, sizeof(report)) == sizeof(report);
  close(pipe_fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  if (!got || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return ::testing::AssertionFailure() << "the child failed (status " << status << ")";
  }
  const auto [before, peak, size] = report;
  const long bound = before + 2 * size + kSlackKib;
  const std::string figures = "peak " + std::to_string(peak - before) + " KiB above a start of " +
                              std::to_string(before) + " KiB, for " + std::to_string(size) +
                              " KiB of input; bound " + std::to_string(bound - before) + " KiB";
  if (peak > bound) return ::testing::AssertionFailure() << figures;
  return ::testing::AssertionSuccess() << figures;
}

std::string zip_with_pickle(const std::string& pickle) {
  return starface::testing::raw_zip({{"archive/data.pkl", pickle}});
}

TEST(MemoryBound, FloodOfEmptyLists) {
  const auto result = within_bound([] {
    PickleBuilder p;
    p.proto().raw(std::string(size_t{4} << 20, ']'));
    return zip_with_pickle(p.stop().bytes());
  });
  EXPECT_TRUE(result) << result.message();
  std::printf("%s\n", result.message());
}

TEST(MemoryBound, FloodOfMemoEntriesAndSharedReferences) {
  const auto result = within_bound([] {
    PickleBuilder p;
    p.proto(4).empty_list().op(0x94).mark();
    for (int i = 0; i < (2 << 20); ++i) p.op(0x94);
    for (int i = 0; i < (1 << 20); ++i) p.op('h').u8(0);
    return zip_with_pickle(p.op('e').stop().bytes());
  });
  EXPECT_TRUE(result) << result.message();
  std::printf("%s\n", result.message());
}

TEST(MemoryBound, OverlappingRecordsZipBomb) {
  const auto result = within_bound([] {
    PickleBuilder p;
    p.proto().empty_dict().mark();
    for (int i = 0; i < 60; ++i) {
      int64_t inner_headers = 0;
      for (int j = i + 1; j < 60; ++j) inner_headers += 30 + 14 + std::to_string(j).size();
      p.str("w" + std::to_string(i));
      p.tensor("n" + std::to_string(i), "ByteStorage", (int64_t{4} << 20) + inner_headers, 0, {1},
               {1});
    }
    p.op('u').stop();
    return starface::testing::nested_zip({"archive/data.pkl", p.bytes()}, "archive/data/n", 60,
                                         std::string(size_t{4} << 20, 'A'));
  });
  EXPECT_TRUE(result) << result.message();
  std::printf("%s\n", result.message());
}

TEST(MemoryBound, DeflatedZerosClaimingMoreThanTheFile) {
  // Made here, not in the child, so that the child's peak is the load's alone.
  const auto dir = std::filesystem::temp_directory_path() / "starface_memory_bound";
  std::filesystem::create_directories(dir);
  const auto file = dir / ("deflate_" + std::to_string(getpid()) + ".pth");
  PickleBuilder t;
  const int64_t numel = int64_t{64} << 20;  // 256 MiB of float zeros, ~256 KiB deflated
  t.tensor("0", "FloatStorage", numel, 0, {numel}, {1});
  starface::testing::ZipRecordOptions options;
  options.deflate = true;
  starface::testing::write_torch_zip(file, starface::testing::dict_pickle({{"w", t}}),
                                     {{"0", std::string(static_cast<size_t>(numel) * 4, '\0')}},
                                     options);
  const std::string bytes = starface::testing::read_file(file);
  std::filesystem::remove(file);
  ASSERT_LT(bytes.size(), size_t{4} << 20);
  const auto result = within_bound([&] { return bytes; });
  EXPECT_TRUE(result) << result.message();
  std::printf("%s\n", result.message());
}

TEST(MemoryBound, LegacyStoragesClaimingTwoToThe40Bytes) {
  const auto result = within_bound([] {
    PickleBuilder t;
    t.tensor("0", "FloatStorage", int64_t{1} << 38, 0, {1}, {1}, true);
    return starface::testing::legacy_file_bytes(starface::testing::dict_pickle({{"w", t}}),
                                                {{"0", int64_t{1} << 38, "abcd"}});
  });
  EXPECT_TRUE(result) << result.message();
  std::printf("%s\n", result.message());
}

TEST(MemoryBound, ManyEmptyRecords) {
  // libzip keeps about 100 bytes per record of the directory, outside the budgets; the
  // archive is read up to ZipArchive::kMaxRecords records.
  const auto result = within_bound([] {
    std::vector<starface::testing::RawZipEntry> entries;
    for (int i = 0; i < 32768; ++i) entries.push_back({"r" + std::to_string(i), ""});
    return starface::testing::raw_zip(entries);
  });
  EXPECT_TRUE(result) << result.message();
  std::printf("%s\n", result.message());
}

// Every checkpoint input the fuzzers keep (the corpus and the crash reproducers).
TEST(MemoryBound, EveryFuzzCorpusCheckpoint) {
  int inputs = 0;
  for (const char* folder : {"corpus/checkpoint", "crashes/checkpoint", "corpus/legacy",
                             "crashes/legacy", "corpus/zip", "crashes/zip"}) {
    const std::filesystem::path dir = std::filesystem::path(STARFACE_SOURCE_DIR) / "fuzz" / folder;
    if (!std::filesystem::is_directory(dir)) continue;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      const std::string path = entry.path().string();
      const auto result = within_bound([&] { return starface::testing::read_file(path); });
      EXPECT_TRUE(result) << path << ": " << result.message();
      ++inputs;
    }
  }
  EXPECT_GT(inputs, 5);
}

}  // namespace
}  // namespace starface::import
