// Input-controlled text (keys, record names, globals) made safe for an error message.
// Internal to the loader.
#pragma once

#include <string>
#include <string_view>

namespace starface::import {

// Control and non-ASCII bytes become '?', so no terminal escape sequence from a hostile file
// reaches a user's screen or log; at most 120 characters, then "...".
inline std::string printable(std::string_view text) {
  constexpr size_t kMaxShown = 120;
  std::string out;
  for (char c : text.substr(0, kMaxShown)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (text.size() > kMaxShown) out += "...";
  return out;
}

}  // namespace starface::import
