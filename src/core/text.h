// Small text helpers: for the readers of list files and CSVs, and for messages.
#pragma once

#include <string>
#include <vector>

namespace starface {

// `s` without leading and trailing blanks (spaces, tabs, CR, LF).
inline std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

// The items separated by `separator`: "star, toy" for a message listing choices.
inline std::string join(const std::vector<std::string>& items, const std::string& separator) {
  std::string text;
  for (const std::string& item : items) text += (text.empty() ? "" : separator) + item;
  return text;
}

}  // namespace starface
