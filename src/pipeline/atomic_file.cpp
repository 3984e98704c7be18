#include "pipeline/atomic_file.h"

#include <unistd.h>

#include "core/error.h"

namespace starface::pipeline {

namespace fs = std::filesystem;

fs::path partial_path(const fs::path& final_path) {
  const fs::path name = final_path.filename();
  return final_path.parent_path() /
         ("." + name.stem().string() + ".partial" + name.extension().string());
}

PendingOutput::PendingOutput(fs::path final_path)
    : final_(std::move(final_path)), temp_(partial_path(final_)) {
  std::error_code ec;
  fs::remove_all(temp_, ec);  // a leftover of an interrupted run
}

PendingOutput::~PendingOutput() {
  if (committed_) return;
  std::error_code ec;
  fs::remove_all(temp_, ec);
}

void PendingOutput::commit() {
  std::error_code ec;
  // rename() replaces a file but not a non-empty folder (annotated image sequences).
  if (fs::is_directory(final_, ec)) fs::remove_all(final_, ec);
  fs::rename(temp_, final_, ec);
  if (ec) throw Error(ErrorCode::kIo, final_.string() + ": cannot write (" + ec.message() + ")");
  committed_ = true;
}

AtomicTextFile::AtomicTextFile(const fs::path& final_path) : pending_(final_path) {
  out_.open(pending_.temp(), std::ios::binary | std::ios::trunc);
  if (!out_) throw Error(ErrorCode::kIo, pending_.temp().string() + ": cannot create");
}

void AtomicTextFile::commit() {
  out_.flush();
  const bool ok = static_cast<bool>(out_);
  out_.close();
  if (!ok || out_.fail()) {
    throw Error(ErrorCode::kIo, pending_.final().string() + ": write failed (disk full?)");
  }
  pending_.commit();
}

void prepare_output_dir(const fs::path& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) {
    throw Error(ErrorCode::kIo, "-o " + dir.string() + ": exists and is not a folder");
  }
  fs::create_directories(dir, ec);
  if (ec) {
    throw Error(ErrorCode::kIo,
                "-o " + dir.string() + ": cannot create the output folder (" + ec.message() + ")");
  }
  const fs::path probe = dir / (".starface-write-probe-" + std::to_string(::getpid()));
  {
    std::ofstream out(probe);
    out << "probe";
    out.close();
    if (!out) {
      fs::remove(probe, ec);
      throw Error(ErrorCode::kIo, "-o " + dir.string() + ": output folder is not writable");
    }
  }
  fs::remove(probe, ec);
}

}  // namespace starface::pipeline
