#include "backends/op_table.h"

namespace starface::testing {

using graph::OpKind;
using graph::ValueId;

ValueId batch_norm(Net& n, ValueId in) {
  const int64_t c = n.shape(in)[1];
  return n.op(OpKind::kBatchNorm, {in, n.constant({c}, 0.5f, 1.5f), n.constant({c}),
                                   n.constant({c}, -1.0f, 1.0f), n.constant({c}, 0.2f, 2.0f)});
}

ValueId scale_shift(Net& n, ValueId in, bool relu) {
  const int64_t c = n.shape(in)[1];
  graph::ScaleShiftAttrs a;
  a.relu = relu;
  return n.op(OpKind::kScaleShift, {in, n.constant({c}, -2.0f, 2.0f), n.constant({c})}, a);
}

const std::vector<OpCase>& op_cases() {
  static const std::vector<OpCase> cases = {
      {"BatchNorm", {1, 20, 9, 7}, batch_norm},
      {"ScaleShift", {1, 20, 9, 7}, [](Net& n, ValueId in) { return scale_shift(n, in, false); }},
      {"ScaleShiftRelu",
       {1, 33, 8, 8},
       [](Net& n, ValueId in) { return scale_shift(n, in, true); }},
      {"Relu", {1, 17, 6, 10}, [](Net& n, ValueId in) { return n.op(OpKind::kRelu, {in}); }},
      {"Sigmoid", {1, 98, 8, 8}, [](Net& n, ValueId in) { return n.op(OpKind::kSigmoid, {in}); }},
      {"Add",
       {1, 24, 8, 8},
       [](Net& n, ValueId in) {
         return n.op(OpKind::kAdd, {in, n.op(OpKind::kRelu, {in})});
       }},
      {"Mul",
       {1, 9, 12, 12},
       [](Net& n, ValueId in) {
         return n.op(OpKind::kMul, {n.op(OpKind::kSigmoid, {in}), in});
       }},
      {"MaxPoolEven",
       {1, 32, 16, 16},
       [](Net& n, ValueId in) { return n.op(OpKind::kMaxPool2x2, {in}); }},
      {"MaxPoolOdd",
       {1, 5, 15, 13},
       [](Net& n, ValueId in) { return n.op(OpKind::kMaxPool2x2, {in}); }},
      {"Upsample",
       {1, 19, 5, 7},
       [](Net& n, ValueId in) { return n.op(OpKind::kUpsample2x, {in}); }},
      {"ConcatWithBroadcastConstant",
       {1, 16, 8, 8},
       [](Net& n, ValueId in) {
         return n.op(OpKind::kConcat, {in, n.constant({1, 3, 8, 8}), n.op(OpKind::kRelu, {in})});
       }},
      {"ConcatUnaligned",
       {1, 13, 6, 6},
       [](Net& n, ValueId in) {
         return n.op(OpKind::kConcat, {n.constant({1, 2, 6, 6}), in, n.op(OpKind::kSigmoid, {in})});
       }},
      {"BoundaryPlanes",
       {1, 9, 16, 16},
       [](Net& n, ValueId in) {
         return n.op(OpKind::kBoundaryPlanes, {in}, graph::BoundaryAttrs(0.05f));
       }},
      {"BoundaryPlanesConcat",
       {1, 20, 16, 16},
       [](Net& n, ValueId in) {
         return n.op(OpKind::kConcat,
                     {in, n.op(OpKind::kBoundaryPlanes, {in}, graph::BoundaryAttrs(0.05f))});
       }},
      {"InstanceNorm",
       {1, 98, 16, 16},
       [](Net& n, ValueId in) { return n.op(OpKind::kInstanceNorm, {in}); }},
      {"InstanceNormOddChannels",
       {1, 5, 7, 9},
       [](Net& n, ValueId in) { return n.op(OpKind::kInstanceNorm, {in}); }},
      {"SoftArgmax",
       {1, 98, 16, 16},
       [](Net& n, ValueId in) { return n.op(OpKind::kSoftArgmax, {n.op(OpKind::kRelu, {in})}); }},
      {"SoftArgmaxSmall",
       {1, 3, 5, 4},
       [](Net& n, ValueId in) {
         return n.op(OpKind::kSoftArgmax, {n.op(OpKind::kSigmoid, {in})});
       }},
      {"Conv3x3", {1, 12, 11, 13}, [](Net& n, ValueId in) { return n.conv(in, 20, 3, 1, 1); }},
      {"Conv7x7Stride2Relu",
       {1, 3, 20, 21},
       [](Net& n, ValueId in) { return n.conv(in, 16, 7, 2, 3, true); }},
      {"Conv1x1BiasMapResidualRelu",
       {1, 9, 8, 8},
       [](Net& n, ValueId in) {
         return n.conv(in, 9, 1, 1, 0, true, n.constant({1, 9, 8, 8}, -2.0f, 2.0f),
                       n.op(OpKind::kSigmoid, {in}));
       }},
      {"ConvDepthwiseLeaky",
       {1, 16, 11, 9},
       [](Net& n, ValueId in) {
         graph::ConvAttrs a;
         a.kernel = 3, a.stride = 2, a.pad = 1, a.groups = 16, a.relu = true, a.slope = 0.1f;
         return n.op(OpKind::kConv2d,
                     {in, n.constant({16, 1, 3, 3}, -0.5f, 0.5f), n.constant({16})}, a);
       }},
      {"LeakyRelu",
       {1, 20, 7, 9},
       [](Net& n, ValueId in) {
         return n.op(OpKind::kLeakyRelu, {in}, graph::LeakyReluAttrs(0.1f));
       }},
      {"UpsampleNearestOdd",
       {1, 6, 23, 40},
       [](Net& n, ValueId in) {
         return n.op(OpKind::kUpsampleNearest, {in, n.constant({1, 1, 45, 80})});
       }},
  };
  return cases;
}

}  // namespace starface::testing
