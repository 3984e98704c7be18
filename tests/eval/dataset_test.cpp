// The annotation readers on files written by the test, the crop STAR's test pipeline makes of
// each face, and errors that name the file and line.
#include "eval/dataset.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "support/fixtures.h"

namespace starface::eval {
namespace {

using testing::temp_dir;

std::string write(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
  return path.string();
}

// One WFLW line: point p at (p + 0.5, 2p + 0.25), then the box, flags and path.
std::string wflw_line(const std::string& box, const std::string& flags, const std::string& image,
                      int points = 98) {
  std::ostringstream s;
  for (int p = 0; p < points; ++p) s << p + 0.5 << " " << 2 * p + 0.25 << " ";
  s << box << " " << flags << " " << image;
  return s.str();
}

// Runs `read` and returns the error it throws (a test failure if it throws none).
template <typename Read>
Error error_of(Read read) {
  try {
    read();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no error";
  return Error(ErrorCode::kInternal, "");
}

void expect_message(const Error& e, ErrorCode code, const std::vector<std::string>& parts) {
  EXPECT_EQ(e.code(), code) << e.what();
  for (const std::string& part : parts) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos)
        << "'" << part << "' not in: " << e.what();
  }
}

TEST(Wflw, ReadsLandmarksBoxFlagsAndPath) {
  const auto dir = temp_dir("wflw");
  // A blank line between the faces still counts in the line numbers; CRLF endings are fine.
  const std::string path =
      write(dir / "list.txt", wflw_line("10 20 110.5 130", "1 0 0 1 0 0", "a/b.jpg") + "\r\n\n" +
                                  wflw_line("1 2 3 4", "0 0 0 0 0 1", "c.jpg") + "\n");
  const auto faces = read_wflw(path);
  ASSERT_EQ(faces.size(), 2u);
  EXPECT_EQ(faces[0].where, path + ":1");
  EXPECT_EQ(faces[1].where, path + ":3");
  EXPECT_EQ(faces[0].image, "a/b.jpg");
  EXPECT_EQ(faces[1].image, "c.jpg");
  ASSERT_EQ(faces[0].points(), 98);
  EXPECT_EQ(faces[0].landmarks[2 * 97], 97.5f);
  EXPECT_EQ(faces[0].landmarks[2 * 97 + 1], 194.25f);
  ASSERT_TRUE(faces[0].box.has_value());
  EXPECT_EQ(faces[0].box->x1, 10);
  EXPECT_EQ(faces[0].box->y1, 20);
  EXPECT_EQ(faces[0].box->x2, 110.5);
  EXPECT_EQ(faces[0].box->y2, 130);
  EXPECT_FALSE(faces[0].centre.has_value());
  ASSERT_TRUE(faces[0].attributes.has_value());
  EXPECT_EQ(*faces[0].attributes, (std::array<int, 6>{1, 0, 0, 1, 0, 0}));
  EXPECT_EQ(*faces[1].attributes, (std::array<int, 6>{0, 0, 0, 0, 0, 1}));
}

TEST(Wflw, MalformedLinesNameFileLineAndField) {
  const auto dir = temp_dir("wflw_bad");
  const std::string good = wflw_line("1 2 30 40", "0 0 0 0 0 0", "x.jpg");
  // 68 points: 136 + 4 + 6 + 1 = 147 fields.
  const std::string short_path =
      write(dir / "short.txt", good + "\n" + wflw_line("1 2 30 40", "0 0 0 0 0 0", "x.jpg", 68));
  expect_message(error_of([&] { read_wflw(short_path); }), ErrorCode::kBadInput,
                 {short_path + ":2", "expected 207 fields", "got 147"});

  std::string text = good;
  text.replace(text.find("2.5"), 3, "2,5");  // field 5 is landmark 2's x
  const std::string bad_number = write(dir / "number.txt", good + "\n\n" + text);
  expect_message(error_of([&] { read_wflw(bad_number); }), ErrorCode::kBadInput,
                 {bad_number + ":3", "field 5 (landmark 2 x)", "'2,5'"});

  const std::string bad_flag =
      write(dir / "flag.txt", wflw_line("1 2 30 40", "0 0 2 0 0 0", "x.jpg"));
  expect_message(error_of([&] { read_wflw(bad_flag); }), ErrorCode::kBadInput,
                 {bad_flag + ":1", "illumination flag", "0 or 1"});

  expect_message(error_of([&] { read_wflw((dir / "missing.txt").string()); }), ErrorCode::kIo,
                 {"missing.txt", "no such file"});
}

TEST(Wflw, CropFromTheBoxAsTheFixturesConventionMakesIt) {
  Face face;
  face.where = "list.txt:7";
  face.box = Box{20.7, 18.2, 199.9, 220.3};
  // Truncated to 20, 18, 199, 220, then OpenFace/STAR-demo's centre and scale.
  EXPECT_EQ(face_crop_matrix(face, 224, 224), star::crop_matrix(Box{20, 18, 199, 220}));
  face.box = Box{50, 50, 50.5, 90};  // zero width after truncation
  expect_message(error_of([&] { face_crop_matrix(face, 224, 224); }), ErrorCode::kBadInput,
                 {"list.txt:7", "zero or negative size"});
}

const std::string kTsvHeader =
    "image_path\tlandmarks_5pts\tlandmarks_target\tscale\tcenter_w\tcenter_h\ttags\n";

// A tsv row with `points` points: point p at (p, 2p).
std::string tsv_row(const std::string& image, int points, const std::string& scale_and_centre,
                    const std::string& tags) {
  std::ostringstream s;
  s << image << "\t1,2,3,4,5,6,7,8,9,10\t";
  for (int p = 0; p < points; ++p) s << (p ? "," : "") << p << "," << 2 * p;
  s << "\t" << scale_and_centre;
  if (!tags.empty()) s << "\t" << tags;
  return s.str();
}

TEST(Tsv, ReadsRowsAfterTheHeader) {
  const auto dir = temp_dir("tsv");
  const std::string path =
      write(dir / "test.tsv",
            kTsvHeader + tsv_row("rawImages\\a.jpg", 98, "1.28\t100\t50", "0.0,1.0,0,0,0,1") +
                "\n" + tsv_row("b.jpg", 98, "2\t10\t20", "0,0,0,0,0,0") + "\n");
  const auto faces = read_tsv(path);
  ASSERT_EQ(faces.size(), 2u);
  EXPECT_EQ(faces[0].where, path + ":2");
  EXPECT_EQ(faces[0].image, "rawImages\\a.jpg");
  EXPECT_EQ(faces[0].points(), 98);
  EXPECT_EQ(faces[0].landmarks[2 * 97 + 1], 194.0f);
  ASSERT_TRUE(faces[0].centre.has_value());
  EXPECT_FALSE(faces[0].box.has_value());
  EXPECT_EQ(faces[0].centre->scale, 1.28);
  EXPECT_EQ(faces[0].centre->center_x, 100);
  EXPECT_EQ(faces[0].centre->center_y, 50);
  EXPECT_EQ(*faces[0].attributes, (std::array<int, 6>{0, 1, 0, 0, 0, 1}));
  EXPECT_EQ(faces[1].centre->scale, 2);
}

TEST(Tsv, FirstRowWithoutHeaderIsAFaceAndTagsAreOptional) {
  const auto dir = temp_dir("tsv_plain");
  const std::string path = write(dir / "plain.tsv", tsv_row("a.jpg", 68, "1\t5\t6", "") + "\n");
  const auto faces = read_tsv(path);
  ASSERT_EQ(faces.size(), 1u);
  EXPECT_EQ(faces[0].points(), 68);
  EXPECT_FALSE(faces[0].attributes.has_value());
}

TEST(Tsv, CropAndGroundTruthAsStarsDatasetMakesThem) {
  Face face;
  face.centre = StarCentre{1.28, 100, 50};
  // s = 256 / (1.28 * 200) = 1, so M = [[1, 0, 127.5 - 100], [0, 1, 127.5 - 50]].
  const CropMatrix m = face_crop_matrix(face, 10, 10);
  EXPECT_EQ(m, (CropMatrix{1, 0, 27.5f, 0, 1, 77.5f, 0, 0, 1}));
  // (100, 50) -> crop (127.5, 127.5) -> (127.5 * 2 + 1) / 256 - 1 = 0.
  // (0, 0)    -> crop (27.5, 77.5)   -> 56 / 256 - 1 = -0.78125, 156 / 256 - 1 = -0.390625.
  // (300, 50) -> crop x 327.5        -> 656 / 256 - 1 = 1.5625, clamped to 1.
  face.landmarks = {100, 50, 0, 0, 300, 50};
  EXPECT_EQ(ground_truth_in_crop(face, m), (std::vector<float>{0, 0, -0.78125f, -0.390625f, 1, 0}));
}

TEST(Tsv, MalformedRowsNameFileAndLine) {
  const auto dir = temp_dir("tsv_bad");
  const std::string columns = write(
      dir / "columns.tsv", kTsvHeader + tsv_row("a.jpg", 98, "1\t5\t6", "") + "\n" + "a.jpg\t1\n");
  expect_message(error_of([&] { read_tsv(columns); }), ErrorCode::kBadInput,
                 {columns + ":3", "expected 6 or 7 tab-separated columns", "got 2"});

  const std::string points =
      write(dir / "points.tsv", kTsvHeader + tsv_row("a.jpg", 98, "1\t5\t6", "") + "\n" +
                                    tsv_row("b.jpg", 68, "1\t5\t6", "") + "\n");
  expect_message(error_of([&] { read_tsv(points); }), ErrorCode::kBadInput,
                 {points + ":3", "68 points", points + ":2 has 98"});

  const std::string scale =
      write(dir / "scale.tsv", kTsvHeader + tsv_row("a.jpg", 98, "-1\t5\t6", "") + "\n");
  expect_message(error_of([&] { read_tsv(scale); }), ErrorCode::kBadInput,
                 {scale + ":2", "scale", "positive"});

  const std::string odd = write(dir / "odd.tsv", "a.jpg\t1,2,3,4,5,6,7,8,9,10\t1,2,3\t1\t2\t3\n");
  expect_message(error_of([&] { read_tsv(odd); }), ErrorCode::kBadInput,
                 {odd + ":1", "landmarks_target", "got 3"});
}

TEST(FaceList, ImageAndBoxPerLine) {
  const auto dir = temp_dir("face_list");
  const std::string path =
      write(dir / "faces.txt", "# image box\nmy photos/a.jpg 10,20,30,40\n\nb.png\t1,2,3,4\n");
  const auto faces = read_face_list(path);
  ASSERT_EQ(faces.size(), 2u);
  EXPECT_EQ(faces[0].image, "my photos/a.jpg");
  EXPECT_EQ(faces[0].where, path + ":2");
  EXPECT_EQ(faces[0].box->x2, 30);
  EXPECT_EQ(faces[1].image, "b.png");
  EXPECT_EQ(faces[1].where, path + ":4");
  EXPECT_TRUE(faces[1].landmarks.empty());

  const std::string bad = write(dir / "bad.txt", "a.jpg 1,2,3\n");
  expect_message(error_of([&] { read_face_list(bad); }), ErrorCode::kBadInput,
                 {bad + ":1", "4 numbers"});
}

TEST(ImagePath, StarsCleanUpThenTheRoot) {
  EXPECT_EQ(resolve_image_path("/data/WFLW_images", "./rawImages/1--x\\y.jpg"),
            "/data/WFLW_images/1--x/y.jpg");
  EXPECT_EQ(resolve_image_path("root",
                               "//msr-facestore/Workspace/MSRA_EP_Allergan/users/"
                               "yanghuan/training_data/wflw/rawImages/a.jpg"),
            "root/a.jpg");
  EXPECT_EQ(resolve_image_path("", "a.jpg"), "a.jpg");
  EXPECT_EQ(resolve_image_path("root", "/abs/a.jpg"), "/abs/a.jpg");
}

}  // namespace
}  // namespace starface::eval
