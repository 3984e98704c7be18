// load_state_dict on the layouts checkpoints come in, made by the test.
#include "import/checkpoint.h"

#include <gtest/gtest.h>

#include "import/expect_error.h"
#include "import/torch_builder.h"
#include "support/fixtures.h"

namespace starface::import {
namespace {

using starface::testing::PickleBuilder;
using starface::testing::throws_error;

// One float storage "0" of 4 elements; `body` pushes the root object.
class Checkpoint : public ::testing::Test {
 protected:
  std::string write(const std::function<void(PickleBuilder&)>& body) {
    PickleBuilder p;
    p.proto();
    body(p);
    p.stop();
    const std::string file = (starface::testing::temp_dir("checkpoint") / "model.pth").string();
    starface::testing::write_torch_zip(file, p.bytes(),
                                       {{"0", starface::testing::float_bytes({1, 2, 3, 4})}});
    return file;
  }

  static void tensor(PickleBuilder& p) { p.tensor("0", "FloatStorage", 4, 0, {4}, {1}); }

  // An OrderedDict state dict {names[i]: tensor} with torch's _metadata BUILD.
  static void state_dict(PickleBuilder& p, const std::vector<std::string>& names) {
    p.ordered_dict().mark();
    for (const std::string& name : names) {
      p.str(name);
      tensor(p);
    }
    p.op('u').empty_dict().str("_metadata").ordered_dict().setitem().op('b');
  }
};

TEST_F(Checkpoint, NetEntry) {
  const std::string file = write([](PickleBuilder& p) {
    p.empty_dict().str("net");
    state_dict(p, {"a.weight", "b.bias"});
    p.setitem();
  });
  const TensorMap tensors = load_state_dict(file);
  ASSERT_EQ(tensors.size(), 2u);
  EXPECT_EQ(tensors.at("a.weight").shape(), (Shape{4}));
}

TEST_F(Checkpoint, StateDictEntry) {
  const std::string file = write([](PickleBuilder& p) {
    p.empty_dict().str("state_dict");
    state_dict(p, {"w"});
    p.setitem();
  });
  EXPECT_EQ(load_state_dict(file).count("w"), 1u);
}

TEST_F(Checkpoint, LightningStyleStateDictWithOtherEntries) {
  const std::string file = write([](PickleBuilder& p) {
    p.empty_dict().mark().str("epoch").integer(3).str("state_dict");
    state_dict(p, {"w"});
    p.op('u');
  });
  EXPECT_EQ(load_state_dict(file).count("w"), 1u);
}

TEST_F(Checkpoint, BareStateDict) {
  const std::string file = write([](PickleBuilder& p) { state_dict(p, {"x", "y", "z"}); });
  EXPECT_EQ(load_state_dict(file).size(), 3u);
}

TEST_F(Checkpoint, NetEmaIsChosenByOption) {
  const std::string file = write([](PickleBuilder& p) {
    p.empty_dict().mark().str("net");
    state_dict(p, {"from_net"});
    p.str("net_ema");
    state_dict(p, {"from_ema"});
    p.op('u');
  });
  EXPECT_EQ(load_state_dict(file).count("from_net"), 1u);
  EXPECT_EQ(load_state_dict(file, {"net_ema"}).count("from_ema"), 1u);
}

TEST_F(Checkpoint, MissingNetEmaIsAMissingKey) {
  const std::string file = write([](PickleBuilder& p) {
    p.empty_dict().str("net");
    state_dict(p, {"w"});
    p.setitem();
  });
  EXPECT_TRUE(throws_error([&] { load_state_dict(file, {"net_ema"}); }, ErrorCode::kMissingKey,
                           {file, "no 'net_ema' entry", "'net'"}));
}

TEST_F(Checkpoint, DataParallelPrefixIsStripped) {
  const std::string file = write([](PickleBuilder& p) {
    state_dict(p, {"module.a.weight", "module.b"});
  });
  const TensorMap tensors = load_state_dict(file);
  EXPECT_EQ(tensors.count("a.weight"), 1u);
  EXPECT_EQ(tensors.count("b"), 1u);
}

TEST_F(Checkpoint, PrefixCollisionIsRefused) {
  const std::string file = write([](PickleBuilder& p) { state_dict(p, {"module.a", "a"}); });
  EXPECT_TRUE(throws_error([&] { load_state_dict(file); }, ErrorCode::kBadInput,
                           {"'a' appears both with and without 'module.'"}));
}

TEST_F(Checkpoint, NonTensorEntryIsNamed) {
  const std::string file = write([](PickleBuilder& p) {
    p.empty_dict().str("net").ordered_dict().mark().str("w");
    tensor(p);
    p.str("version").integer(2).op('u').setitem();
  });
  EXPECT_TRUE(throws_error([&] { load_state_dict(file); }, ErrorCode::kBadInput,
                           {file, "entry 'version' is a int, not a tensor"}));
}

TEST_F(Checkpoint, NonStringKeyIsRefused) {
  const std::string file = write([](PickleBuilder& p) {
    p.empty_dict().str("net").empty_dict().integer(1);
    tensor(p);
    p.setitem().setitem();
  });
  EXPECT_TRUE(
      throws_error([&] { load_state_dict(file); }, ErrorCode::kBadInput, {"a key of type int"}));
}

TEST_F(Checkpoint, NoStateDictAnywhere) {
  const std::string list = write([](PickleBuilder& p) { p.empty_list(); });
  EXPECT_TRUE(
      throws_error([&] { load_state_dict(list); }, ErrorCode::kNotACheckpoint, {"holds a list"}));
  const std::string scalars =
      write([](PickleBuilder& p) { p.empty_dict().str("epoch").integer(3).setitem(); });
  EXPECT_TRUE(throws_error([&] { load_state_dict(scalars); }, ErrorCode::kNotACheckpoint,
                           {"no state dict found", "'epoch'"}));
  const std::string net_list =
      write([](PickleBuilder& p) { p.empty_dict().str("net").empty_list().setitem(); });
  EXPECT_TRUE(throws_error([&] { load_state_dict(net_list); }, ErrorCode::kNotACheckpoint,
                           {"entry 'net' is a list"}));
}

TEST_F(Checkpoint, TensorsKeepTheirLayout) {
  const std::string file = write([](PickleBuilder& p) {
    p.empty_dict().mark().str("t");
    p.tensor("0", "FloatStorage", 4, 0, {2, 2}, {1, 2});
    p.str("s");
    p.tensor("0", "FloatStorage", 4, 1, {3}, {1});
    p.op('u');
  });
  const TensorMap tensors = load_state_dict(file);
  EXPECT_EQ(tensors.at("t").strides(), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(tensors.at("s").offset(), 1);
  EXPECT_EQ(tensors.at("s").storage(), tensors.at("t").storage());
}

}  // namespace
}  // namespace starface::import
