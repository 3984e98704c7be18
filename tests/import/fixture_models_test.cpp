// Every checkpoint in the shared fixtures: layouts, containers, dtypes and the keys a
// network builder will ask for.
#include <gtest/gtest.h>

#include <cstring>
#include <set>

#include "import/checkpoint.h"
#include "import/torch_file.h"
#include "support/fixtures.h"

namespace starface::import {
namespace {

using starface::testing::star_fixture;
using starface::testing::star_manifest;

std::string model(const std::string& name) { return star_fixture("models/" + name).string(); }

int64_t total_elements(const TensorMap& tensors) {
  int64_t total = 0;
  for (const auto& [name, tensor] : tensors) total += tensor.numel();
  return total;
}

// Same dtype, shape, strides, offset and bytes.
::testing::AssertionResult bitwise_equal(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) {
    return ::testing::AssertionFailure() << dtype_name(a.dtype()) << shape_str(a.shape()) << " vs "
                                         << dtype_name(b.dtype()) << shape_str(b.shape());
  }
  const Tensor ca = a.contiguous();
  const Tensor cb = b.contiguous();
  if (ca.nbytes() && std::memcmp(ca.bytes(), cb.bytes(), ca.nbytes()) != 0) {
    return ::testing::AssertionFailure() << "values differ";
  }
  return ::testing::AssertionSuccess();
}

void expect_same_tensors(const TensorMap& a, const TensorMap& b) {
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, tensor] : a) {
    auto it = b.find(name);
    ASSERT_NE(it, b.end()) << name;
    EXPECT_TRUE(bitwise_equal(tensor, it->second)) << name;
  }
}

// ---- every model of the manifest ----

TEST(FixtureModels, EveryManifestModelLoadsWithItsKeyAndParameterCounts) {
  for (const auto& [id, entry] : star_manifest()["models"].items()) {
    SCOPED_TRACE(id);
    LoadOptions options;
    if (entry.contains("weights") && entry["weights"] == "net_ema") options.weights = "net_ema";
    const TensorMap tensors =
        load_state_dict(model(entry["file"].get<std::string>().substr(7)), options);
    const auto& cost = entry["cost"];
    EXPECT_EQ(tensors.size(), cost["state_dict_keys"].get<size_t>());
    EXPECT_EQ(total_elements(tensors),
              cost["params_total"].get<int64_t>() + cost["buffers_total"].get<int64_t>());
    const int64_t points = entry["config"]["num_points"];
    EXPECT_EQ(tensors.at("out_heatmaps.0.conv.weight").dim(0), points);
    EXPECT_EQ(tensors.count("e2h_transform.weight"), entry["config"]["use_AAM"] ? 1u : 0u);
  }
}

TEST(FixtureModels, EveryPthFileInTheFolderLoads) {
  size_t files = 0;
  for (const auto& item : std::filesystem::directory_iterator(star_fixture("models"))) {
    if (item.path().extension() != ".pth") continue;
    SCOPED_TRACE(item.path().string());
    ++files;
    const PyObject root = load_torch_file(item.path().string());
    EXPECT_TRUE(root.is(PyObject::Kind::kDict));
    EXPECT_FALSE(state_dict_from(root, item.path().string()).empty());
  }
  EXPECT_GE(files, 12u);
}

// Load time is measured by `starface bench`, not asserted here.
TEST(FixtureModels, FullModelLoads) {
  const TensorMap tensors = load_state_dict(model("star_wflw_full_random.pth"));
  EXPECT_EQ(tensors.size(), 1450u);
  EXPECT_EQ(tensors.at("pre.4.conv3.conv.weight").dim(0), 256);
}

// ---- serialization variants of the tiny WFLW model ----

TEST(FixtureModels, LegacyAndZipGiveBitwiseIdenticalTensors) {
  const TensorMap zip = load_state_dict(model("star_wflw_tiny.pth"));
  const TensorMap legacy = load_state_dict(model("star_wflw_tiny_legacy.pth"));
  EXPECT_EQ(zip.size(), 1450u);
  expect_same_tensors(zip, legacy);
  for (const auto& [name, tensor] : zip) {
    EXPECT_EQ(tensor.strides(), legacy.at(name).strides()) << name;
    EXPECT_EQ(tensor.offset(), legacy.at(name).offset()) << name;
  }
}

TEST(FixtureModels, DataParallelEqualsPlainAfterPrefixStripping) {
  const PyObject raw = load_torch_file(model("star_wflw_tiny_dataparallel.pth"));
  ASSERT_TRUE(raw.is(PyObject::Kind::kDict));
  for (const auto& [key, value] : raw.as_dict().items()) {
    ASSERT_TRUE(key.as_str().starts_with("module.")) << key.as_str();
  }
  expect_same_tensors(load_state_dict(model("star_wflw_tiny_dataparallel.pth")),
                      load_state_dict(model("star_wflw_tiny.pth")));
}

TEST(FixtureModels, TrainingCheckpointNetEqualsTinyAndNetEmaDiffers) {
  const std::string train = model("star_wflw_tiny_train.pth");
  const TensorMap tiny = load_state_dict(model("star_wflw_tiny.pth"));
  const TensorMap net = load_state_dict(train);
  const TensorMap ema = load_state_dict(train, {"net_ema"});
  expect_same_tensors(net, tiny);
  ASSERT_EQ(ema.size(), net.size());
  size_t differing = 0;
  for (const auto& [name, tensor] : net) {
    if (!bitwise_equal(tensor, ema.at(name))) ++differing;
  }
  EXPECT_GT(differing, 100u);
  // Buffers are shared between the two: only parameters were perturbed.
  EXPECT_TRUE(bitwise_equal(net.at("e2h_transform.weight"), ema.at("e2h_transform.weight")));
  EXPECT_FALSE(bitwise_equal(net.at("pre.0.conv.weight"), ema.at("pre.0.conv.weight")));
}

TEST(FixtureModels, TrainingCheckpointHoldsOptimizerSchedulerAndEpoch) {
  const PyObject root = load_torch_file(model("star_wflw_tiny_train.pth"));
  const PyDict& top = root.as_dict();
  std::set<std::string> keys;
  for (const auto& [key, value] : top.items()) keys.insert(key.as_str());
  EXPECT_EQ(keys, (std::set<std::string>{"net", "net_ema", "optimizer", "scheduler", "epoch"}));
  EXPECT_EQ(top.find("epoch")->as_int(), 37);

  const PyDict& optimizer = top.find("optimizer")->as_dict();
  const PyDict& state = optimizer.find("state")->as_dict();
  ASSERT_FALSE(state.empty());
  EXPECT_TRUE(state.items()[0].first.is(PyObject::Kind::kInt));
  const PyDict& slot = state.items()[0].second.as_dict();
  EXPECT_EQ(slot.find("step")->as_tensor().rank(), 0);
  const PyDict& group = optimizer.find("param_groups")->items()[0].as_dict();
  EXPECT_TRUE(group.find("betas")->is(PyObject::Kind::kTuple));
  EXPECT_TRUE(group.find("params")->is(PyObject::Kind::kList));

  // collections.Counter, rebuilt as a plain dict with int keys.
  const PyObject* milestones = top.find("scheduler")->as_dict().find("milestones");
  ASSERT_NE(milestones, nullptr);
  const PyDict& counts = milestones->as_dict();
  ASSERT_EQ(counts.size(), 3u);
  for (int64_t epoch : {200, 350, 450}) {
    EXPECT_EQ(counts.find(PyObject::from_int(epoch))->as_int(), 1) << epoch;
  }
}

TEST(FixtureModels, Fp16StateDictYieldsFloat16Tensors) {
  const TensorMap half = load_state_dict(model("star_wflw_tiny_state_dict_fp16.pth"));
  const TensorMap full = load_state_dict(model("star_wflw_tiny.pth"));
  ASSERT_EQ(half.size(), full.size());
  for (const auto& [name, tensor] : half) {
    const bool counter = name.ends_with("num_batches_tracked");
    EXPECT_EQ(tensor.dtype(), counter ? DType::kInt64 : DType::kFloat16) << name;
    if (counter) continue;
    // Each value is the float32 one rounded to half precision.
    const Tensor a = tensor.to_float32();
    const Tensor b = full.at(name).to_float32();
    for (int64_t i = 0; i < a.numel(); ++i) {
      const float x = a.data<float>()[i], y = b.data<float>()[i];
      ASSERT_LE(std::fabs(x - y), 4.9e-4f * std::fabs(y) + 6e-8f) << name << "[" << i << "]";
    }
  }
}

TEST(FixtureModels, SlimCheckpointLacksExactlyTheUnusedSkipLayers) {
  const TensorMap slim = load_state_dict(model("star_wflw_tiny_slim.pth"));
  const TensorMap full = load_state_dict(model("star_wflw_tiny.pth"));
  EXPECT_EQ(slim.size(), 1336u);
  size_t missing = 0;
  for (const auto& [name, tensor] : full) {
    auto it = slim.find(name);
    if (it == slim.end()) {
      EXPECT_NE(name.find(".skip_layer.conv."), std::string::npos) << name;
      ++missing;
    } else {
      EXPECT_TRUE(bitwise_equal(tensor, it->second)) << name;
    }
  }
  EXPECT_EQ(missing, 114u);
  EXPECT_EQ(slim.count("pre.1.skip_layer.conv.weight"), 1u);
}

// ---- RetinaFace: a real legacy checkpoint saved on Windows from CUDA ----

TEST(FixtureModels, RetinaFaceLegacyCudaCheckpoint) {
  const std::string path =
      (starface::testing::shared_dir() / "models" / "retinaface_mobilenet0.25.pth").string();
  const TensorMap tensors = load_state_dict(path);
  ASSERT_EQ(tensors.size(), 300u);
  size_t floats = 0, longs = 0;
  int64_t float_values = 0;
  std::set<const Storage*> storages;
  for (const auto& [name, tensor] : tensors) {
    EXPECT_FALSE(name.starts_with("module.")) << name;
    storages.insert(tensor.storage().get());
    if (tensor.dtype() == DType::kFloat32) {
      ++floats;
      float_values += tensor.numel();
    }
    if (tensor.dtype() == DType::kInt64) {
      ++longs;
      EXPECT_TRUE(name.ends_with("num_batches_tracked")) << name;
    }
  }
  EXPECT_EQ(floats, 253u);
  EXPECT_EQ(longs, 47u);
  EXPECT_EQ(float_values, 433296);
  EXPECT_EQ(storages.size(), 300u);  // no storage is shared
  EXPECT_EQ(tensors.at("body.stage1.0.0.weight").shape(), (Shape{8, 3, 3, 3}));
  EXPECT_EQ(tensors.at("body.stage1.0.1.running_var").shape(), (Shape{8}));
  EXPECT_EQ(tensors.at("ssh1.conv7x7_3.0.weight").shape(), (Shape{16, 16, 3, 3}));
  EXPECT_EQ(tensors.at("ClassHead.0.conv1x1.weight").shape(), (Shape{4, 64, 1, 1}));
  EXPECT_EQ(tensors.at("BboxHead.2.conv1x1.bias").shape(), (Shape{8}));
  EXPECT_EQ(tensors.at("LandmarkHead.1.conv1x1.weight").shape(), (Shape{20, 64, 1, 1}));
}

}  // namespace
}  // namespace starface::import
