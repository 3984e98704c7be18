// A second landmark net, written here in the test, runs through the engine, the model file,
// the crop -> infer -> map-back path and the per-frame pipeline without a line of them
// changed: a net is its own LandmarkNet plus one registration (nets/registry.h).
//
// The toy net reads a 32x32 crop whose box side maps onto the crop, runs one 1x1 conv to two
// maps and decodes them by soft-argmax: point 0's map is constant (bias 1, no weight), so it
// lands on the crop centre; point 1's map is 1 + blue, zero on black and 2 on white, so it
// lands on the centroid of the white patch. Both are known in image pixels beforehand.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "engine/engine.h"
#include "import/expect_error.h"
#include "import/safetensors.h"
#include "nets/common/model_file.h"
#include "nets/registry.h"
#include "pipeline/face_pipeline.h"
#include "support/fixtures.h"
#include "vision/face_landmarks.h"

namespace starface {
namespace {

using testing::temp_dir;
using testing::throws_error;

constexpr int kSide = 32;  // the toy's crop side

class ToyNet final : public nets::LandmarkNet {
 public:
  std::string name() const override { return "toy"; }

  bool recognises(const TensorMap& sd) const override { return sd.count("toy.head.weight") > 0; }

  nets::BuiltNet build(const TensorMap& sd) const override {
    const Tensor& weight = sd.at("toy.head.weight");  // [P, 3, 1, 1]
    nets::BuiltNet built;
    graph::Graph& g = built.graph;
    const graph::ValueId x = g.add_input("input", {1, 3, kSide, kSide});
    const graph::ValueId w = g.add_constant("toy.head.weight", weight.to_float32());
    const graph::ValueId b = g.add_constant("toy.head.bias", sd.at("toy.head.bias").to_float32());
    const graph::ValueId maps = g.add_node(graph::OpKind::kConv2d, "toy.head", "head", {x, w, b});
    const graph::ValueId points =
        g.add_node(graph::OpKind::kSoftArgmax, "toy.decode", "head", {maps});
    g.mark_output("landmarks", points);
    g.mark_output("maps", maps);
    built.info = info_for(static_cast<int>(weight.dim(0)));
    built.params = count_graph_parameters(g);
    return built;
  }

  nets::NetInfo read_config(const std::string& config, const std::string& path) const override {
    const auto j = nlohmann::json::parse(config, nullptr, false);
    if (!j.is_object() || !j.contains("points") || !j["points"].is_number_integer()) {
      throw Error(ErrorCode::kNotACheckpoint, path + ": not a toy config");
    }
    return info_for(j["points"].get<int>());
  }

  nets::ParamReport count_graph_parameters(const graph::Graph& g) const override {
    nets::ParamReport report;
    for (const graph::Value& v : g.values()) {
      if (v.is_constant()) report.total.stored += v.constant.numel();
    }
    report.total.used = report.total.stored;
    report.by_stage = {{"head", report.total}};
    return report;
  }

  // The box's width spans the crop; its centre is the crop's centre.
  CropMatrix crop_matrix(const Box& b, const nets::NetInfo&) const override {
    const double s = kSide / (b.x2 - b.x1);
    const double centre = (kSide - 1) / 2.0;
    return CropMatrix{static_cast<float>(s),
                      0,
                      static_cast<float>(centre - s * (b.x1 + b.x2) / 2),
                      0,
                      static_cast<float>(s),
                      static_cast<float>(centre - s * (b.y1 + b.y2) / 2),
                      0,
                      0,
                      1};
  }

  // Soft-argmax's grid: -1 and +1 are the centres of the end cells.
  Point to_crop_pixels(float x, float y, const nets::NetInfo&) const override {
    return Point{(x + 1.0) * (kSide - 1) / 2.0, (y + 1.0) * (kSide - 1) / 2.0};
  }

 private:
  nets::NetInfo info_for(int points) const {
    nets::NetInfo info;
    info.net = this;
    info.layout = nets::layout_of(points);
    info.points = points;
    info.input_size = kSide;
    info.heatmaps = "maps";
    info.details = {{"head", "1x1 conv"}};
    info.config = nlohmann::json{{"points", points}}.dump();
    return info;
  }
};

const ToyNet& toy_net() {
  static const ToyNet net;
  static const bool registered = (nets::register_landmark_net(net), true);
  (void)registered;
  return net;
}

// The toy's weights as safetensors.torch.save_file would write them.
std::string write_toy_state_dict(const std::filesystem::path& dir) {
  Tensor weight(DType::kFloat32, {2, 3, 1, 1});
  Tensor bias(DType::kFloat32, {2});
  float* w = weight.data<float>();
  for (int i = 0; i < 6; ++i) w[i] = 0.0f;
  w[3] = 1.0f;  // point 1 reads the blue channel
  bias.data<float>()[0] = 1.0f;
  bias.data<float>()[1] = 1.0f;
  const std::string path = (dir / "toy.safetensors").string();
  import::write_safetensors(path, {{"toy.head.weight", weight}, { "toy.head.bias", bias }}, {});
  return path;
}

// 64x64 black, a white 16x16 patch at [8, 24) in x and [16, 32) in y.
cv::Mat test_image() {
  cv::Mat image(64, 64, CV_8UC3, cv::Scalar(0, 0, 0));
  image(cv::Rect(8, 16, 16, 16)).setTo(cv::Scalar(255, 255, 255));
  return image;
}

// The box [0, 0, 32, 48]: the toy's crop spans x 0..32 at scale 1, centred on (16, 24).
const Box kBox{0, 0, 32, 48};

void expect_toy_points(const std::vector<Point>& points) {
  ASSERT_EQ(points.size(), 2u);
  // Point 0: the crop centre, which is the box centre. The soft-argmax runs in float32 on
  // values near 1, a few ulps of the 31-pixel crop: far below 1e-3 px.
  EXPECT_NEAR(points[0].x, 16.0, 1e-3);
  EXPECT_NEAR(points[0].y, 24.0, 1e-3);
  // Point 1: the patch's centroid, the mean of its pixel centres 8..23 and 16..31 (the
  // crop samples half a pixel off the image's grid: the half-white edge cells of the
  // bilinear warp weigh the same on both sides).
  EXPECT_NEAR(points[1].x, 15.5, 1e-3);
  EXPECT_NEAR(points[1].y, 23.5, 1e-3);
}

TEST(SecondNet, RunsThroughTheEngineAndTheCropPath) {
  toy_net();
  const std::string path = write_toy_state_dict(temp_dir("second_net"));
  const auto engine = Engine::load(path);
  EXPECT_EQ(engine->net().name(), "toy");
  EXPECT_EQ(engine->net().points, 2);
  const auto faces = vision::detect_landmarks(*engine, test_image(), {kBox});
  ASSERT_EQ(faces.size(), 1u);
  expect_toy_points(faces[0].points);
}

TEST(SecondNet, ConvertsToAModelFileThatLoadsAsTheSameNet) {
  toy_net();
  const auto dir = temp_dir("second_net_file");
  const std::string model = (dir / "toy_model.safetensors").string();
  const ConvertReport report = convert_model(write_toy_state_dict(dir), model);
  EXPECT_EQ(report.net.name(), "toy");
  EXPECT_EQ(nets::read_model_file(model).net, "toy");
  const auto engine = Engine::load(model);
  EXPECT_TRUE(engine->source().model_file);
  EXPECT_EQ(engine->net().name(), "toy");
  EXPECT_EQ(engine->params().total.stored, 8);
  expect_toy_points(vision::detect_landmarks(*engine, test_image(), {kBox})[0].points);
}

TEST(SecondNet, DrivesThePerFramePipeline) {
  toy_net();
  const auto engine = Engine::load(write_toy_state_dict(temp_dir("second_net_pipeline")));
  pipeline::FaceModels models{
      [](const cv::Mat&) {
        return std::vector<retinaface::Detection>{{0, 0, 32, 48, 0.99f, {}}};  // kBox
      },
      [&](const Tensor& crops) { return engine->landmarks(crops); }, engine->net()};
  pipeline::StageProfile profile;
  pipeline::FacePipeline faces(models, pipeline::TrackOptions{}, profile);
  vision::Frame frame;
  frame.image = test_image();
  const pipeline::FrameResult result = faces.process(frame);
  ASSERT_EQ(result.faces.size(), 1u);
  expect_toy_points(result.faces[0].points);
}

TEST(SecondNet, AModelFileOfAnUnknownNetIsRefusedByName) {
  toy_net();
  const auto dir = temp_dir("second_net_unknown");
  const std::string model = (dir / "toy_model.safetensors").string();
  convert_model(write_toy_state_dict(dir), model);
  import::SafetensorsFile raw = import::read_safetensors(model);
  raw.metadata["net"] = "nonesuch";
  const std::string renamed = (dir / "nonesuch.safetensors").string();
  import::write_safetensors(renamed, raw.tensors, raw.metadata);
  EXPECT_TRUE(throws_error([&] { Engine::load(renamed); }, ErrorCode::kNotACheckpoint,
                           {renamed, "'nonesuch'", "star", "toy"}));
  EXPECT_TRUE(throws_error([&] { nets::register_landmark_net(toy_net()); }, ErrorCode::kBadArgument,
                           {"'toy'", "registered already"}));
}

}  // namespace
}  // namespace starface
