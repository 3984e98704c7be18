// Operand checks shared by the reference kernels (internal to this folder).
#pragma once

#include <string>

#include "core/tensor.h"

namespace starface::backends::ref::detail {

// `t` as a contiguous float32 tensor; throws kBadDtype / kShapeMismatch naming `op` and
// `what` unless it is a defined float32 tensor (of rank `rank` when rank >= 0).
Tensor float32_operand(const Tensor& t, const char* op, const char* what, int rank = -1);

// Throws kShapeMismatch "op: what expected <want>, found <got>" unless the shapes agree.
void expect_shape(const Shape& got, const Shape& want, const char* op, const char* what);

// Throws kShapeMismatch with "op: message".
[[noreturn]] void shape_error(const char* op, const std::string& message);

}  // namespace starface::backends::ref::detail
