// Errors users can act on: one type, a code for tests and exit status, and a message that
// names the file, key, shape or argument at fault.
#pragma once

#include <stdexcept>
#include <string>

namespace starface {

enum class ErrorCode {
  kNotACheckpoint,    // not a zip, not a pickle, empty, unknown format; a safetensors header
                      // or starface model metadata that breaks the format
  kTruncatedArchive,  // zip or safetensors container cut short or inconsistent
  kTruncatedLegacy,   // legacy torch file whose storage section ends early
  kUnsafePickle,      // a pickle global or opcode outside the allow-list
  kMalformedPickle,   // a pickle that breaks its own rules (stack underflow, bad memo, ...)
  kMissingKey,        // a tensor the network needs is absent
  kShapeMismatch,     // a tensor or input has the wrong shape
  kUnexpectedKey,     // a key the network does not know
  kBadDtype,          // a tensor of a dtype that cannot be used there
  kBadArgument,       // a command-line flag or API argument is invalid
  kBadInput,          // an input file (image, .npy, box) is unusable
  kIo,                // a file cannot be opened, read or written
  kInternal,          // a bug: starface broke its own invariant
};

// The stable snake_case name of a code ("unsafe_pickle", ...), as the fixtures spell it.
const char* error_code_name(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

// Throws kInternal with `message` unless `condition` holds: for invariants, not user input.
void check_internal(bool condition, const std::string& message);
// The same for a literal message: builds no string unless the check fails (hot paths).
void check_internal(bool condition, const char* message);

}  // namespace starface
