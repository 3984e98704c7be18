// Outputs that appear complete or not at all: everything is written under a hidden
// ".<stem>.partial<ext>" name beside the final path and renamed into place by commit(), so
// an interrupted run leaves only files that say they are partial. The extension stays last
// because OpenCV's video writer picks the container from it.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

namespace starface::pipeline {

// dir/clip.csv -> dir/.clip.partial.csv
std::filesystem::path partial_path(const std::filesystem::path& final_path);

// A file or folder being written at partial_path(final); removed unless committed.
class PendingOutput {
 public:
  explicit PendingOutput(std::filesystem::path final_path);
  ~PendingOutput();
  PendingOutput(const PendingOutput&) = delete;
  PendingOutput& operator=(const PendingOutput&) = delete;

  const std::filesystem::path& temp() const { return temp_; }
  const std::filesystem::path& final() const { return final_; }
  // Renames the temporary into place, replacing what was there (kIo naming the file).
  void commit();

 private:
  std::filesystem::path final_;
  std::filesystem::path temp_;
  bool committed_ = false;
};

// A text file written through a stream.
class AtomicTextFile {
 public:
  explicit AtomicTextFile(const std::filesystem::path& final_path);  // kIo if it cannot open
  std::ostream& stream() { return out_; }
  void commit();  // flush, check, close, rename

 private:
  PendingOutput pending_;
  std::ofstream out_;
};

// Creates the output folder when needed and proves it writable with a probe file, so a bad
// -o fails before any work (kIo naming the folder).
void prepare_output_dir(const std::filesystem::path& dir);

}  // namespace starface::pipeline
