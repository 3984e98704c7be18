// torch.save containers made by the test: what loads, and every way a file can be wrong.
#include "import/torch_file.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "import/checkpoint.h"
#include "import/expect_error.h"
#include "import/torch_builder.h"
#include "support/fixtures.h"

namespace starface::import {
namespace {

using starface::testing::dict_pickle;
using starface::testing::float_bytes;
using starface::testing::legacy_file_bytes;
using starface::testing::LegacyStorage;
using starface::testing::PickleBuilder;
using starface::testing::temp_dir;
using starface::testing::throws_error;
using starface::testing::write_file;
using starface::testing::write_torch_zip;
using starface::testing::ZipRecordOptions;

PickleBuilder tensor(std::string_view key, int64_t numel, int64_t offset, std::vector<int64_t> size,
                     std::vector<int64_t> stride, bool legacy = false,
                     std::string_view type = "FloatStorage", std::string_view location = "cpu") {
  PickleBuilder p;
  p.tensor(key, type, numel, offset, size, stride, legacy, location);
  return p;
}

const std::vector<float> kSix = {0, 1, 2, 3, 4, 5};

class TorchFile : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = temp_dir("torch_file"); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // A zip with the given pickle and one storage '0' holding kSix.
  std::string zip(const std::string& pickle, ZipRecordOptions options = {}) {
    const std::string file = path("model.pth");
    write_torch_zip(file, pickle, {{"0", float_bytes(kSix)}}, options);
    return file;
  }

  std::string legacy(const std::string& pickle, const std::vector<LegacyStorage>& storages) {
    const std::string file = path("legacy.pth");
    write_file(file, legacy_file_bytes(pickle, storages));
    return file;
  }

  std::filesystem::path dir_;
};

std::vector<float> values(const Tensor& tensor) {
  const Tensor dense = tensor.to_float32();
  return {dense.data<float>(), dense.data<float>() + dense.numel()};
}

TEST_F(TorchFile, ZipTensor) {
  const TensorMap tensors =
      load_state_dict(zip(dict_pickle({{"w", tensor("0", 6, 0, {2, 3}, {3, 1})}})));
  ASSERT_EQ(tensors.size(), 1u);
  EXPECT_EQ(tensors.at("w").shape(), (Shape{2, 3}));
  EXPECT_EQ(values(tensors.at("w")), kSix);
}

TEST_F(TorchFile, ViewsOfOneKeyShareOneStorage) {
  const TensorMap tensors = load_state_dict(zip(dict_pickle({
      {"all", tensor("0", 6, 0, {6}, {1})},
      {"transposed", tensor("0", 6, 0, {3, 2}, {1, 3})},
      {"tail", tensor("0", 6, 4, {2}, {1})},
  })));
  EXPECT_EQ(tensors.at("all").storage(), tensors.at("transposed").storage());
  EXPECT_EQ(tensors.at("all").storage(), tensors.at("tail").storage());
  EXPECT_FALSE(tensors.at("transposed").is_contiguous());
  EXPECT_EQ(values(tensors.at("transposed")), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  EXPECT_EQ(values(tensors.at("tail")), (std::vector<float>{4, 5}));
}

TEST_F(TorchFile, CudaTaggedStoragesLoadToCpu) {
  const TensorMap tensors = load_state_dict(
      zip(dict_pickle({{"w", tensor("0", 6, 0, {6}, {1}, false, "FloatStorage", "cuda:0")}})));
  EXPECT_EQ(values(tensors.at("w")), kSix);
}

TEST_F(TorchFile, DeflatedRecordsLoad) {
  ZipRecordOptions options;
  options.deflate = true;
  const TensorMap tensors =
      load_state_dict(zip(dict_pickle({{"w", tensor("0", 6, 0, {6}, {1})}}), options));
  EXPECT_EQ(values(tensors.at("w")), kSix);
}

TEST_F(TorchFile, AnyTopFolderName) {
  ZipRecordOptions options;
  options.folder = "some name";
  EXPECT_EQ(load_state_dict(zip(dict_pickle({{"w", tensor("0", 6, 0, {6}, {1})}}), options)).size(),
            1u);
}

TEST_F(TorchFile, LegacyTensor) {
  const TensorMap tensors = load_state_dict(
      legacy(dict_pickle({{"w", tensor("140", 6, 0, {2, 3}, {3, 1}, true)},
                          {"v", tensor("141", 2, 0, {2}, {1}, true, "LongStorage")}}),
             {{"140", 6, float_bytes(kSix)},
              {"141", 2, std::string("\7\0\0\0\0\0\0\0\x09\0\0\0\0\0\0\0", 16)}}));
  EXPECT_EQ(values(tensors.at("w")), kSix);
  ASSERT_EQ(tensors.at("v").dtype(), DType::kInt64);
  EXPECT_EQ(tensors.at("v").data<int64_t>()[1], 9);
}

TEST_F(TorchFile, FormatDetection) {
  const std::string zip_file = zip(dict_pickle({}));
  const std::string legacy_file = legacy(dict_pickle({}), {});
  auto head = [](const std::string& file) {
    const std::string bytes = starface::testing::read_file(file);
    return detect_torch_format(std::as_bytes(std::span(bytes.data(), bytes.size())));
  };
  EXPECT_EQ(head(zip_file), TorchFormat::kZip);
  EXPECT_EQ(head(legacy_file), TorchFormat::kLegacy);
  EXPECT_TRUE(load_state_dict(zip_file).empty());
  EXPECT_TRUE(load_state_dict(legacy_file).empty());
}

// ---- storages that lie about their size ----

TEST_F(TorchFile, ZipStorageClaimingTwoToThe40ElementsIsRefusedBeforeAllocating) {
  const std::string file = zip(dict_pickle({{"w", tensor("0", int64_t{1} << 40, 0, {1}, {1})}}));
  EXPECT_TRUE(throws_error([&] { load_torch_file(file); }, ErrorCode::kTruncatedArchive,
                           {file, "'archive/data/0' holds 24 bytes", "1099511627776"}));
}

TEST_F(TorchFile, LegacyStorageClaimingTwoToThe40ElementsIsRefusedBeforeAllocating) {
  const std::string file =
      legacy(dict_pickle({{"w", tensor("1", int64_t{1} << 40, 0, {1}, {1}, true)}}),
             {{"1", 6, float_bytes(kSix)}});
  EXPECT_TRUE(throws_error([&] { load_torch_file(file); }, ErrorCode::kTruncatedLegacy,
                           {file, "storage '1' claims 4398046511104 bytes"}));
}

TEST_F(TorchFile, StorageSizeOverflowIsMalformed) {
  const std::string file = zip(dict_pickle({{"w", tensor("0", int64_t{1} << 62, 0, {1}, {1})}}));
  EXPECT_TRUE(
      throws_error([&] { load_torch_file(file); }, ErrorCode::kMalformedPickle, {"impossible"}));
}

TEST_F(TorchFile, ViewReachingPastItsStorage) {
  const std::string file = zip(dict_pickle({{"w", tensor("0", 6, 0, {7}, {1})}}));
  EXPECT_TRUE(throws_error([&] { load_torch_file(file); }, ErrorCode::kMalformedPickle,
                           {file, "does not fit its storage", "REDUCE at byte"}));
  const std::string offset = zip(dict_pickle({{"w", tensor("0", 6, 5, {2}, {1})}}));
  EXPECT_TRUE(throws_error([&] { load_torch_file(offset); }, ErrorCode::kMalformedPickle,
                           {"does not fit its storage"}));
  const std::string strided = zip(dict_pickle({{"w", tensor("0", 6, 0, {2, 2}, {5, 1})}}));
  EXPECT_TRUE(throws_error([&] { load_torch_file(strided); }, ErrorCode::kMalformedPickle,
                           {"does not fit its storage"}));
}

TEST_F(TorchFile, NegativeSizesAndStridesAreRefused) {
  for (auto [size, stride] : {std::pair<int64_t, int64_t>{-1, 1}, {2, -1}}) {
    const std::string file = zip(dict_pickle({{"w", tensor("0", 6, 0, {size}, {stride})}}));
    EXPECT_TRUE(throws_error([&] { load_torch_file(file); }, ErrorCode::kMalformedPickle));
  }
}

TEST_F(TorchFile, TooManyDimensionsAreRefused) {
  const std::string file = zip(dict_pickle(
      {{"w", tensor("0", 6, 0, std::vector<int64_t>(65, 1), std::vector<int64_t>(65, 1))}}));
  EXPECT_TRUE(
      throws_error([&] { load_torch_file(file); }, ErrorCode::kMalformedPickle, {"65 items"}));
}

TEST_F(TorchFile, RecordSizeMustMatchTheStorage) {
  const std::string file = zip(dict_pickle({{"w", tensor("0", 5, 0, {5}, {1})}}));
  EXPECT_TRUE(throws_error([&] { load_torch_file(file); }, ErrorCode::kTruncatedArchive,
                           {"holds 24 bytes", "5 float32 elements (20 bytes)"}));
}

TEST_F(TorchFile, MissingRecord) {
  const std::string file = zip(dict_pickle({{"w", tensor("7", 6, 0, {6}, {1})}}));
  EXPECT_TRUE(throws_error([&] { load_torch_file(file); }, ErrorCode::kTruncatedArchive,
                           {"'archive/data/7' is missing"}));
}

TEST_F(TorchFile, OneKeyWithTwoDtypesIsMalformed) {
  const std::string file =
      zip(dict_pickle({{"a", tensor("0", 6, 0, {6}, {1})},
                       {"b", tensor("0", 6, 0, {6}, {1}, false, "IntStorage")}}));
  EXPECT_TRUE(throws_error([&] { load_torch_file(file); }, ErrorCode::kMalformedPickle,
                           {"storage '0' is used as 6 float32 elements and as 6 int32"}));
}

TEST_F(TorchFile, CorruptedRecordFailsItsCrc) {
  const std::string file = zip(dict_pickle({{"w", tensor("0", 6, 0, {6}, {1})}}));
  std::string bytes = starface::testing::read_file(file);
  const std::string data = float_bytes(kSix);
  const size_t at = bytes.find(data);
  ASSERT_NE(at, std::string::npos);
  bytes[at + 5] ^= 0x40;
  write_file(file, bytes);
  EXPECT_TRUE(throws_error([&] { load_torch_file(file); }, ErrorCode::kTruncatedArchive,
                           {"'archive/data/0' is damaged"}));
}

TEST_F(TorchFile, BigEndianByteOrderRecordIsRefused) {
  ZipRecordOptions options;
  options.extra_records = {{"byteorder", "big"}};
  const std::string file = zip(dict_pickle({}), options);
  EXPECT_TRUE(throws_error([&] { load_torch_file(file); }, ErrorCode::kBadInput, {"'big'"}));
  options.extra_records = {{"byteorder", "little"}};
  EXPECT_NO_THROW(load_torch_file(zip(dict_pickle({}), options)));
}

TEST_F(TorchFile, ZipWithoutTorchLayoutIsNotACheckpoint) {
  ZipRecordOptions options;
  options.folder = "a/b";
  const std::string file = zip(dict_pickle({}), options);
  EXPECT_TRUE(throws_error([&] { load_torch_file(file); }, ErrorCode::kNotACheckpoint,
                           {"0 <folder>/data.pkl records"}));
}

TEST_F(TorchFile, EveryCutOfAZipIsATruncatedArchive) {
  const std::string file = zip(dict_pickle({{"w", tensor("0", 6, 0, {6}, {1})}}));
  const std::string bytes = starface::testing::read_file(file);
  const std::string cut = path("cut.pth");
  for (size_t size = 4; size < bytes.size(); size += 3) {
    write_file(cut, bytes.substr(0, size));
    EXPECT_TRUE(throws_error([&] { load_torch_file(cut); }, ErrorCode::kTruncatedArchive))
        << "cut at " << size;
  }
}

TEST_F(TorchFile, EveryCutOfALegacyFileIsATruncatedLegacy) {
  const std::string file = legacy(dict_pickle({{"w", tensor("9", 6, 0, {6}, {1}, true)}}),
                                  {{"9", 6, float_bytes(kSix)}});
  const std::string bytes = starface::testing::read_file(file);
  const std::string cut = path("cut.pth");
  constexpr size_t kMagicPickle = 15;
  for (size_t size = kMagicPickle; size < bytes.size(); ++size) {
    write_file(cut, bytes.substr(0, size));
    EXPECT_TRUE(throws_error([&] { load_torch_file(cut); }, ErrorCode::kTruncatedLegacy))
        << "cut at " << size;
  }
  for (size_t size = 1; size < kMagicPickle; ++size) {
    write_file(cut, bytes.substr(0, size));
    EXPECT_TRUE(throws_error([&] { load_torch_file(cut); }, ErrorCode::kNotACheckpoint));
  }
}

// ---- legacy storage section ----

TEST_F(TorchFile, LegacyStorageViewsAreRefused) {
  PickleBuilder p;
  p.global("torch._utils", "_rebuild_tensor_v2").mark();
  p.mark().str("storage").global("torch", "FloatStorage").str("1").str("cpu").integer(6);
  p.str("view").integer(0).integer(2).tuple(3).op('t').op('Q');
  p.integer(0).int_tuple({2}).int_tuple({1}).boolean(false).ordered_dict().op('t').reduce();
  const std::string file = legacy(dict_pickle({{"w", p}}), {{"1", 6, float_bytes(kSix)}});
  EXPECT_TRUE(
      throws_error([&] { load_torch_file(file); }, ErrorCode::kMalformedPickle, {"storage views"}));
}

TEST_F(TorchFile, LegacyKeyListMustMatchTheTensors) {
  const std::string pickle = dict_pickle({{"w", tensor("1", 6, 0, {6}, {1}, true)}});
  const std::string unused =
      legacy(pickle, {{"1", 6, float_bytes(kSix)}, {"2", 6, float_bytes(kSix)}});
  EXPECT_TRUE(throws_error([&] { load_torch_file(unused); }, ErrorCode::kMalformedPickle,
                           {"'2' is listed but no tensor uses it"}));
  const std::string twice =
      legacy(pickle, {{"1", 6, float_bytes(kSix)}, {"1", 6, float_bytes(kSix)}});
  EXPECT_TRUE(
      throws_error([&] { load_torch_file(twice); }, ErrorCode::kMalformedPickle, {"listed twice"}));
  const std::string missing = legacy(pickle, {});
  EXPECT_TRUE(throws_error([&] { load_torch_file(missing); }, ErrorCode::kMalformedPickle,
                           {"storage '1' is used by a tensor but has no data"}));
}

TEST_F(TorchFile, LegacyElementCountMustMatch) {
  const std::string file = legacy(dict_pickle({{"w", tensor("1", 6, 0, {6}, {1}, true)}}),
                                  {{"1", 5, float_bytes(kSix)}});
  EXPECT_TRUE(throws_error([&] { load_torch_file(file); }, ErrorCode::kMalformedPickle,
                           {"5 elements in the file but 6 in the pickle"}));
}

// ---- hooks and metadata ----

TEST_F(TorchFile, BackwardHooksAreRefused) {
  PickleBuilder p;
  p.global("torch._utils", "_rebuild_tensor_v2").mark();
  p.mark().str("storage").global("torch", "FloatStorage").str("0").str("cpu").integer(6);
  p.op('t').op('Q').integer(0).int_tuple({6}).int_tuple({1}).boolean(false);
  p.ordered_dict().put(50).integer(1).str("hook").setitem().op('t').reduce();
  const std::string file = zip(dict_pickle({{"w", p}}));
  EXPECT_TRUE(throws_error([&] { load_torch_file(file); }, ErrorCode::kMalformedPickle,
                           {"backward hooks"}));
}

// ---- not checkpoints ----

TEST_F(TorchFile, MissingFileIsAnIoErrorNamingThePath) {
  const std::string file = path("does_not_exist.pth");
  EXPECT_TRUE(throws_error([&] { load_torch_file(file); }, ErrorCode::kIo, {file, "No such file"}));
  EXPECT_TRUE(throws_error([&] { load_torch_file(dir_.string()); }, ErrorCode::kIo,
                           {"not a regular file"}));
}

TEST_F(TorchFile, OtherFilesAreNotCheckpoints) {
  const std::string file = path("other.pth");
  for (const std::string& bytes :
       {std::string(), std::string("hello world\n"), std::string("\x80\x02K\x01.", 5),
        std::string("PK\x05\x06", 4) + std::string(18, '\0'),
        std::string("\x80\x02\x8a\x0a"
                    "0123456789.",
                    15)}) {
    write_file(file, bytes);
    EXPECT_TRUE(throws_error([&] { load_torch_file(file); }, ErrorCode::kNotACheckpoint,
                             {file, "not a PyTorch checkpoint"}))
        << bytes.size() << " bytes";
  }
}

}  // namespace
}  // namespace starface::import
