#include "backends/ref/checks.h"

#include "core/error.h"

namespace starface::backends::ref::detail {

Tensor float32_operand(const Tensor& t, const char* op, const char* what, int rank) {
  if (!t.defined()) {
    throw Error(ErrorCode::kBadArgument, std::string(op) + ": " + what + " is undefined");
  }
  if (t.dtype() != DType::kFloat32) {
    throw Error(ErrorCode::kBadDtype,
                std::string(op) + ": " + what + " must be float32, found " + dtype_name(t.dtype()));
  }
  if (rank >= 0 && t.rank() != rank) {
    shape_error(op, std::string(what) + " must have rank " + std::to_string(rank) + ", found " +
                        shape_str(t.shape()));
  }
  return t.contiguous();
}

void expect_shape(const Shape& got, const Shape& want, const char* op, const char* what) {
  if (got != want) {
    shape_error(op,
                std::string(what) + " expected " + shape_str(want) + ", found " + shape_str(got));
  }
}

void shape_error(const char* op, const std::string& message) {
  throw Error(ErrorCode::kShapeMismatch, std::string(op) + ": " + message);
}

}  // namespace starface::backends::ref::detail
