#include "backends/onednn/lowering.h"

#include "backends/onednn/onednn_backend.h"
#include "core/error.h"

namespace starface::backends::onednn {

void expect_shape(const Shape& got, const Shape& want, const std::string& what) {
  if (got != want) {
    throw Error(ErrorCode::kShapeMismatch,
                what + " expected " + shape_str(want) + ", found " + shape_str(got));
  }
}

bool supports_op(graph::OpKind op) {
  switch (op) {
    case graph::OpKind::kConv2d:
    case graph::OpKind::kBatchNorm:
    case graph::OpKind::kScaleShift:
    case graph::OpKind::kRelu:
    case graph::OpKind::kLeakyRelu:
    case graph::OpKind::kSigmoid:
    case graph::OpKind::kAdd:
    case graph::OpKind::kMul:
    case graph::OpKind::kMaxPool2x2:
    case graph::OpKind::kUpsample2x:
    case graph::OpKind::kUpsampleNearest:
    case graph::OpKind::kConcat:
    case graph::OpKind::kBoundaryPlanes:
    case graph::OpKind::kInstanceNorm:
    case graph::OpKind::kSoftArgmax:
      return true;
  }
  return false;
}

void lower_node(ProgramBuilder& b, const graph::Node& node) {
  switch (node.op) {
    case graph::OpKind::kConv2d:
      return lower_conv(b, node);
    case graph::OpKind::kBatchNorm:
      return lower_batch_norm(b, node);
    case graph::OpKind::kScaleShift:
      return lower_scale_shift(b, node);
    case graph::OpKind::kRelu:
    case graph::OpKind::kLeakyRelu:
    case graph::OpKind::kSigmoid:
      return lower_eltwise(b, node);
    case graph::OpKind::kAdd:
    case graph::OpKind::kMul:
      return lower_binary(b, node);
    case graph::OpKind::kMaxPool2x2:
      return lower_max_pool(b, node);
    case graph::OpKind::kUpsample2x:
      return lower_upsample(b, node);
    case graph::OpKind::kUpsampleNearest:
      return lower_upsample_nearest(b, node);
    case graph::OpKind::kConcat:
      return lower_concat(b, node);
    case graph::OpKind::kBoundaryPlanes:
      return lower_boundary_planes(b, node);
    case graph::OpKind::kInstanceNorm:
      return lower_instance_norm(b, node);
    case graph::OpKind::kSoftArgmax:
      return lower_soft_argmax(b, node);
  }
  throw Error(ErrorCode::kInternal, "unknown op");
}

}  // namespace starface::backends::onednn
