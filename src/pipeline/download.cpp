#include "pipeline/download.h"

#include <curl/curl.h>

#include <cstdio>
#include <mutex>

#include "core/error.h"
#include "pipeline/atomic_file.h"

namespace starface::pipeline {

namespace {

struct Transfer {
  std::FILE* file = nullptr;
  const DownloadProgress* progress = nullptr;
};

size_t write_chunk(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  return std::fwrite(data, size, count, t->file) * size;
}

int report_progress(void* user, curl_off_t total, curl_off_t done, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (*t->progress) (*t->progress)(static_cast<int64_t>(done), static_cast<int64_t>(total));
  return 0;
}

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Runs the transfer into `file`; returns an empty string or why it failed.
std::string fetch(const std::string& url, Transfer& transfer) {
  init_curl_once();
  CURL* curl = curl_easy_init();
  if (!curl) return "cannot start libcurl";
  char error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);  // Hugging Face redirects to its CDN
  curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
  // Give up on a stalled transfer (under 1 byte/s for 60 s), never on a slow but live one.
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "starface");
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_chunk);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, report_progress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &transfer);
  const CURLcode code = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  if (code == CURLE_OK) return "";
  if (code == CURLE_HTTP_RETURNED_ERROR) return "HTTP " + std::to_string(status);
  return error[0] ? error : curl_easy_strerror(code);
}

}  // namespace

void download_file(const std::string& url, const std::filesystem::path& destination,
                   const DownloadProgress& progress) {
  PendingOutput pending(destination);
  Transfer transfer;
  transfer.progress = &progress;
  transfer.file = std::fopen(pending.temp().c_str(), "wb");
  if (!transfer.file) {
    throw Error(ErrorCode::kIo,
                destination.string() + ": cannot write (folder missing or read-only?)");
  }
  const std::string failure = fetch(url, transfer);
  const bool closed = std::fclose(transfer.file) == 0;
  if (!failure.empty()) throw Error(ErrorCode::kIo, url + ": download failed (" + failure + ")");
  if (!closed) throw Error(ErrorCode::kIo, destination.string() + ": write failed (disk full?)");
  pending.commit();
}

}  // namespace starface::pipeline
