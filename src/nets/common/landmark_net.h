// LandmarkNet: what the engine and the front ends know of a landmark network, so that
// Engine, the CLI, Python, the pipeline and the model file work with any registered net
// (nets/registry.h) and STAR is one implementation (nets/star/landmark_net.h).
//
// A net's contract with the rest of the tree:
//   - its graph reads one input "input" [N, 3, S, S] (a face crop, BGR, values in [-1, 1])
//     and publishes "landmarks" [N, P, 2], x then y, in the net's own coordinates;
//   - its crop convention turns a face box into the image -> crop matrix, and its output
//     coordinates into crop pixels (crop_to_image does the rest);
//   - a configuration it stores in model files as JSON and reads back.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "graph/graph.h"
#include "nets/common/face_geometry.h"

namespace starface::nets {

class LandmarkNet;

// One loaded configuration of a net: what front ends size their outputs and crops by.
struct NetInfo {
  const LandmarkNet* net = nullptr;  // the registered kind; lives as long as the program
  std::string layout;                // "WFLW" (98 points), "300W" (68), "COFW" (29), "custom"
  int points = 0;                    // P
  int input_size = 0;                // S: the side of the square crop
  std::string heatmaps;              // the output holding the final landmarks' heat maps, or ""
  // The configuration as reports print it, in order: {"stacks", "4"}, ...
  std::vector<std::pair<std::string, std::string>> details;
  std::string config;  // the JSON a model file stores (LandmarkNet::read_config reads it)

  std::string name() const;  // the net's registered name
  // `heatmaps`, or kBadArgument naming the net when it publishes none.
  const std::string& heatmaps_output() const;
  // The image -> crop matrix of a box already truncated and checked (truncate_and_check).
  CropMatrix crop_matrix(const Box& truncated) const;
  // landmarks: P points, x and y interleaved, as "landmarks" holds them -> image pixels.
  std::vector<Point> to_image(const float* landmarks, const CropMatrix& matrix) const;
};

// The layout word of a point count (WFLW 98, 300W 68, COFW 29, else "custom").
std::string layout_of(int points);

struct ParamCount {
  int64_t stored = 0;  // learnable weights, biases, norm scales and shifts in the file
  int64_t used = 0;    // of those, the ones the graph executes
};

struct ParamReport {
  ParamCount total;
  int64_t buffers = 0;  // running statistics and fixed matrices
  std::vector<std::pair<std::string, ParamCount>> by_stage;  // in network order
};

// A network read from a checkpoint's state dict.
struct BuiltNet {
  graph::Graph graph;  // as built, before the passes
  NetInfo info;
  ParamReport params;
};

class LandmarkNet {
 public:
  virtual ~LandmarkNet() = default;

  // The registered name, stored in model files: "star".
  virtual std::string name() const = 0;
  // Whether the state dict carries this net's signature keys (build() checks every key).
  virtual bool recognises(const TensorMap& state_dict) const = 0;
  // Reads the configuration off the state dict and builds the graph; errors name the key.
  virtual BuiltNet build(const TensorMap& state_dict) const = 0;
  // The info of a configuration a model file stored (NetInfo::config); kNotACheckpoint
  // naming `path` when it is not one of this net's.
  virtual NetInfo read_config(const std::string& config_json, const std::string& path) const = 0;
  // The counts of a stored (optimized) graph, where the checkpoint is not at hand.
  virtual ParamReport count_graph_parameters(const graph::Graph& graph) const = 0;

  // The crop convention (see NetInfo).
  virtual CropMatrix crop_matrix(const Box& truncated, const NetInfo& info) const = 0;
  // One output coordinate pair -> crop pixels.
  virtual Point to_crop_pixels(float x, float y, const NetInfo& info) const = 0;
};

}  // namespace starface::nets
