// The manifest's tensor_import_cases and bad_files, driven by the manifest itself.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "import/checkpoint.h"
#include "import/expect_error.h"
#include "import/npy.h"
#include "import/torch_file.h"
#include "support/fixtures.h"

namespace starface::import {
namespace {

using starface::testing::star_fixture;
using starface::testing::star_manifest;
using starface::testing::throws_error;

DType dtype_from_name(const std::string& name) {
  for (DType dtype : {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kFloat64,
                      DType::kInt64, DType::kInt32, DType::kUInt8, DType::kBool}) {
    if (name == dtype_name(dtype)) return dtype;
  }
  ADD_FAILURE() << "unknown dtype " << name;
  return DType::kFloat32;
}

// Values equal to the expected .npy; bfloat16 is compared after widening to float32, as
// the fixture stores it.
void expect_values(const Tensor& tensor, const Tensor& expected, const std::string& name) {
  const Tensor actual =
      tensor.dtype() == DType::kBFloat16 ? tensor.to_float32() : tensor.contiguous();
  ASSERT_EQ(actual.dtype(), expected.dtype()) << name;
  ASSERT_EQ(actual.shape(), expected.shape()) << name;
  EXPECT_EQ(std::memcmp(actual.bytes(), expected.bytes(), actual.nbytes()), 0) << name;
}

void check_tensor_import_case(const nlohmann::json& import_case, const std::string& container) {
  const std::string file = import_case["files"][container]["file"];
  SCOPED_TRACE(file);
  const TensorMap tensors = load_state_dict(star_fixture(file).string());
  const auto& expected_tensors = import_case["tensors"];
  ASSERT_EQ(tensors.size(), expected_tensors.size());
  for (const auto& [name, spec] : expected_tensors.items()) {
    SCOPED_TRACE(name);
    ASSERT_EQ(tensors.count(name), 1u);
    const Tensor& tensor = tensors.at(name);
    EXPECT_EQ(tensor.dtype(), dtype_from_name(spec["dtype"]));
    EXPECT_EQ(tensor.shape(), spec["shape"].get<Shape>());
    EXPECT_EQ(tensor.strides(), spec["strides"].get<std::vector<int64_t>>());
    EXPECT_EQ(tensor.offset(), spec["storage_offset"].get<int64_t>());
    EXPECT_EQ(tensor.is_contiguous(), spec["contiguous"].get<bool>());
    const int64_t storage_numel = spec["storage"]["numel"];
    EXPECT_EQ(tensor.storage()->nbytes(), storage_numel * dtype_size(tensor.dtype()));
    for (const auto& other : spec["shares_storage_with"]) {
      EXPECT_EQ(tensor.storage(), tensors.at(other.get<std::string>()).storage()) << other;
    }
    // A tensor shares with no one else.
    for (const auto& [other, other_tensor] : tensors) {
      if (other == name) continue;
      bool listed = false;
      for (const auto& shared : spec["shares_storage_with"]) listed |= shared == other;
      if (!listed) {
        EXPECT_NE(tensor.storage(), other_tensor.storage()) << other;
      }
    }
    expect_values(tensor, read_npy(star_fixture(spec["expected"]["file"]).string()), name);
  }
}

TEST(FixtureCases, TensorImportCasesZip) {
  for (const auto& import_case : star_manifest()["tensor_import_cases"]) {
    check_tensor_import_case(import_case, "zip");
  }
}

TEST(FixtureCases, TensorImportCasesLegacy) {
  for (const auto& import_case : star_manifest()["tensor_import_cases"]) {
    check_tensor_import_case(import_case, "legacy");
  }
}

ErrorCode code_from_name(const std::string& name) {
  for (int i = 0; i <= static_cast<int>(ErrorCode::kInternal); ++i) {
    const auto code = static_cast<ErrorCode>(i);
    if (name == error_code_name(code)) return code;
  }
  ADD_FAILURE() << "unknown error class " << name;
  return ErrorCode::kInternal;
}

TEST(FixtureCases, BadFilesFailWithTheirExpectedErrorClass) {
  size_t checked = 0;
  for (const auto& bad : star_manifest()["bad_files"]) {
    const std::string path = star_fixture(bad["file"]).string();
    const std::string expected = bad["expected_error"];
    SCOPED_TRACE(path + " -> " + expected);
    if (expected == "missing_key" || expected == "shape_mismatch") {
      // These fail in the network builder; as checkpoints they are well formed.
      EXPECT_GT(load_state_dict(path).size(), 800u);
      continue;
    }
    EXPECT_TRUE(throws_error([&] { load_state_dict(path); }, code_from_name(expected), {path}));
    ++checked;
  }
  EXPECT_EQ(checked, 6u);
}

TEST(FixtureCases, BadFilesForTheBuilderLoadWithTheirDefect) {
  const TensorMap missing = load_state_dict(star_fixture("models/bad/missing_key.pth").string());
  EXPECT_EQ(missing.count("hgs.2.low1.conv2.conv.weight"), 0u);
  EXPECT_EQ(missing.count("hgs.2.low1.conv2.conv.bias"), 1u);
  const TensorMap wrong = load_state_dict(star_fixture("models/bad/wrong_shape.pth").string());
  EXPECT_EQ(wrong.at("features.1.1.conv.weight").shape(), (Shape{16, 15, 1, 1}));
}

TEST(FixtureCases, MaliciousFilesAreRefusedNamingTheGlobal) {
  for (const char* name : {"malicious_zip.pth", "malicious_legacy.pth"}) {
    const std::string path = star_fixture(std::string("models/bad/") + name).string();
    EXPECT_TRUE(throws_error([&] { load_torch_file(path); }, ErrorCode::kUnsafePickle,
                             {path, "refused pickle global 'posix.system'", "GLOBAL at byte"}));
  }
}

TEST(FixtureCases, TruncatedFilesNameWhatIsMissing) {
  EXPECT_TRUE(
      throws_error([] { load_torch_file(star_fixture("models/bad/truncated_zip.pth").string()); },
                   ErrorCode::kTruncatedArchive, {"truncated_zip.pth", "zip container"}));
  EXPECT_TRUE(throws_error(
      [] { load_torch_file(star_fixture("models/bad/truncated_legacy.pth").string()); },
      ErrorCode::kTruncatedLegacy, {"truncated_legacy.pth", "truncated"}));
}

}  // namespace
}  // namespace starface::import
