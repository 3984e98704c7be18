#include "core/error.h"

namespace starface {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kNotACheckpoint:
      return "not_a_checkpoint";
    case ErrorCode::kTruncatedArchive:
      return "truncated_archive";
    case ErrorCode::kTruncatedLegacy:
      return "truncated_legacy";
    case ErrorCode::kUnsafePickle:
      return "unsafe_pickle";
    case ErrorCode::kMalformedPickle:
      return "malformed_pickle";
    case ErrorCode::kMissingKey:
      return "missing_key";
    case ErrorCode::kShapeMismatch:
      return "shape_mismatch";
    case ErrorCode::kUnexpectedKey:
      return "unexpected_key";
    case ErrorCode::kBadDtype:
      return "bad_dtype";
    case ErrorCode::kBadArgument:
      return "bad_argument";
    case ErrorCode::kBadInput:
      return "bad_input";
    case ErrorCode::kIo:
      return "io";
    case ErrorCode::kInternal:
      return "internal";
  }
  return "unknown";
}

void check_internal(bool condition, const std::string& message) {
  if (!condition) throw Error(ErrorCode::kInternal, "internal error: " + message);
}

void check_internal(bool condition, const char* message) {
  if (!condition) throw Error(ErrorCode::kInternal, std::string("internal error: ") + message);
}

}  // namespace starface
