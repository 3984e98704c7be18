// HTTP(S) download of one file (libcurl) into a hidden partial file, renamed into place when
// complete: an interrupted download never leaves a model file that looks whole.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace starface::pipeline {

// Bytes so far and in total (0 when the server does not say).
using DownloadProgress = std::function<void(int64_t done, int64_t total)>;

// kIo naming the URL and the cause: HTTP status (404, ...), connection refused, timeout, or
// a destination that cannot be written.
void download_file(const std::string& url, const std::filesystem::path& destination,
                   const DownloadProgress& progress = {});

}  // namespace starface::pipeline
