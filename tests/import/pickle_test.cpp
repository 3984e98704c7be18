// The restricted unpickler on hand-made pickles: what it builds, and what it refuses.
#include "import/pickle.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "import/expect_error.h"
#include "import/torch_builder.h"

namespace starface::import {
namespace {

using starface::testing::PickleBuilder;
using starface::testing::throws_error;
using Kind = PyObject::Kind;

PyObject run(const std::string& bytes, UnpickleOptions options = {}) {
  if (options.source.empty()) options.source = "test.pkl";
  return unpickle(std::as_bytes(std::span(bytes.data(), bytes.size())), options);
}

PyObject run(const PickleBuilder& builder) { return run(builder.bytes()); }

TEST(Pickle, Scalars) {
  PickleBuilder p;
  p.proto().mark().none().boolean(true).boolean(false).integer(7).integer(300).integer(-5);
  p.integer(70000).integer(int64_t{1} << 40).integer(-(int64_t{1} << 40)).binfloat(-2.5);
  p.str("héllo").op('C').u8(3).raw(std::string_view("a\0b", 3)).op('t').stop();
  const PyObject tuple = run(p);
  ASSERT_TRUE(tuple.is(Kind::kTuple));
  const auto& items = tuple.items();
  ASSERT_EQ(items.size(), 12u);
  EXPECT_TRUE(items[0].is(Kind::kNone));
  EXPECT_TRUE(items[1].as_bool());
  EXPECT_FALSE(items[2].as_bool());
  EXPECT_EQ(items[3].as_int(), 7);
  EXPECT_EQ(items[4].as_int(), 300);
  EXPECT_EQ(items[5].as_int(), -5);
  EXPECT_EQ(items[6].as_int(), 70000);
  EXPECT_EQ(items[7].as_int(), int64_t{1} << 40);
  EXPECT_EQ(items[8].as_int(), -(int64_t{1} << 40));
  EXPECT_EQ(items[9].as_float(), -2.5);
  EXPECT_EQ(items[10].as_str(), "héllo");
  EXPECT_EQ(items[11].as_bytes(), std::string("a\0b", 3));
}

TEST(Pickle, Long1SignExtendsShortIntegers) {
  PickleBuilder p;
  p.proto().mark().op(0x8a).u8(0).op(0x8a).u8(1).u8(0xff).op(0x8a).u8(2).u8(0x00).u8(0x80);
  p.op(0x8a).u8(8).u64(std::numeric_limits<uint64_t>::max()).op('t').stop();
  const PyObject root = run(p);
  const auto& items = root.items();
  EXPECT_EQ(items[0].as_int(), 0);
  EXPECT_EQ(items[1].as_int(), -1);
  EXPECT_EQ(items[2].as_int(), -32768);
  EXPECT_EQ(items[3].as_int(), -1);
}

TEST(Pickle, Long1WiderThan64BitsIsRefused) {
  PickleBuilder p;
  p.proto().op(0x8a).u8(9).raw(std::string(9, '\1')).stop();
  EXPECT_TRUE(throws_error([&] { run(p); }, ErrorCode::kMalformedPickle, {"64 bits", "LONG1"}));
}

TEST(Pickle, DictKeepsInsertionOrderAndOverwritesInPlace) {
  PickleBuilder p;
  p.proto().empty_dict().mark().str("b").integer(1).str("a").integer(2).op('u');
  p.str("b").integer(3).setitem().stop();
  const PyObject root = run(p);
  const PyDict& dict = root.as_dict();
  ASSERT_EQ(dict.size(), 2u);
  EXPECT_EQ(dict.items()[0].first.as_str(), "b");
  EXPECT_EQ(dict.items()[0].second.as_int(), 3);
  EXPECT_EQ(dict.items()[1].first.as_str(), "a");
  EXPECT_EQ(dict.find("a")->as_int(), 2);
  EXPECT_EQ(dict.find("missing"), nullptr);
}

TEST(Pickle, DictKeysMayBeIntsTuplesNoneAndFloats) {
  PickleBuilder p;
  p.proto().empty_dict().mark();
  p.integer(200).integer(1);
  p.str("x").integer(5).tuple(2).str("pair");
  p.none().str("none");
  p.binfloat(1.5).str("float");
  p.op('u').stop();
  const PyObject root = run(p);
  const PyDict& dict = root.as_dict();
  ASSERT_EQ(dict.size(), 4u);
  EXPECT_EQ(dict.find(PyObject::from_int(200))->as_int(), 1);
  // Python: 200 == 200.0 == a key found either way; True == 1.
  EXPECT_NE(dict.find(PyObject::from_float(200.0)), nullptr);
  const PyObject key = PyObject::make_tuple({PyObject::from_str("x"), PyObject::from_int(5)});
  EXPECT_EQ(dict.find(key)->as_str(), "pair");
  EXPECT_EQ(dict.find(PyObject())->as_str(), "none");
  EXPECT_EQ(dict.find(PyObject::from_float(1.5))->as_str(), "float");
}

TEST(Pickle, UnhashableKeyIsRefused) {
  PickleBuilder p;
  p.proto().empty_dict().empty_list().integer(1).setitem().stop();
  EXPECT_TRUE(throws_error([&] { run(p); }, ErrorCode::kMalformedPickle,
                           {"unhashable", "list", "SETITEM at byte"}));
}

TEST(Pickle, MemoSharesObjects) {
  PickleBuilder p;
  p.proto().mark().empty_list().put(0).get(0).op('t').stop();
  const PyObject root = run(p);
  const auto& items = root.items();
  ASSERT_EQ(items.size(), 2u);
  EXPECT_TRUE(items[0].same_object(items[1]));
}

TEST(Pickle, ListFilledAfterMemoisingIsSeenThroughTheMemo) {
  // torch and pickle memoise a container first and fill it afterwards.
  PickleBuilder p;
  p.proto().empty_list().put(0).mark().integer(1).integer(2).op('e');
  p.get(0).tuple(1).tuple(2).stop();
  const PyObject pair = run(p);
  const PyObject& list = pair.items()[0];
  ASSERT_EQ(list.items().size(), 2u);
  EXPECT_TRUE(pair.items()[1].items()[0].same_object(list));
}

TEST(Pickle, OrderedDictCounterAndBuild) {
  PickleBuilder p;
  p.proto().ordered_dict().str("milestones").global("collections", "Counter");
  p.empty_dict().integer(200).integer(1).setitem().tuple(1).reduce().setitem();
  // A state dict's _metadata arrives through BUILD and is dropped.
  p.empty_dict().str("_metadata").ordered_dict().setitem().op('b').stop();
  const PyObject root = run(p);
  ASSERT_TRUE(root.is(Kind::kDict));
  ASSERT_EQ(root.as_dict().size(), 1u);
  const PyObject* milestones = root.as_dict().find("milestones");
  ASSERT_NE(milestones, nullptr);
  EXPECT_EQ(milestones->as_dict().find(PyObject::from_int(200))->as_int(), 1);
}

TEST(Pickle, Protocol4Opcodes) {
  PickleBuilder p;
  p.proto(4).op(0x95).u64(40);
  p.stack_global("collections", "OrderedDict").op(0x94).tuple(0).reduce().op(0x94);
  p.op(0x8c).u8(1).raw("k").op(0x8d).u64(2).raw("v8").setitem();
  p.op(0x8e).u64(0).tuple(1).tuple(2).stop();
  const PyObject root = run(p);
  EXPECT_EQ(root.items()[0].as_dict().find("k")->as_str(), "v8");
  EXPECT_EQ(root.items()[1].items()[0].as_bytes(), "");
}

TEST(Pickle, ReportsWhereItStopped) {
  PickleBuilder p;
  p.proto().integer(1).stop().raw("trailing");
  size_t end = 0;
  const std::string& bytes = p.bytes();
  UnpickleOptions options;
  options.source = "t.pkl";
  unpickle(std::as_bytes(std::span(bytes.data(), bytes.size())), options, &end);
  EXPECT_EQ(end, 5u);
}

// ---- refused globals ----

struct RefusedGlobal {
  const char* module;
  const char* name;
};

class PickleRefusesGlobal : public ::testing::TestWithParam<RefusedGlobal> {};

TEST_P(PickleRefusesGlobal, AtTheGlobalOpcode) {
  const auto [module, name] = GetParam();
  PickleBuilder p;
  // Nothing after GLOBAL is even read: the pickle is cut right after the name.
  p.proto().global(module, name);
  const std::string qualified = std::string(module) + "." + name;
  EXPECT_TRUE(
      throws_error([&] { run(p); }, ErrorCode::kUnsafePickle,
                   {"test.pkl", "refused pickle global '" + qualified + "'", "GLOBAL at byte 2"}));
}

TEST_P(PickleRefusesGlobal, AtTheStackGlobalOpcode) {
  const auto [module, name] = GetParam();
  PickleBuilder p;
  p.proto(4).stack_global(module, name).stop();
  EXPECT_TRUE(throws_error([&] { run(p); }, ErrorCode::kUnsafePickle,
                           {"refused pickle global", "STACK_GLOBAL at byte"}));
}

INSTANTIATE_TEST_SUITE_P(
    Dangerous, PickleRefusesGlobal,
    ::testing::Values(
        RefusedGlobal{"posix", "system"}, RefusedGlobal{"os", "system"},
        RefusedGlobal{"builtins", "eval"}, RefusedGlobal{"builtins", "exec"},
        RefusedGlobal{"__builtin__", "eval"}, RefusedGlobal{"builtins", "getattr"},
        RefusedGlobal{"subprocess", "Popen"}, RefusedGlobal{"subprocess", "check_output"},
        RefusedGlobal{"torch._utils", "_rebuild_parameter"},
        RefusedGlobal{"torch.serialization", "_get_layout"},
        RefusedGlobal{"torch.storage", "_load_from_bytes"}, RefusedGlobal{"torch", "device"},
        RefusedGlobal{"numpy.core.multiarray", "_reconstruct"}, RefusedGlobal{"numpy", "dtype"},
        RefusedGlobal{"copyreg", "_reconstructor"},
        // Allowed-looking spellings of other targets.
        RefusedGlobal{"collections", "OrderedDict.__init__.__globals__"},
        RefusedGlobal{"collections.OrderedDict", ""}, RefusedGlobal{"collections ", "OrderedDict"},
        RefusedGlobal{"torch", "_utils._rebuild_tensor_v2"},
        RefusedGlobal{"torch._utils", "_rebuild_tensor"}, RefusedGlobal{"Torch", "FloatStorage"}));

TEST(Pickle, UnsupportedStorageTypeIsABadDtype) {
  PickleBuilder p;
  p.proto().global("torch", "ShortStorage").stop();
  EXPECT_TRUE(throws_error([&] { run(p); }, ErrorCode::kBadDtype, {"int16", "test.pkl"}));
}

TEST(Pickle, StorageTypeIsNeverCalled) {
  PickleBuilder p;
  p.proto().global("torch", "FloatStorage").integer(4).tuple(1).reduce().stop();
  EXPECT_TRUE(throws_error([&] { run(p); }, ErrorCode::kUnsafePickle,
                           {"torch.FloatStorage", "never called", "REDUCE at byte"}));
}

TEST(Pickle, GlobalNameInMessageIsSanitised) {
  PickleBuilder p;
  p.proto().global("os\x01\x7f", std::string(500, 'x'));
  try {
    run(p);
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("os??"), std::string::npos) << message;
    EXPECT_LT(message.size(), 700u);
  }
}

TEST(Pickle, GlobalsCannotEnterContainersOrTheResult) {
  PickleBuilder list;
  list.proto().empty_list().global("collections", "OrderedDict").append().stop();
  EXPECT_TRUE(throws_error([&] { run(list); }, ErrorCode::kMalformedPickle, {"global"}));
  PickleBuilder result;
  result.proto().global("collections", "OrderedDict").stop();
  EXPECT_TRUE(throws_error([&] { run(result); }, ErrorCode::kMalformedPickle, {"result"}));
}

TEST(Pickle, ReduceNeedsAGlobal) {
  PickleBuilder p;
  p.proto().str("os.system").tuple(0).reduce().stop();
  EXPECT_TRUE(throws_error([&] { run(p); }, ErrorCode::kMalformedPickle, {"REDUCE calls a str"}));
}

TEST(Pickle, OrderedDictWithArgumentsIsRefused) {
  PickleBuilder p;
  p.proto().global("collections", "OrderedDict").empty_list().tuple(1).reduce().stop();
  EXPECT_TRUE(throws_error([&] { run(p); }, ErrorCode::kMalformedPickle, {"OrderedDict"}));
}

TEST(Pickle, PersistentIdOutsideATorchFileIsRefused) {
  PickleBuilder p;
  p.proto().str("storage").op('Q').stop();
  EXPECT_TRUE(throws_error([&] { run(p); }, ErrorCode::kUnsafePickle, {"persistent id"}));
}

// ---- refused opcodes ----

struct RefusedOpcode {
  const char* name;
  std::string bytes;  // after PROTO 2
};

class PickleRefusesOpcode : public ::testing::TestWithParam<RefusedOpcode> {};

TEST_P(PickleRefusesOpcode, BeforeExecutingIt) {
  const RefusedOpcode& param = GetParam();
  PickleBuilder p;
  p.proto().raw(param.bytes).stop();
  EXPECT_TRUE(throws_error([&] { run(p); }, ErrorCode::kUnsafePickle,
                           {std::string("refused pickle opcode ") + param.name,
                            std::string(param.name) + " at byte 2"}));
}

INSTANTIATE_TEST_SUITE_P(
    Dangerous, PickleRefusesOpcode,
    ::testing::Values(RefusedOpcode{"INST", "ios\nsystem\n"}, RefusedOpcode{"OBJ", "o"},
                      RefusedOpcode{"NEWOBJ", "\x81"}, RefusedOpcode{"NEWOBJ_EX", "\x92"},
                      RefusedOpcode{"EXT1", "\x82\x01"}, RefusedOpcode{"EXT2", "\x83\x01\x00"},
                      RefusedOpcode{"PERSID", "P0\n"}, RefusedOpcode{"STRING", "S'a'\n"},
                      RefusedOpcode{"INT", "I1\n"}, RefusedOpcode{"DICT", "d"},
                      RefusedOpcode{"POP", "0"}, RefusedOpcode{"EMPTY_SET", "\x8f"},
                      RefusedOpcode{"BYTEARRAY8", "\x96"}, RefusedOpcode{"NEXT_BUFFER", "\x97"}));

TEST(Pickle, GarbageByteIsMalformed) {
  EXPECT_TRUE(throws_error([] { run(std::string("\x80\x02\xff.", 4)); },
                           ErrorCode::kMalformedPickle,
                           {"0xff is not a pickle opcode", "at byte 2"}));
}

TEST(Pickle, UnknownProtocolIsMalformed) {
  EXPECT_TRUE(throws_error([] { run(std::string("\x80\x09N.", 4)); }, ErrorCode::kMalformedPickle,
                           {"protocol 9"}));
}

// ---- broken structure ----

TEST(Pickle, StackUnderflow) {
  EXPECT_TRUE(throws_error(
      [] {
        run(
            std::string("\x80\x02"
                        "a.",
                        4));
      },
      ErrorCode::kMalformedPickle, {"stack underflow", "APPEND at byte 2"}));
}

TEST(Pickle, ItemsBelowAMarkAreNotReachable) {
  PickleBuilder p;
  p.proto().empty_list().mark().append().stop();
  EXPECT_TRUE(throws_error([&] { run(p); }, ErrorCode::kMalformedPickle, {"stack underflow"}));
}

TEST(Pickle, TupleWithoutMark) {
  PickleBuilder p;
  p.proto().integer(1).op('t').stop();
  EXPECT_TRUE(throws_error([&] { run(p); }, ErrorCode::kMalformedPickle, {"MARK", "TUPLE"}));
}

TEST(Pickle, SetItemOnAList) {
  PickleBuilder p;
  p.proto().empty_list().str("k").integer(1).setitem().stop();
  EXPECT_TRUE(throws_error([&] { run(p); }, ErrorCode::kMalformedPickle, {"expected a dict"}));
}

TEST(Pickle, OddSetItems) {
  PickleBuilder p;
  p.proto().empty_dict().mark().str("k").op('u').stop();
  EXPECT_TRUE(throws_error([&] { run(p); }, ErrorCode::kMalformedPickle, {"odd"}));
}

TEST(Pickle, StopWithLeftovers) {
  PickleBuilder p;
  p.proto().integer(1).integer(2).stop();
  EXPECT_TRUE(throws_error([&] { run(p); }, ErrorCode::kMalformedPickle, {"STOP leaves 2"}));
  PickleBuilder open_mark;
  open_mark.proto().integer(1).mark().stop();
  EXPECT_TRUE(throws_error([&] { run(open_mark); }, ErrorCode::kMalformedPickle, {"marks"}));
}

TEST(Pickle, MemoIndexOutOfRange) {
  PickleBuilder p;
  p.proto().integer(1).put(0).get(1).stop();
  EXPECT_TRUE(throws_error([&] { run(p); }, ErrorCode::kMalformedPickle,
                           {"memo index 1 was never stored", "BINGET at byte 6"}));
  PickleBuilder far;
  far.proto().get(0xffffffffu).stop();
  EXPECT_TRUE(throws_error([&] { run(far); }, ErrorCode::kMalformedPickle,
                           {"memo index 4294967295", "LONG_BINGET"}));
}

TEST(Pickle, HugePutIndexAllocatesNothing) {
  PickleBuilder p;
  p.proto().integer(3).put(0xfffffff0u).get(0xfffffff0u).tuple(2).stop();
  EXPECT_EQ(run(p).items()[1].as_int(), 3);
}

// ---- truncation and lengths ----

TEST(Pickle, LengthBeyondTheInputIsTruncationNotAllocation) {
  PickleBuilder p;
  p.proto().op('X').u32(0xffffffffu).raw("abc");
  EXPECT_TRUE(
      throws_error([&] { run(p); }, ErrorCode::kMalformedPickle,
                   {"ends early", "4294967295 bytes needed, 3 left", "BINUNICODE at byte 2"}));
  PickleBuilder huge;
  huge.proto(4).op(0x8d).u64(uint64_t{1} << 62).raw("abc");
  EXPECT_TRUE(throws_error([&] { run(huge); }, ErrorCode::kMalformedPickle, {"ends early"}));
  PickleBuilder bytes8;
  bytes8.proto(4).op(0x8e).u64(~uint64_t{0});
  EXPECT_TRUE(throws_error([&] { run(bytes8); }, ErrorCode::kMalformedPickle, {"ends early"}));
}

TEST(Pickle, TruncationUsesTheCallersCode) {
  UnpickleOptions options;
  options.source = "legacy.pth";
  options.base_offset = 100;
  options.truncated_code = ErrorCode::kTruncatedLegacy;
  EXPECT_TRUE(throws_error([&] { run(std::string("\x80\x02}q"), options); },
                           ErrorCode::kTruncatedLegacy, {"legacy.pth", "BINPUT at byte 103"}));
}

TEST(Pickle, EveryPrefixOfAValidPickleFailsCleanly) {
  PickleBuilder p;
  p.proto().ordered_dict().put(0).mark().str("weight").integer(3).str("x").binfloat(1.0);
  p.op('u').global("collections", "Counter").empty_dict().tuple(1).reduce().tuple(2).stop();
  const std::string& bytes = p.bytes();
  ASSERT_NO_THROW(run(bytes));
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    EXPECT_TRUE(throws_error([&] { run(bytes.substr(0, cut)); }, ErrorCode::kMalformedPickle))
        << "cut at " << cut;
  }
}

TEST(Pickle, EmptyInput) {
  EXPECT_TRUE(throws_error([] { run(""); }, ErrorCode::kMalformedPickle, {"before its STOP"}));
}

// ---- nesting, cycles, frozen containers ----

TEST(Pickle, DeepListNestingIsRefusedWithoutCrashing) {
  constexpr int kDepth = 100000;
  PickleBuilder p;
  p.proto();
  for (int i = 0; i < kDepth; ++i) p.empty_list();
  for (int i = 1; i < kDepth; ++i) p.append();
  p.stop();
  EXPECT_TRUE(throws_error([&] { run(p); }, ErrorCode::kMalformedPickle,
                           {"deeper than 1000", "APPEND at byte"}));
}

TEST(Pickle, DeepTupleNestingIsRefused) {
  PickleBuilder p;
  p.proto().none();
  for (int i = 0; i < 100000; ++i) p.tuple(1);
  p.stop();
  EXPECT_TRUE(throws_error([&] { run(p); }, ErrorCode::kMalformedPickle, {"deeper than 1000"}));
}

TEST(Pickle, DeepDictNestingIsRefused) {
  PickleBuilder p;
  p.proto();
  for (int i = 0; i < 100000; ++i) p.empty_dict().integer(i % 200);
  p.empty_dict();
  for (int i = 0; i < 100000; ++i) p.setitem();
  p.stop();
  EXPECT_TRUE(throws_error([&] { run(p); }, ErrorCode::kMalformedPickle, {"deeper than 1000"}));
}

TEST(Pickle, DeepTuplesOfGlobalsAreRefused) {
  PickleBuilder p;
  p.proto().global("collections", "OrderedDict");
  for (int i = 0; i < 100000; ++i) p.tuple(1);
  p.stop();
  EXPECT_TRUE(throws_error([&] { run(p); }, ErrorCode::kMalformedPickle, {"deeper than 1000"}));
}

TEST(Pickle, NestingUpToTheLimitIsFine) {
  PickleBuilder p;
  p.proto();
  for (int i = 0; i < kMaxNesting; ++i) p.empty_list();
  for (int i = 1; i < kMaxNesting; ++i) p.append();
  p.stop();
  EXPECT_EQ(run(p).depth(), kMaxNesting);
}

TEST(Pickle, ListCannotContainItself) {
  PickleBuilder p;
  p.proto().empty_list().put(0).get(0).append().stop();
  EXPECT_TRUE(throws_error([&] { run(p); }, ErrorCode::kMalformedPickle, {"into itself"}));
}

TEST(Pickle, NestedContainerCannotChange) {
  // outer = [inner]; inner.append(outer) would close a cycle, and is refused because inner
  // is already nested.
  PickleBuilder p;
  p.proto().empty_list().put(0).empty_list().put(1).append();  // outer.append(inner)
  p.get(1).get(0).append().stop();
  EXPECT_TRUE(throws_error([&] { run(p); }, ErrorCode::kMalformedPickle,
                           {"after it was put into another container"}));
}

TEST(Pickle, ManySharedReferencesStayCheap) {
  // A large string referenced 100k times is shared, not copied.
  PickleBuilder p;
  p.proto().empty_list().op('X').u32(1 << 20).raw(std::string(1 << 20, 'x')).put(0).append();
  for (int i = 0; i < 100; ++i) {
    p.mark();
    for (int j = 0; j < 1000; ++j) p.get(0);
    p.op('e');
  }
  p.stop();
  const PyObject list = run(p);
  ASSERT_EQ(list.items().size(), 100001u);
  EXPECT_TRUE(list.items()[0].same_object(list.items()[100000]));
}

TEST(Pickle, NanKeyIsRefused) {
  PickleBuilder p;
  p.proto().empty_dict().binfloat(std::nan("")).integer(1).setitem().stop();
  EXPECT_TRUE(throws_error([&] { run(p); }, ErrorCode::kMalformedPickle, {"NaN"}));
}

TEST(Pickle, ObjectCountIsCapped) {
  PickleBuilder p;
  p.proto().empty_list().mark();
  for (int i = 0; i < 1000; ++i) p.none();
  p.op('e').stop();
  UnpickleOptions options;
  options.max_objects = 1001;
  EXPECT_NO_THROW(run(p.bytes(), options));
  options.max_objects = 1000;
  EXPECT_TRUE(throws_error([&] { run(p.bytes(), options); }, ErrorCode::kMalformedPickle,
                           {"more than 1000 objects", "NONE at byte 1003"}));
}

TEST(Pickle, OversizedTupleKeyIsRefused) {
  PickleBuilder p;
  p.proto().empty_dict().mark();
  for (int i = 0; i < 300; ++i) p.integer(i);
  p.op('t').integer(1).setitem().stop();
  EXPECT_TRUE(throws_error([&] { run(p); }, ErrorCode::kMalformedPickle, {"unhashable"}));
}

}  // namespace
}  // namespace starface::import
