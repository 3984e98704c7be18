// Lowerings of the ops that run on our own kernels (head_kernels.h).
#include "backends/onednn/head_kernels.h"
#include "backends/onednn/lowering.h"
#include "core/error.h"

namespace starface::backends::onednn {
namespace {

struct Readable {
  dnnl::memory mem;
  ChannelView view;
  bool own;  // the value's own memory, not a converted copy
};

// `v` in a layout the kernels read: as it is, or converted to nchw.
Readable readable(ProgramBuilder& b, ValueId v) {
  if (b.shape(v).size() != 4) {
    throw Error(ErrorCode::kShapeMismatch,
                "input must have rank 4, found " + shape_str(b.shape(v)));
  }
  if (auto view = channel_view(b.desc(v))) return {b.read(v), *view, true};
  const memory::desc plain = plain_desc(b.shape(v));
  return {b.read_as(v, plain), *channel_view(plain), false};
}

float* floats(const dnnl::memory& m) { return static_cast<float*>(m.get_data_handle()); }

}  // namespace

void lower_instance_norm(ProgramBuilder& b, const graph::Node& node) {
  const ValueId x = node.inputs[0];
  const Readable in = readable(b, x);
  const memory::desc d = in.mem.get_desc();
  // Each channel group is read in full before it is written, so in place is safe.
  const dnnl::memory out = in.own && b.can_overwrite(x) ? b.output_over(x, d) : b.output(d);
  const float eps = node.norm().eps;
  b.add([src = in.mem, out, view = in.view, eps] {
    instance_norm(view, floats(src), floats(out), eps);
  });
}

void lower_soft_argmax(ProgramBuilder& b, const graph::Node& node) {
  const Readable in = readable(b, node.inputs[0]);
  const dnnl::memory out = b.output(plain_desc(b.shape(node.output)));
  b.add([src = in.mem, out, view = in.view] { soft_argmax(view, floats(src), floats(out)); });
}

void lower_boundary_planes(ProgramBuilder& b, const graph::Node& node) {
  const Readable in = readable(b, node.inputs[0]);
  if (in.view.channels < 1) {
    throw Error(ErrorCode::kShapeMismatch,
                "guide " + shape_str(b.shape(node.inputs[0])) + " has no channels");
  }
  // The planes are concatenated to the activation next, so they take its layout.
  const Shape& shape = b.shape(node.output);
  memory::desc d = desc_like(in.mem.get_desc(), shape);
  if (!channel_view(d)) d = plain_desc(shape);
  const dnnl::memory out = b.output(d);
  const float threshold = node.boundary().threshold;
  b.add([src = in.mem, out, in_view = in.view, out_view = *channel_view(d), threshold] {
    boundary_planes(in_view, floats(src), threshold, out_view, floats(out));
  });
}

}  // namespace starface::backends::onednn
