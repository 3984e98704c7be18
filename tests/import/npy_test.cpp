// .npy read and write: round trips, the exact header numpy writes, and refused files.
#include "import/npy.h"

#include <gtest/gtest.h>

#include <cstring>

#include "import/expect_error.h"
#include "import/torch_builder.h"
#include "support/fixtures.h"

namespace starface::import {
namespace {

using starface::testing::read_file;
using starface::testing::throws_error;
using starface::testing::write_file;

class Npy : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = starface::testing::temp_dir("npy"); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // A version 1.0 file with the given header dict and data bytes.
  std::string file_with_header(const std::string& header, const std::string& data,
                               int version = 1) {
    std::string text = header;
    const size_t preamble = version == 1 ? 10 : 12;
    text.append(64 - (preamble + text.size() + 1) % 64, ' ');
    text += '\n';
    std::string out = "\x93NUMPY";
    out += static_cast<char>(version);
    out += '\0';
    for (size_t i = 0; i < preamble - 8; ++i)
      out += static_cast<char>((text.size() >> (8 * i)) & 0xff);
    const std::string file = path("handmade.npy");
    write_file(file, out + text + data);
    return file;
  }

  std::filesystem::path dir_;
};

::testing::AssertionResult same_bytes(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) {
    return ::testing::AssertionFailure() << "dtype or shape differ";
  }
  if (a.nbytes() && std::memcmp(a.contiguous().bytes(), b.contiguous().bytes(), a.nbytes())) {
    return ::testing::AssertionFailure() << "values differ";
  }
  return ::testing::AssertionSuccess();
}

TEST_F(Npy, RoundTripsEveryDtype) {
  std::vector<Tensor> tensors = {
      Tensor::from_vector<float>({2, 3}, {1, -2, 3.5f, 4, 5, 6}),
      Tensor::from_vector<double>({3}, {1e300, -0.0, 2.5}),
      Tensor::from_vector<int64_t>({2, 1, 2}, {1, -1, int64_t{1} << 60, 7}),
      Tensor::from_vector<int32_t>({4}, {1, -2, 3, -4}),
      Tensor::from_vector<uint8_t>({2, 2}, {0, 255, 7, 9}),
      Tensor::from_vector<int8_t>({3}, {-128, 0, 127}),
      Tensor::from_vector<bool>({3}, {true, false, true}),
      Tensor::from_vector<float>({}, {42}),
      Tensor(DType::kFloat32, {0, 5}),
  };
  Tensor half(DType::kFloat16, {3});
  const uint16_t half_bits[] = {0x3c00, 0xc000, 0x7bff};
  std::memcpy(half.bytes(), half_bits, sizeof(half_bits));
  tensors.push_back(half);
  for (const Tensor& tensor : tensors) {
    SCOPED_TRACE(std::string(dtype_name(tensor.dtype())) + shape_str(tensor.shape()));
    write_npy(path("t.npy"), tensor);
    EXPECT_TRUE(same_bytes(read_npy(path("t.npy")), tensor));
  }
}

TEST_F(Npy, WritesAStridedTensorInCOrder) {
  const Tensor base = Tensor::from_vector<float>({2, 3}, {0, 1, 2, 3, 4, 5});
  const Tensor transposed = Tensor::view(base.storage(), DType::kFloat32, {3, 2}, {1, 3}, 0);
  write_npy(path("t.npy"), transposed);
  const Tensor back = read_npy(path("t.npy"));
  EXPECT_EQ(back.shape(), (Shape{3, 2}));
  EXPECT_EQ(std::vector<float>(back.data<float>(), back.data<float>() + 6),
            (std::vector<float>{0, 3, 1, 4, 2, 5}));
}

TEST_F(Npy, HeaderIsWhatNumpyWrites) {
  write_npy(path("t.npy"), Tensor(DType::kFloat32, {2, 3}));
  const std::string bytes = read_file(path("t.npy"));
  ASSERT_EQ(bytes.size(), 128u + 24u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  EXPECT_EQ(static_cast<uint8_t>(bytes[8]) | (static_cast<uint8_t>(bytes[9]) << 8), 118);
  const std::string header = bytes.substr(10, 118);
  EXPECT_TRUE(header.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"));
  EXPECT_EQ(header.back(), '\n');
  write_npy(path("v.npy"), Tensor(DType::kUInt8, {5}));
  EXPECT_NE(read_file(path("v.npy")).find("'descr': '|u1', 'fortran_order': False, 'shape': (5,)"),
            std::string::npos);
}

TEST_F(Npy, ReadsTheSharedGoldens) {
  const Tensor input = read_npy(starface::testing::star_fixture("cases/inputs/input_a.npy"));
  EXPECT_EQ(input.dtype(), DType::kFloat32);
  EXPECT_EQ(input.shape(), (Shape{1, 3, 256, 256}));
}

TEST_F(Npy, ReadsFormatVersions2And3) {
  for (int version : {2, 3}) {
    const std::string file =
        file_with_header("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }",
                         std::string("\1\0\0\0\2\0\0\0", 8), version);
    const Tensor tensor = read_npy(file);
    EXPECT_EQ(tensor.data<int32_t>()[1], 2) << version;
  }
}

TEST_F(Npy, AcceptsDoubleQuotesAndAnyKeyOrder) {
  const std::string file = file_with_header(
      "{\"shape\": (1,1), \"fortran_order\": False, \"descr\": \"|b1\"}", std::string("\1", 1));
  EXPECT_EQ(read_npy(file).shape(), (Shape{1, 1}));
}

TEST_F(Npy, BfloatCannotBeWritten) {
  EXPECT_TRUE(throws_error([&] { write_npy(path("b.npy"), Tensor(DType::kBFloat16, {2})); },
                           ErrorCode::kBadDtype, {"b.npy", "bfloat16"}));
}

TEST_F(Npy, WriteToAMissingFolderIsAnIoError) {
  const std::string file = path("missing/folder/t.npy");
  EXPECT_TRUE(
      throws_error([&] { write_npy(file, Tensor(DType::kFloat32, {2})); }, ErrorCode::kIo, {file}));
}

struct BadNpy {
  const char* name;
  const char* header;  // nullptr: use `raw` as the whole file
  std::string data;
  const char* message;
};

class NpyRefuses : public Npy, public ::testing::WithParamInterface<BadNpy> {};

TEST_P(NpyRefuses, NamingTheFile) {
  const BadNpy& bad = GetParam();
  std::string file;
  if (bad.header) {
    file = file_with_header(bad.header, bad.data);
  } else {
    file = path("raw.npy");
    write_file(file, bad.data);
  }
  EXPECT_TRUE(throws_error([&] { read_npy(file); }, ErrorCode::kBadInput, {file, bad.message}));
}

INSTANTIATE_TEST_SUITE_P(
    BadFiles, NpyRefuses,
    ::testing::Values(
        BadNpy{"wrong_magic", nullptr, "\x93NUMPZ\x01\x00\x10\x00{}", "no \\x93NUMPY magic"},
        BadNpy{"empty", nullptr, "", "no \\x93NUMPY magic"},
        BadNpy{"cut_header", nullptr, std::string("\x93NUMPY\x01\x00\x76\x00{'descr'", 17),
               "header is cut short"},
        BadNpy{"unknown_version", nullptr, std::string("\x93NUMPY\x07\x00\x00\x00", 10),
               "version 7"},
        BadNpy{"truncated_data", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
               std::string(20, '\0'), "does not match the 20 data bytes"},
        BadNpy{"empty_with_huge_dimensions",
               "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 2230, 98692, 23923692, "
               "23923), }",
               "", "[0, 2230, 98692, 23923692, 23923] is too large"},
        BadNpy{"extra_data", "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }",
               std::string(8, '\0'), "does not match the 8 data bytes"},
        BadNpy{
            "huge_shape",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776, 1099511627776), }",
            std::string(8, '\0'), "does not match"},
        BadNpy{"fortran", "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }",
               std::string(16, '\0'), "Fortran order"},
        BadNpy{"big_endian", "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }",
               std::string(8, '\0'), "big-endian"},
        BadNpy{"object", "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }",
               std::string(16, '\0'), "Python objects"},
        BadNpy{"complex", "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }",
               std::string(16, '\0'), "not supported"},
        BadNpy{"structured", "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }",
               std::string(8, '\0'), "expected a quoted string"},
        BadNpy{"extra_key", "{'descr': '<f4', 'fortran_order': False, 'shape': (), 'x': 1, }",
               std::string(4, '\0'), "unexpected key 'x'"},
        BadNpy{"missing_key", "{'descr': '<f4', 'shape': (), }", std::string(4, '\0'), "missing"},
        BadNpy{"negative_dim", "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }",
               std::string(4, '\0'), "non-negative"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(Npy, MissingFileIsAnIoError) {
  EXPECT_TRUE(throws_error([&] { read_npy(path("nope.npy")); }, ErrorCode::kIo, {"nope.npy"}));
}

}  // namespace
}  // namespace starface::import
