// What int8 calibration decided for a network's convolutions (--precision int8): the
// scale of each int8 conv's input and, for the convs that stay float32, why. Keyed by conv
// node name in the optimized graph; a model file made by `starface convert --precision
// int8` carries it in its metadata. Also the rules every int8 user must share: which convs
// may run in int8, whether a conv's input is signed, and how weights are scaled.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace starface::graph {

// What calibration measured on one conv's input and what it chose (for reports; the
// backend needs only the scale).
struct Int8Layer {
  bool is_signed = false;    // int8_input_signed: int8 q in -127..127, else uint8 0..255
  float min = 0, max = 0;    // the input's range on the calibration crops
  float clip = 0;            // the range kept: [0, clip], or [-clip, clip] when signed
  double input_sqnr_db = 0;  // input power over its rounding + clipping error power
  double sqnr_db = 0;        // estimated at the conv's output, weights' rounding included
  double bias_shift = 0;     // RMS of the bias correction over the RMS of the conv's output

  // clip over the largest magnitude seen: 1 keeps every value, below 1 clips outliers.
  double clip_ratio() const;
};

struct Int8Calibration {
  // x ~ scale * q: q in 0..255 for an unsigned input (scale = clip / 255), in -127..127
  // for a signed one (scale = clip / 127).
  std::map<std::string, float> input_scales;
  std::map<std::string, std::string> fp32_layers;
  int crops = 0;  // calibration crops the statistics came from
  // How the ranges were chosen: "max" (the largest value: files made before clipping was
  // chosen) or "mse" (the clip with the least quantization error on the crops' histogram).
  std::string clipping = "max";
  std::map<std::string, Int8Layer> layers;  // every int8 candidate, when calibrated ("mse")
  // Per int8 conv, what to add to its bias [Co]: minus the mean error of its int8 output
  // per channel on the calibration crops. Applied to the graph by apply_bias_corrections
  // before the model file is written, so a file's biases already hold it; not stored.
  std::map<std::string, std::vector<float>> bias_corrections;
};

// Convs the int8 path takes: dense, a computed input, constant weights (any epilogue).
bool int8_candidate(const Graph& graph, const Node& node);

// Whether a value may be negative, as far as the graph tells: false for a ReLU's output, a
// sigmoid's, and max-pools, upsamplings, sums, products and concatenations of such; true
// for the network input, a conv without ReLU, a norm, boundary planes. Calibration and the
// backend both ask it, so a file's unsigned scales never meet a signed input.
bool may_be_negative(const Graph& graph, ValueId value);
// int8: a conv whose input may be negative quantizes it to int8 (symmetric), else uint8.
bool int8_input_signed(const Graph& graph, const Node& conv);
// The number of levels above zero: 127 for a signed input, 255 for an unsigned one.
int int8_input_levels(bool is_signed);

// Per output channel o of weights [Co, ...]: max |w[o]| / 127 (1 for an all-zero channel),
// so q = round(w / scale) spans -127..127. The backend and the model file's int8 storage
// both use it, so stored weights quantize again to the same q.
std::vector<float> int8_weight_scales(const Tensor& weights);
// The weights as the int8 conv sees them: scale[o] * round(w / scale[o]).
Tensor int8_rounded_weights(const Tensor& weights);

// Adds each conv's bias correction to its bias (a new tensor: constants may share storage
// with another graph). kInternal for a correction that names no conv or has the wrong size.
void apply_bias_corrections(Graph& graph, const Int8Calibration& calibration);

}  // namespace starface::graph
