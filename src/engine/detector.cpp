#include "engine/detector.h"

#include "core/error.h"

namespace starface {

std::unique_ptr<Detector> Detector::load(const std::string& path, const EngineOptions&) {
  throw Error(ErrorCode::kInternal, path + ": the RetinaFace detector is not built yet");
}

}  // namespace starface
