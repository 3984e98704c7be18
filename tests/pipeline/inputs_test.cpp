// Input expansion (files, folders, list files), unique names and shards.
#include "pipeline/inputs.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "core/error.h"
#include "support/fixtures.h"

namespace starface::testing {
namespace {

namespace fs = std::filesystem;
using pipeline::Input;

void touch(const fs::path& p, const std::string& text = "x") {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

TEST(Inputs, FoldersGiveOneImageSequenceAndOneInputPerVideo) {
  const auto dir = temp_dir("inputs");
  touch(dir / "clips" / "b.png");
  touch(dir / "clips" / "a.JPG");
  touch(dir / "clips" / "c.jpeg");
  touch(dir / "clips" / "z.mp4");
  touch(dir / "clips" / "m.avi");
  touch(dir / "clips" / "notes.txt");
  touch(dir / "clips" / "sub" / "deep.avi");  // not entered
  const auto inputs = pipeline::expand_inputs({(dir / "clips").string() + "/"});
  ASSERT_EQ(inputs.size(), 3u);
  EXPECT_EQ(inputs[0].kind, Input::Kind::kImages);
  EXPECT_EQ(inputs[0].name, "clips");
  ASSERT_EQ(inputs[0].files.size(), 3u);
  EXPECT_EQ(fs::path(inputs[0].files[0]).filename(), "a.JPG");
  EXPECT_EQ(fs::path(inputs[0].files[2]).filename(), "c.jpeg");
  EXPECT_EQ(inputs[1].kind, Input::Kind::kVideo);
  EXPECT_EQ(inputs[1].name, "m");
  EXPECT_EQ(inputs[2].name, "z");
}

TEST(Inputs, NaturalOrderComparesDigitRunsByValue) {
  const std::vector<std::string> sorted = {
      "1.png",    "2.png",     "10.jpg",  "a01.png", "a1.png",
      "a2_3.png", "a2_10.png", "a10.png", "b.png",   "img99999999999999999999.png"};
  std::vector<std::string> names(sorted.rbegin(), sorted.rend());
  std::sort(names.begin(), names.end(), pipeline::natural_less);
  EXPECT_EQ(names, sorted);
  EXPECT_TRUE(pipeline::natural_less("2.png", "10.jpg"));
  EXPECT_FALSE(pipeline::natural_less("10.jpg", "2.png"));
  EXPECT_TRUE(pipeline::natural_less("f9", "f010"));
  // Equal by value ("a01", "a1"): byte order decides, so the order is total.
  EXPECT_NE(pipeline::natural_less("a01", "a1"), pipeline::natural_less("a1", "a01"));
  EXPECT_FALSE(pipeline::natural_less("x", "x"));
}

TEST(Inputs, FolderImagesComeInNaturalOrder) {
  const auto dir = temp_dir("inputs");
  for (const char* name : {"10.jpg", "2.png", "1.png", "frame_100.png", "frame_20.png"}) {
    touch(dir / "stills" / name);
  }
  const auto inputs = pipeline::expand_inputs({(dir / "stills").string()});
  ASSERT_EQ(inputs.size(), 1u);
  std::vector<std::string> names;
  for (const auto& f : inputs[0].files) names.push_back(fs::path(f).filename().string());
  EXPECT_EQ(names, (std::vector<std::string>{"1.png", "2.png", "10.jpg", "frame_20.png",
                                             "frame_100.png"}));
}

TEST(Inputs, FilesMissingPathsAndDuplicateNames) {
  const auto dir = temp_dir("inputs");
  touch(dir / "x" / "clip.avi");
  touch(dir / "y" / "clip.avi");
  touch(dir / "face.png");
  touch(dir / "raw.bin");
  touch(dir / "empty_folder" / "readme.txt");
  const auto inputs =
      pipeline::expand_inputs({(dir / "x" / "clip.avi").string(), (dir / "y" / "clip.avi").string(),
                               (dir / "face.png").string(), (dir / "raw.bin").string(),
                               (dir / "missing.mp4").string(), (dir / "empty_folder").string()});
  ASSERT_EQ(inputs.size(), 6u);
  EXPECT_EQ(inputs[0].name, "clip");
  EXPECT_EQ(inputs[1].name, "clip_2");
  EXPECT_EQ(inputs[2].kind, Input::Kind::kImages);
  EXPECT_EQ(inputs[2].files.size(), 1u);
  EXPECT_EQ(inputs[3].kind, Input::Kind::kVideo);  // unknown extension: OpenCV decides
  EXPECT_EQ(inputs[4].kind, Input::Kind::kBroken);
  EXPECT_NE(inputs[4].error.find("missing.mp4: no such file"), std::string::npos);
  EXPECT_EQ(inputs[5].kind, Input::Kind::kBroken);
  EXPECT_NE(inputs[5].error.find("no image or video"), std::string::npos);
}

TEST(Inputs, ListFileSkipsCommentsAndResolvesRelativePaths) {
  const auto dir = temp_dir("inputs");
  touch(dir / "lists" / "a.avi");
  std::ofstream(dir / "lists" / "todo.txt") << "# my videos\n  a.avi  \n\n/abs/b.mp4\r\n# done\n";
  const auto paths = pipeline::read_list_file((dir / "lists" / "todo.txt").string());
  ASSERT_EQ(paths.size(), 2u);
  EXPECT_EQ(paths[0], (dir / "lists" / "a.avi").string());
  EXPECT_EQ(paths[1], "/abs/b.mp4");
  try {
    pipeline::read_list_file((dir / "nope.txt").string());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
    EXPECT_NE(std::string(e.what()).find("nope.txt"), std::string::npos);
  }
}

TEST(Inputs, ShardsSplitEveryInputExactlyOnce) {
  std::vector<Input> all(10);
  for (int i = 0; i < 10; ++i) all[i].name = "v" + std::to_string(i);
  std::vector<std::string> seen;
  for (int s = 0; s < 3; ++s) {
    const auto mine = pipeline::select_shard(all, pipeline::parse_shard(std::to_string(s) + "/3"));
    EXPECT_EQ(mine.size(), s == 0 ? 4u : 3u);
    for (const Input& in : mine) seen.push_back(in.name);
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen.size(), 10u);
  EXPECT_EQ(std::unique(seen.begin(), seen.end()), seen.end());
  EXPECT_EQ(pipeline::select_shard(all, pipeline::parse_shard("1/3"))[1].name, "v4");
  for (const char* bad : {"3/3", "-1/2", "1", "a/b", "1/0", "1/2x"}) {
    EXPECT_THROW(pipeline::parse_shard(bad), Error) << bad;
  }
}

}  // namespace
}  // namespace starface::testing
