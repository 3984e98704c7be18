// Checks that code throws starface::Error with a given code and message fragments.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/error.h"

namespace starface::testing {

// Runs `body`; passes when it throws an Error of `code` whose message holds every fragment.
template <typename Body>
::testing::AssertionResult throws_error(Body&& body, ErrorCode code,
                                        const std::vector<std::string>& fragments = {}) {
  try {
    body();
  } catch (const Error& e) {
    if (e.code() != code) {
      return ::testing::AssertionFailure()
             << "error code " << error_code_name(e.code()) << " instead of "
             << error_code_name(code) << ": " << e.what();
    }
    for (const std::string& fragment : fragments) {
      if (std::string(e.what()).find(fragment) == std::string::npos) {
        return ::testing::AssertionFailure() << "message lacks '" << fragment << "': " << e.what();
      }
    }
    return ::testing::AssertionSuccess() << e.what();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "not a starface::Error: " << e.what();
  }
  return ::testing::AssertionFailure() << "no error thrown, expected " << error_code_name(code);
}

}  // namespace starface::testing
