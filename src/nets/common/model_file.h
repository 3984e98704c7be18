// The optimized model file that `starface convert` writes, for any landmark net: a
// safetensors file whose tensors are the constants of the folded and fused graph and whose
// "__metadata__" holds
//   format          "starface.star" (the name files had before a second net could exist;
//                   it names the starface model format, whatever the net)
//   format_version  "1"
//   net             the registered net (LandmarkNet::name); absent in files made before
//                   nets were registered, which are all "star"
//   graph           the graph JSON (graph/serialize.h)
//   config          the net's configuration as JSON (NetInfo::config)
//   precision       how the constants are stored: "fp32", or "fp16" (large constants as
//                   float16, widened to float32 at load; compute stays float32), or "int8"
//                   (the weights of the int8 convs as int8 q beside "<name>.int8_scale"
//                   [Co], w = scale[o] * q, widened at load; the rest float32)
//   int8            precision "int8" only: the calibration (graph/int8.h) as JSON
//                   {"input_scales": {conv: scale}, "fp32_layers": {conv: why}, "crops": n,
//                   "clipping": "mse", "layers": {conv: {"signed", "min", "max", "clip",
//                   "input_sqnr_db", "sqnr_db", "bias_shift"}}} (clipping and layers since
//                   MSE clipping; older files read as clipping "max"). The int8 convs'
//                   biases in the graph hold their bias correction (graph/int8.h)
//   precisions      the arithmetic each conv runs in by default (graph/precision.h) as JSON
//                   {"others": "fp32", "convs": {conv: "int8" | "bf16" | ...}}; absent: all
//                   fp32, or for an older int8 file every conv with an input scale in int8
//   precision_search  how `convert --precision auto` chose the per-conv precisions, as
//                   JSON: the budget, the crop split, the drift measured on the held-out
//                   crops, the convs raised above int8, the predicted conv time; absent
//                   for other files
//   source          the checkpoint's file name     weights  "net" or "net_ema"
// Loading it skips the unpickler, the config detection, the builder and the passes.
#pragma once

#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/int8.h"
#include "graph/precision.h"
#include "nets/common/landmark_net.h"

namespace starface::nets {

constexpr const char* kModelFileFormat = "starface.star";
constexpr int kModelFileVersion = 1;

// How a model file may store its constants: "fp32" first (exact), then "fp16", "int8".
std::vector<std::string> storage_precisions();

struct ModelFileInfo {
  std::string precision = "fp32";  // see storage_precisions()
  std::string source;              // the checkpoint's file name, without its folder
  std::string weights = "net";     // the checkpoint entry converted
  graph::Int8Calibration int8;     // precision "int8"
  // What each conv runs in unless the user asks otherwise; its int8_input_scales are those
  // of `int8` (stored once, there).
  graph::ConvPrecisions precisions;
  std::string precision_search;  // JSON object, or "" (see above)
};

struct ModelFile {
  std::string net = "star";  // the registered net that reads `config`
  std::string config;        // its configuration JSON
  graph::Graph graph;        // as stored: already optimized
  ModelFileInfo info;
};

// Constants of at least this many elements are stored as float16 in an "fp16" file;
// biases and per-channel scales stay float32, where they cost nothing.
constexpr int64_t kFloat16MinElements = 1024;

// Writes `graph` (already optimized, keeping every output) of the net `net` describes with
// its metadata, atomically. Throws kBadArgument for an unknown precision and kIo when
// `path` cannot be written.
void write_model_file(const std::string& path, const graph::Graph& graph, const NetInfo& net,
                      const ModelFileInfo& info);

// Reads a model file. Besides the safetensors reader's errors: kNotACheckpoint naming the
// file for a safetensors file without starface metadata (a foreign one), an unsupported
// format version, or a corrupt graph; kMissingKey / kUnexpectedKey / kShapeMismatch where
// the tensors and the graph disagree. The config is the net's to read (read_config), and
// then check_stored_graph.
ModelFile read_model_file(const std::string& path);

// kNotACheckpoint naming `path` unless the stored graph reads [1, 3, S, S] and publishes
// "landmarks" [1, P, 2] of the configuration `info` describes.
void check_stored_graph(const graph::Graph& graph, const NetInfo& info, const std::string& path);

}  // namespace starface::nets
