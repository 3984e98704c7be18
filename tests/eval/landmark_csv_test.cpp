// The landmark CSV reader on files written by the test: columns found by name (with or
// without the `file` column of image inputs), RFC 4180 quoting, and errors that name the file.
#include "eval/landmark_csv.h"

#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"
#include "support/fixtures.h"

namespace starface::eval {
namespace {

std::string write(const std::string& name, const std::string& text) {
  const auto path = testing::temp_dir("landmark_csv") / name;
  std::ofstream(path, std::ios::binary) << text;
  return path.string();
}

Error error_reading(const std::string& path) {
  try {
    read_landmark_csv(path);
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no error for " << path;
  return Error(ErrorCode::kInternal, "");
}

TEST(LandmarkCsv, SmoothColumnsAreReadOnRequest) {
  const std::string path = write("smooth.csv",
                                 "frame, face_id, timestamp, confidence, success, x_0, x_1, y_0, "
                                 "y_1, x_smooth_0, x_smooth_1, y_smooth_0, y_smooth_1\n"
                                 "1, 0, 0.0, 0.9, 1, 10, 20, 30, 40, 11, 21, 31, 41\n");
  const LandmarkTable raw = read_landmark_csv(path);
  ASSERT_EQ(raw.points, 2);
  EXPECT_EQ(raw.rows[0].x[1], 20);
  const LandmarkTable smooth = read_landmark_csv(path, PointColumns::kSmooth);
  ASSERT_EQ(smooth.points, 2);
  EXPECT_EQ(smooth.rows[0].x[1], 21);
  EXPECT_EQ(smooth.rows[0].y[0], 31);
  const std::string plain =
      write("plain.csv", "frame, face_id, success, x_0, x_1, y_0, y_1\n1, 0, 1, 1, 2, 3, 4\n");
  try {
    read_landmark_csv(plain, PointColumns::kSmooth);
    FAIL() << "no smoothed columns, no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kBadInput);
    EXPECT_NE(std::string(e.what()).find("--smooth"), std::string::npos) << e.what();
  }
}

TEST(LandmarkCsv, ReadsColumnsByNameWithTheFileColumn) {
  const std::string path =
      write("images.csv",
            "frame, file, face_id, timestamp, confidence, success, x_0, x_1, y_0, y_1\n"
            "1, \"a, b.jpg\", 0, 0.000000, 0.9, 1, 10.5, 20, 30, 40.25\n"
            "2, \"say \"\"hi\"\".jpg\", 3, 0.040000, 0.0, 0, 0, 0, 0, 0\n");
  const LandmarkTable t = read_landmark_csv(path);
  EXPECT_EQ(t.points, 2);
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0].frame, 1);
  EXPECT_TRUE(t.rows[0].success);
  EXPECT_EQ(t.rows[0].x, (std::vector<double>{10.5, 20}));
  EXPECT_EQ(t.rows[0].y, (std::vector<double>{30, 40.25}));
  EXPECT_EQ(t.rows[1].face_id, 3);
  EXPECT_DOUBLE_EQ(t.rows[1].timestamp, 0.04);
  EXPECT_FALSE(t.rows[1].success);
}

TEST(LandmarkCsv, ColumnOrderDoesNotMatter) {
  const std::string path = write("order.csv",
                                 "y_1,x_1,y_0,x_0,success,face_id,frame\n"
                                 "4,3,2,1,1,7,9\n");
  const LandmarkTable t = read_landmark_csv(path);
  EXPECT_EQ(t.rows[0].x, (std::vector<double>{1, 3}));
  EXPECT_EQ(t.rows[0].y, (std::vector<double>{2, 4}));
  EXPECT_EQ(t.rows[0].face_id, 7);
  EXPECT_EQ(t.rows[0].frame, 9);
}

TEST(LandmarkCsv, SplitsQuotedFields) {
  EXPECT_EQ(split_csv_line(" a , \"b, \"\"c\"\"\" ,d", "x"),
            (std::vector<std::string>{"a", "b, \"c\"", "d"}));
  EXPECT_THROW(split_csv_line("a, \"b", "x"), Error);
}

TEST(LandmarkCsv, ErrorsNameTheFileAndWhatIsWrong) {
  const Error missing = error_reading("/nonexistent/landmarks.csv");
  EXPECT_EQ(missing.code(), ErrorCode::kIo);
  const Error no_points =
      error_reading(write("no_points.csv", "frame, face_id, success, AU01_r\n1, 0, 1, 0.5\n"));
  EXPECT_EQ(no_points.code(), ErrorCode::kBadInput);
  EXPECT_NE(std::string(no_points.what()).find("x_0"), std::string::npos) << no_points.what();
  const Error bad_number = error_reading(
      write("bad.csv",
            "frame, face_id, success, x_0, x_1, y_0, y_1\n1, 0, 1, 1, 2, 3, 4\n2, 0, 1, 1, "
            "nan?, 3, 4\n"));
  EXPECT_EQ(bad_number.code(), ErrorCode::kBadInput);
  EXPECT_NE(std::string(bad_number.what()).find("bad.csv:3"), std::string::npos)
      << bad_number.what();
  EXPECT_NE(std::string(bad_number.what()).find("x_1"), std::string::npos) << bad_number.what();
  const Error short_row =
      error_reading(write("short.csv", "frame, face_id, success, x_0, x_1, y_0, y_1\n1, 0, 1\n"));
  EXPECT_EQ(short_row.code(), ErrorCode::kBadInput);
  const Error empty = error_reading(write("empty.csv", ""));
  EXPECT_EQ(empty.code(), ErrorCode::kBadInput);
}

}  // namespace
}  // namespace starface::eval
