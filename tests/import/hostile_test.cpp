// Hostile checkpoints, one per attack: each is refused before any object is built from it,
// with an error naming what was refused (the global, the record, the key), and leaves no
// file behind. docs/SECURITY.md counts them.
#include <gtest/gtest.h>

#include <filesystem>

#include "import/checkpoint.h"
#include "import/expect_error.h"
#include "import/raw_zip.h"
#include "import/torch_builder.h"
#include "support/fixtures.h"

namespace starface::import {
namespace {

using starface::testing::dict_pickle;
using starface::testing::float_bytes;
using starface::testing::nested_zip;
using starface::testing::PickleBuilder;
using starface::testing::raw_zip;
using starface::testing::RawZipEntry;
using starface::testing::throws_error;

const std::string kSixFloats = float_bytes({0, 1, 2, 3, 4, 5});

PickleBuilder tensor(std::string_view key, int64_t numel, int64_t offset, std::vector<int64_t> size,
                     std::vector<int64_t> stride, std::string_view type = "FloatStorage") {
  PickleBuilder p;
  p.tensor(key, type, numel, offset, size, stride);
  return p;
}

// {"w": tensor} as the pickle of a stored torch zip with storage '0' (six floats), plus
// `extra` records.
std::string torch_zip(const std::string& pickle, std::vector<RawZipEntry> extra = {}) {
  std::vector<RawZipEntry> entries = {{"archive/data.pkl", pickle}, {"archive/data/0", kSixFloats}};
  entries.insert(entries.end(), extra.begin(), extra.end());
  return raw_zip(entries);
}

std::string one_tensor_zip(PickleBuilder t, std::vector<RawZipEntry> extra = {}) {
  return torch_zip(dict_pickle({{"w", std::move(t)}}), std::move(extra));
}

// A state dict whose entry "evil" is what `payload` pushes.
std::string poisoned_zip(void (*payload)(PickleBuilder&)) {
  PickleBuilder p;
  p.proto().empty_dict().mark().str("w");
  p.tensor("0", "FloatStorage", 6, 0, {6}, {1});
  p.str("evil");
  payload(p);
  return torch_zip(p.op('u').stop().bytes());
}

struct Attack {
  const char* name;
  std::string (*make)();
  ErrorCode code;
  std::vector<std::string> names;  // fragments the error must hold
};

const Attack kAttacks[] = {
    // ---- __setstate__ / BUILD tricks: BUILD only ever takes a dict's state, ignored ----
    {"build_on_allowed_global",
     [] {
       return poisoned_zip(
           [](PickleBuilder& p) { p.global("collections", "OrderedDict").empty_dict().op('b'); });
     },
     ErrorCode::kMalformedPickle,
     {"BUILD sets the state of a global collections.OrderedDict"}},
    {"build_on_tensor_with_setstate",
     [] {
       return poisoned_zip([](PickleBuilder& p) {
         p.tensor("0", "FloatStorage", 6, 0, {6}, {1});
         p.empty_dict().str("__setstate__").str("os.system").op('s').op('b');
       });
     },
     ErrorCode::kMalformedPickle,
     {"BUILD sets the state of a Tensor"}},
    {"setstate_through_builtins_setattr",
     [] {
       return poisoned_zip([](PickleBuilder& p) {
         p.global("builtins", "setattr").empty_dict().str("__setstate__").str("x").tuple(3);
         p.reduce();
       });
     },
     ErrorCode::kUnsafePickle,
     {"'builtins.setattr'"}},
    {"reduce_on_a_storage_type",
     [] {
       return poisoned_zip(
           [](PickleBuilder& p) { p.global("torch", "FloatStorage").tuple(0).reduce(); });
     },
     ErrorCode::kUnsafePickle,
     {"torch.FloatStorage", "never called"}},
    // ---- persistent ids ----
    {"persistent_id_climbing_out_of_the_archive",
     [] { return one_tensor_zip(tensor("../../../etc/passwd", 6, 0, {6}, {1})); },
     ErrorCode::kTruncatedArchive,
     {"storage record 'archive/data/../../../etc/passwd' is missing"}},
    {"persistent_id_with_an_absolute_path",
     [] { return one_tensor_zip(tensor("/etc/passwd", 6, 0, {6}, {1})); },
     ErrorCode::kTruncatedArchive,
     {"'archive/data//etc/passwd' is missing"}},
    {"terminal_escape_sequence_in_a_key",
     [] { return one_tensor_zip(tensor("\x1b[2J\x1b]0;pwned\x07", 6, 0, {6}, {1})); },
     ErrorCode::kTruncatedArchive,
     {"'archive/data/?[2J?]0;pwned?' is missing"}},
    {"persistent_id_with_a_wrong_dtype",
     [] { return one_tensor_zip(tensor("0", 6, 0, {6}, {1}, "HalfStorage")); },
     ErrorCode::kTruncatedArchive,
     {"'archive/data/0' holds 24 bytes", "6 float16 elements"}},
    {"persistent_id_typed_by_a_non_storage_global",
     [] {
       PickleBuilder t;
       t.global("torch._utils", "_rebuild_tensor_v2").mark();
       t.mark().str("storage").global("collections", "OrderedDict").str("0").str("cpu");
       t.integer(6).op('t').op('Q');
       t.integer(0).int_tuple({6}).int_tuple({1}).boolean(false).ordered_dict().op('t').reduce();
       return one_tensor_zip(t);
     },
     ErrorCode::kMalformedPickle,
     {"storage type is a global collections.OrderedDict"}},
    // ---- zip records ----
    {"zip_entry_climbing_out",
     [] {
       return one_tensor_zip(tensor("0", 6, 0, {6}, {1}), {{"../../evil.sh", "echo pwned"}});
     },
     ErrorCode::kTruncatedArchive,
     {"'../../evil.sh'", "climbs out"}},
    {"zip_entry_with_an_absolute_path",
     [] {
       return one_tensor_zip(tensor("0", 6, 0, {6}, {1}), {{"/tmp/evil.sh", "x"}});
     },
     ErrorCode::kTruncatedArchive,
     {"'/tmp/evil.sh'", "absolute path"}},
    {"zip_entry_with_a_backslash_path",
     [] {
       return one_tensor_zip(tensor("0", 6, 0, {6}, {1}), {{"archive\\..\\..\\evil", "x"}});
     },
     ErrorCode::kTruncatedArchive,
     {"backslash"}},
    {"zip_storage_record_twice",
     [] {
       return one_tensor_zip(tensor("0", 6, 0, {6}, {1}),
                             {{"archive/data/0", float_bytes({9, 9, 9, 9, 9, 9})}});
     },
     ErrorCode::kTruncatedArchive,
     {"two zip records have the same name"}},
    {"zip_pickle_record_twice",
     [] {
       return one_tensor_zip(tensor("0", 6, 0, {6}, {1}), {{"archive/data.pkl", "\x80\x02N."}});
     },
     ErrorCode::kTruncatedArchive,
     {"two zip records have the same name"}},
    {"zip_stored_size_lies",
     [] {
       RawZipEntry liar{"archive/data/0", kSixFloats, uint32_t{1} << 30};
       return raw_zip(
           {{"archive/data.pkl", dict_pickle({{"w", tensor("0", 6, 0, {6}, {1})}})}, liar});
     },
     ErrorCode::kTruncatedArchive,
     {"'archive/data/0' is stored with 24 bytes but claims 1073741824"}},
    {"zip_deflate_bomb_header",
     [] {
       // (0xffffffff would mean "see the zip64 field"; one less is a plain size.)
       RawZipEntry bomb{"archive/data/0", std::string("\x03\x00", 2), 0xfffffffeu, 8};
       return raw_zip(
           {{"archive/data.pkl", dict_pickle({{"w", tensor("0", 6, 0, {6}, {1})}})}, bomb});
     },
     ErrorCode::kTruncatedArchive,
     {"'archive/data/0' claims 4294967294 bytes from only 2"}},
    {"zip_overlapping_records_bomb",
     [] {
       // 40 storages nested in each other's data: 1 MiB of file, 40 MiB of storages.
       PickleBuilder p;
       p.proto().empty_dict().mark();
       const int64_t core = int64_t{1} << 20;
       for (int i = 0; i < 40; ++i) {
         p.str("w" + std::to_string(i));
         // Record i holds the core plus the local headers of the records inside it.
         int64_t inner_headers = 0;
         for (int j = i + 1; j < 40; ++j) inner_headers += 30 + 14 + std::to_string(j).size();
         p.tensor("n" + std::to_string(i), "ByteStorage", core + inner_headers, 0, {1}, {1});
       }
       p.op('u').stop();
       return nested_zip({"archive/data.pkl", p.bytes()}, "archive/data/n", 40,
                         std::string(core, 'A'));
     },
     ErrorCode::kTruncatedArchive,
     {"zip bomb"}},
    {"zip_directory_of_too_many_records",
     [] {
       std::vector<RawZipEntry> entries;
       for (int i = 0; i < 32769; ++i) entries.push_back({"archive/r" + std::to_string(i), ""});
       return raw_zip(entries);
     },
     ErrorCode::kTruncatedArchive,
     {"declares 32769 records"}},
    // ---- tensors against their storage ----
    {"shape_element_count_overflows",
     [] {
       return one_tensor_zip(tensor("0", 6, 0, {int64_t{1} << 32, int64_t{1} << 32}, {0, 0}));
     },
     ErrorCode::kMalformedPickle,
     {"too large"}},
    {"empty_shape_whose_other_dimensions_overflow",
     [] {
       return one_tensor_zip(
           tensor("0", 6, 0, {0, int64_t{1} << 31, int64_t{1} << 31, 4}, {0, 0, 0, 0}));
     },
     ErrorCode::kMalformedPickle,
     {"too large"}},
    {"shape_of_int64_max",
     [] { return one_tensor_zip(tensor("0", 6, 0, {INT64_MAX}, {1})); },
     ErrorCode::kMalformedPickle,
     {"too large"}},
    {"stride_reaching_past_the_data",
     [] { return one_tensor_zip(tensor("0", 6, 0, {2}, {INT64_MAX})); },
     ErrorCode::kMalformedPickle,
     {"reaches past its storage"}},
    {"offset_past_the_data",
     [] { return one_tensor_zip(tensor("0", 6, INT64_MAX, {1}, {1})); },
     ErrorCode::kMalformedPickle,
     {"reaches past its storage"}},
    {"expanded_view_larger_than_its_storage",
     [] { return one_tensor_zip(tensor("0", 6, 0, {int64_t{1} << 36}, {0})); },
     ErrorCode::kMalformedPickle,
     {"more elements than its storage of 6"}},
    // ---- the pickle VM's own limits ----
    {"memory_flood_of_empty_lists",
     [] {
       PickleBuilder p;
       p.proto().raw(std::string(size_t{1} << 20, ']'));
       return torch_zip(p.stop().bytes());
     },
     ErrorCode::kMalformedPickle,
     {"more memory than its budget", "EMPTY_LIST"}},
    {"memo_flood",
     [] {
       PickleBuilder p;
       p.proto(4).none().raw(std::string(size_t{1} << 20, '\x94'));
       return torch_zip(p.stop().bytes());
     },
     ErrorCode::kMalformedPickle,
     {"more memory than its budget", "MEMOIZE"}},
    {"memo_index_out_of_range",
     [] {
       PickleBuilder p;
       p.proto().empty_dict().put(0).get(7).stop();
       return torch_zip(p.bytes());
     },
     ErrorCode::kMalformedPickle,
     {"memo index 7 was never stored"}},
    {"deeply_nested_lists",
     [] {
       PickleBuilder p;
       p.proto();
       for (int i = 0; i < 100000; ++i) p.empty_list();
       for (int i = 1; i < 100000; ++i) p.append();
       return torch_zip(p.stop().bytes());
     },
     ErrorCode::kMalformedPickle,
     {"deeper than 1000"}},
};

class Hostile : public ::testing::TestWithParam<Attack> {};

TEST_P(Hostile, IsRefusedNamingWhatAndLeavesNoFile) {
  const Attack& attack = GetParam();
  const auto dir = starface::testing::temp_dir(std::string("hostile_") + attack.name);
  const std::string file = (dir / "model.pth").string();
  starface::testing::write_file(file, attack.make());
  std::vector<std::string> fragments = attack.names;
  fragments.push_back(file);
  EXPECT_TRUE(throws_error([&] { load_state_dict(file); }, attack.code, fragments));
  // Nothing was extracted or written: the folder holds only the file itself.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 1);
}

TEST_P(Hostile, MessageHoldsNoControlCharacters) {
  const std::string bytes = GetParam().make();
  try {
    load_state_dict_bytes(std::as_bytes(std::span(bytes.data(), bytes.size())), "mem.pth");
    FAIL() << "not refused";
  } catch (const Error& e) {
    for (char c : std::string(e.what())) EXPECT_GE(static_cast<unsigned char>(c), 0x20) << e.what();
  }
}

TEST_P(Hostile, IsRefusedFromMemoryAlike) {
  const Attack& attack = GetParam();
  const std::string bytes = attack.make();
  EXPECT_TRUE(throws_error(
      [&] {
        load_state_dict_bytes(std::as_bytes(std::span(bytes.data(), bytes.size())), "mem.pth");
      },
      attack.code, attack.names));
}

INSTANTIATE_TEST_SUITE_P(Attacks, Hostile, ::testing::ValuesIn(kAttacks),
                         [](const auto& info) { return std::string(info.param.name); });

// The builder's records are sound: the same archive without the attack loads.
TEST(HostileControls, RawZipOfAnHonestCheckpointLoads) {
  const std::string bytes = one_tensor_zip(tensor("0", 6, 0, {2, 3}, {3, 1}));
  const TensorMap tensors =
      load_state_dict_bytes(std::as_bytes(std::span(bytes.data(), bytes.size())), "ok.pth");
  ASSERT_EQ(tensors.count("w"), 1u);
  EXPECT_EQ(tensors.at("w").shape(), (Shape{2, 3}));
  EXPECT_EQ(tensors.at("w").to_float32().data<float>()[5], 5.0f);
}

TEST(HostileControls, NestedRecordsWithinTheBudgetLoad) {
  // Two nested records of 1 KiB: overlapping, but far inside the file's size + 8 MiB.
  PickleBuilder p;
  p.proto().empty_dict().mark();
  p.str("a").tensor("n0", "ByteStorage", 1024 + 30 + 15, 0, {4}, {1});
  p.str("b").tensor("n1", "ByteStorage", 1024, 0, {4}, {1});
  p.op('u').stop();
  const std::string bytes =
      nested_zip({"archive/data.pkl", p.bytes()}, "archive/data/n", 2, std::string(1024, 'B'));
  const TensorMap tensors =
      load_state_dict_bytes(std::as_bytes(std::span(bytes.data(), bytes.size())), "ok.pth");
  EXPECT_EQ(tensors.at("b").to_float32().data<float>()[0], 'B');
}

}  // namespace
}  // namespace starface::import
