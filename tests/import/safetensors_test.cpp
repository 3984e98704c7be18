// safetensors read and write: round trips of every dtype, the exact layout other readers
// expect, and every kind of hostile header refused with an error that names the field.
#include "import/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "import/expect_error.h"
#include "import/torch_builder.h"
#include "support/fixtures.h"

namespace starface::import {
namespace {

using nlohmann::json;
using starface::testing::read_file;
using starface::testing::throws_error;
using starface::testing::write_file;

// A file from a header given as text and a data area.
std::string file_bytes(const std::string& header, const std::string& data = "") {
  std::string out;
  for (int i = 0; i < 8; ++i) out += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return out + header + data;
}

std::span<const std::byte> as_bytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

SafetensorsFile parse(const std::string& bytes) { return parse_safetensors(as_bytes(bytes), "t"); }

// The header of a one-tensor file with `entry` as the tensor's JSON, and `data`.
std::string one_tensor(const std::string& entry, const std::string& data) {
  return file_bytes("{\"w\":" + entry + "}", data);
}

::testing::AssertionResult same_tensor(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) {
    return ::testing::AssertionFailure() << dtype_name(a.dtype()) << shape_str(a.shape()) << " vs "
                                         << dtype_name(b.dtype()) << shape_str(b.shape());
  }
  const Tensor ca = a.contiguous(), cb = b.contiguous();
  if (a.nbytes() && std::memcmp(ca.bytes(), cb.bytes(), a.nbytes()) != 0) {
    return ::testing::AssertionFailure() << "bytes differ";
  }
  return ::testing::AssertionSuccess();
}

Tensor raw_tensor(DType dtype, Shape shape, uint8_t seed) {
  Tensor t(dtype, std::move(shape));
  for (size_t i = 0; i < t.nbytes(); ++i) {
    t.bytes()[i] = static_cast<std::byte>((i * 37 + seed) & 0xff);
  }
  if (dtype == DType::kBool) {
    for (size_t i = 0; i < t.nbytes(); ++i) t.bytes()[i] = std::byte{static_cast<uint8_t>(i % 2)};
  }
  return t;
}

TensorMap every_dtype() {
  return {{"f32", raw_tensor(DType::kFloat32, {2, 3}, 1)},
          {"f16", raw_tensor(DType::kFloat16, {3}, 2)},
          {"bf16", raw_tensor(DType::kBFloat16, {1, 5}, 3)},
          {"f64", raw_tensor(DType::kFloat64, {2}, 4)},
          {"i64", raw_tensor(DType::kInt64, {2, 2}, 5)},
          {"i32", raw_tensor(DType::kInt32, {3}, 6)},
          {"u8", raw_tensor(DType::kUInt8, {7}, 7)},
          {"i8", raw_tensor(DType::kInt8, {5}, 8)},
          {"bool", raw_tensor(DType::kBool, {3}, 9)},
          {"scalar", raw_tensor(DType::kFloat32, {}, 10)},
          {"empty", Tensor(DType::kFloat32, {0, 4})},
          {"empty_u8", Tensor(DType::kUInt8, {0})}};
}

TEST(Safetensors, RoundTripsEveryDtypeEmptyTensorsAndMetadata) {
  const auto dir = starface::testing::temp_dir("safetensors");
  const std::string path = (dir / "all.safetensors").string();
  const TensorMap tensors = every_dtype();
  const Metadata metadata = {{"format", "pt"}, {"note", "caf\xc3\xa9 \"quoted\"\n"}, {"", "x"}};
  write_safetensors(path, tensors, metadata);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  const SafetensorsFile back = read_safetensors(path);
  EXPECT_EQ(back.metadata, metadata);
  ASSERT_EQ(back.tensors.size(), tensors.size());
  for (const auto& [name, t] : tensors) {
    ASSERT_TRUE(back.tensors.count(name)) << name;
    EXPECT_TRUE(same_tensor(back.tensors.at(name), t)) << name;
  }
  EXPECT_TRUE(is_safetensors_file(path));
}

TEST(Safetensors, WritesStridedViewsAsTheirValues) {
  auto storage = std::make_shared<Storage>(6 * sizeof(float));
  auto* p = reinterpret_cast<float*>(storage->data());
  for (int i = 0; i < 6; ++i) p[i] = static_cast<float>(i);
  const Tensor transposed = Tensor::view(storage, DType::kFloat32, {3, 2}, {1, 3}, 0);
  const SafetensorsFile back = parse(safetensors_bytes({{"t", transposed}}));
  EXPECT_TRUE(same_tensor(back.tensors.at("t"), transposed.contiguous()));
}

TEST(Safetensors, LayoutIsWhatOtherReadersExpect) {
  const std::string bytes = safetensors_bytes(every_dtype(), {{"k", "v"}});
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[i])) << (8 * i);
  // The header is padded with spaces to a multiple of 8, and is plain JSON.
  EXPECT_EQ(n % 8, 0u);
  const std::string header = bytes.substr(8, n);
  const size_t json_end = header.find_last_not_of(' ');
  EXPECT_EQ(header[json_end], '}');
  EXPECT_LT(header.size() - json_end - 1, 8u);
  const json j = json::parse(header);
  EXPECT_EQ(j["__metadata__"]["k"], "v");
  EXPECT_EQ(j["f16"]["dtype"], "F16");
  EXPECT_EQ(j["bool"]["dtype"], "BOOL");
  EXPECT_EQ(j["i8"]["dtype"], "I8");
  EXPECT_EQ(j["f32"]["shape"], json::array({2, 3}));
  // The offsets tile the data area exactly, and every tensor is aligned to its element size.
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const auto& [name, e] : j.items()) {
    if (name == "__metadata__") continue;
    const uint64_t b = e["data_offsets"][0], end = e["data_offsets"][1];
    const DType dtype = every_dtype().at(name).dtype();
    EXPECT_EQ(end - b, every_dtype().at(name).nbytes()) << name;
    EXPECT_EQ((8 + n + b) % dtype_size(dtype), 0u) << name;
    ranges.emplace_back(b, end);
  }
  std::sort(ranges.begin(), ranges.end());
  uint64_t covered = 0;
  for (const auto& [b, e] : ranges) {
    EXPECT_EQ(b, covered);
    covered = e;
  }
  EXPECT_EQ(8 + n + covered, bytes.size());
  // The f32 tensor's bytes sit where its offsets say.
  const uint64_t f32_begin = j["f32"]["data_offsets"][0];
  EXPECT_EQ(std::memcmp(bytes.data() + 8 + n + f32_begin, every_dtype().at("f32").bytes(), 24), 0);
}

TEST(Safetensors, ReadsAHandWrittenFileWithUnpaddedHeaderInAnyKeyOrder) {
  std::string data;
  const float values[2] = {1.5f, -2.0f};
  data.append(reinterpret_cast<const char*>(values), 8);
  data += '\x07';
  const SafetensorsFile f =
      parse(file_bytes(R"({"b":{"data_offsets":[8,9],"shape":[1],"dtype":"U8"},)"
                       R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                       data));
  EXPECT_EQ(f.tensors.at("a").data<float>()[1], -2.0f);
  EXPECT_EQ(f.tensors.at("b").data<uint8_t>()[0], 7);
  EXPECT_TRUE(f.metadata.empty());
}

TEST(Safetensors, RefusesShortOrOversizedHeaders) {
  EXPECT_TRUE(throws_error([] { parse(""); }, ErrorCode::kTruncatedArchive, {"t", "8-byte"}));
  EXPECT_TRUE(throws_error([] { parse("abc"); }, ErrorCode::kTruncatedArchive));
  // A header length past the end of the file.
  std::string cut = file_bytes("{\"w\":{}}").substr(0, 12);
  EXPECT_TRUE(throws_error([&] { parse(cut); }, ErrorCode::kTruncatedArchive, {"says 8 bytes"}));
  // A header length above the cap is refused before any allocation.
  std::string huge(8, '\xff');
  huge += "{}";
  EXPECT_TRUE(throws_error([&] { parse(huge); }, ErrorCode::kNotACheckpoint, {"exceeds"}));
}

TEST(Safetensors, RefusesHeadersThatAreNotTheRightJson) {
  EXPECT_TRUE(throws_error([] { parse(file_bytes("{\"w\":")); }, ErrorCode::kNotACheckpoint,
                           {"not valid JSON"}));
  EXPECT_TRUE(throws_error([] { parse(file_bytes("[1,2]")); }, ErrorCode::kNotACheckpoint,
                           {"not a JSON object"}));
  EXPECT_TRUE(throws_error([] { parse(one_tensor("[]", "")); }, ErrorCode::kNotACheckpoint,
                           {"'w'", "not an object"}));
  EXPECT_TRUE(throws_error([] { parse(one_tensor(R"({"dtype":"F32","shape":[1]})", "")); },
                           ErrorCode::kNotACheckpoint, {"'w'", "data_offsets"}));
  EXPECT_TRUE(throws_error(
      [] { parse(one_tensor(R"({"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1})", "")); },
      ErrorCode::kNotACheckpoint, {"'w'", "fields other"}));
  EXPECT_TRUE(throws_error(
      [] { parse(one_tensor(R"({"dtype":"F32","shape":[-1],"data_offsets":[0,4]})", "")); },
      ErrorCode::kNotACheckpoint, {"'w'", "shape dimension"}));
  EXPECT_TRUE(throws_error(
      [] { parse(one_tensor(R"({"dtype":"F32","shape":[1.5],"data_offsets":[0,4]})", "")); },
      ErrorCode::kNotACheckpoint, {"'w'"}));
  EXPECT_TRUE(throws_error(
      [] { parse(one_tensor(R"({"dtype":"F32","shape":[1],"data_offsets":[0]})", "")); },
      ErrorCode::kNotACheckpoint, {"'w'", "[begin, end]"}));
  EXPECT_TRUE(throws_error(
      [] { parse(one_tensor(R"({"dtype":7,"shape":[1],"data_offsets":[0,4]})", "    ")); },
      ErrorCode::kNotACheckpoint, {"'w'", "dtype"}));
  // Nesting deeper than a shape, and arrays longer than any shape, stop the parse at once.
  EXPECT_TRUE(throws_error([] { parse(file_bytes("{\"w\":{\"shape\":[[[1]]]}}")); },
                           ErrorCode::kNotACheckpoint, {"nested"}));
  std::string long_shape = "[1";
  for (int i = 0; i < 100; ++i) long_shape += ",1";
  EXPECT_TRUE(throws_error(
      [&] {
        parse(
            one_tensor(R"({"dtype":"U8","data_offsets":[0,1],"shape":)" + long_shape + "]}", "x"));
      },
      ErrorCode::kNotACheckpoint, {"longer than"}));
}

TEST(Safetensors, RefusesUnknownDtypes) {
  EXPECT_TRUE(throws_error(
      [] { parse(one_tensor(R"({"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]})", "x")); },
      ErrorCode::kBadDtype, {"'w'", "F8_E4M3"}));
}

TEST(Safetensors, RefusesShapesWhoseSizeOverflows) {
  EXPECT_TRUE(throws_error(
      [] {
        parse(one_tensor(R"({"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]})",
                         "xxxxxxxx"));
      },
      ErrorCode::kNotACheckpoint, {"'w'", "overflows"}));
  EXPECT_TRUE(throws_error(
      [] {
        parse(one_tensor(R"({"dtype":"U8","shape":[18446744073709551615],"data_offsets":[0,1]})",
                         "x"));
      },
      ErrorCode::kNotACheckpoint, {"'w'", "overflows"}));
  // A zero dimension does not excuse the others: the strides of an empty tensor are still
  // their products.
  EXPECT_TRUE(throws_error(
      [] {
        parse(one_tensor(R"({"dtype":"F32","shape":[0,9223372036854775807],"data_offsets":[0,0]})",
                         ""));
      },
      ErrorCode::kNotACheckpoint, {"'w'", "overflows"}));
  const SafetensorsFile f =
      parse(one_tensor(R"({"dtype":"F32","shape":[0,5],"data_offsets":[0,0]})", ""));
  EXPECT_EQ(f.tensors.at("w").numel(), 0);
}

TEST(Safetensors, RefusesByteSizesThatDisagreeWithTheShape) {
  EXPECT_TRUE(throws_error(
      [] { parse(one_tensor(R"({"dtype":"F32","shape":[2],"data_offsets":[0,4]})", "xxxx")); },
      ErrorCode::kTruncatedArchive, {"'w'", "4 bytes", "needs 8"}));
}

TEST(Safetensors, RefusesOffsetsOutsideTheDataArea) {
  EXPECT_TRUE(throws_error(
      [] { parse(one_tensor(R"({"dtype":"F32","shape":[2],"data_offsets":[0,8]})", "xxxx")); },
      ErrorCode::kTruncatedArchive, {"truncated", "'w'", "4-byte data area"}));
  EXPECT_TRUE(throws_error(
      [] {
        parse(one_tensor(R"({"dtype":"U8","shape":[1],"data_offsets":[18446744073709551615,0]})",
                         "x"));
      },
      ErrorCode::kTruncatedArchive, {"'w'", "end before they begin"}));
}

TEST(Safetensors, RefusesOverlapsHolesAndUncoveredBytes) {
  const std::string two_overlapping = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                      R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})";
  EXPECT_TRUE(throws_error([&] { parse(file_bytes(two_overlapping, "12345678")); },
                           ErrorCode::kTruncatedArchive, {"'a'", "'b'", "overlap"}));
  const std::string with_hole = R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                                R"("b":{"dtype":"U8","shape":[1],"data_offsets":[2,3]}})";
  EXPECT_TRUE(throws_error([&] { parse(file_bytes(with_hole, "abc")); },
                           ErrorCode::kTruncatedArchive, {"belong to no tensor"}));
  EXPECT_TRUE(throws_error(
      [] { parse(one_tensor(R"({"dtype":"U8","shape":[1],"data_offsets":[0,1]})", "ab")); },
      ErrorCode::kTruncatedArchive, {"1 bytes at the end"}));
}

TEST(Safetensors, RefusesDuplicateNamesAndNonStringMetadata) {
  const std::string twice = R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                            R"("a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})";
  EXPECT_TRUE(throws_error([&] { parse(file_bytes(twice, "ab")); }, ErrorCode::kNotACheckpoint,
                           {"duplicate name 'a'"}));
  EXPECT_TRUE(throws_error([] { parse(file_bytes(R"({"__metadata__":{"k":"v","k":"w"}})")); },
                           ErrorCode::kNotACheckpoint, {"duplicate name 'k'"}));
  EXPECT_TRUE(throws_error([] { parse(file_bytes(R"({"__metadata__":{"epoch":3}})")); },
                           ErrorCode::kNotACheckpoint, {"__metadata__ 'epoch'", "not a string"}));
  EXPECT_TRUE(throws_error([] { parse(file_bytes(R"({"__metadata__":["x"]})")); },
                           ErrorCode::kNotACheckpoint, {"__metadata__ is not an object"}));
}

TEST(Safetensors, EveryTruncationOfAValidFileIsAnError) {
  const std::string bytes = safetensors_bytes(every_dtype(), {{"k", "v"}});
  for (size_t n = 0; n < bytes.size(); ++n) {
    try {
      parse(bytes.substr(0, n));
      ADD_FAILURE() << "a file cut to " << n << " bytes parsed";
    } catch (const Error& e) {
      EXPECT_TRUE(e.code() == ErrorCode::kTruncatedArchive ||
                  e.code() == ErrorCode::kNotACheckpoint)
          << n << ": " << e.what();
    }
  }
}

TEST(Safetensors, RecognisesFilesByContent) {
  const auto dir = starface::testing::temp_dir("safetensors_detect");
  write_file(dir / "model.bin", safetensors_bytes({{"x", Tensor(DType::kFloat32, {1})}}));
  EXPECT_TRUE(is_safetensors_file((dir / "model.bin").string()));
  EXPECT_FALSE(is_safetensors_file(starface::testing::star_fixture("models/star_wflw_tiny.pth")));
  EXPECT_FALSE(
      is_safetensors_file(starface::testing::star_fixture("models/star_wflw_tiny_legacy.pth")));
  EXPECT_FALSE(is_safetensors_file((dir / "missing").string()));
  // By name as well, so an empty or cut .safetensors gets a safetensors error.
  write_file(dir / "empty.safetensors", "");
  EXPECT_TRUE(is_safetensors_file((dir / "empty.safetensors").string()));
}

TEST(Safetensors, WriteToAnUnwritablePathLeavesNothing) {
  const auto dir = starface::testing::temp_dir("safetensors_unwritable");
  const std::string path = (dir / "no" / "such" / "dir.safetensors").string();
  EXPECT_TRUE(throws_error([&] { write_safetensors(path, every_dtype()); }, ErrorCode::kIo,
                           {"dir.safetensors"}));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  EXPECT_TRUE(throws_error(
      [] {
        safetensors_bytes({{"__metadata__", Tensor(DType::kUInt8, {1})}});
      },
      ErrorCode::kBadArgument));
}

}  // namespace
}  // namespace starface::import
