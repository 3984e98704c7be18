// STAR as a registered landmark net (nets/common/landmark_net.h): its config off the state
// dict, its graph, its crop convention, and its config as model files store it.
#pragma once

#include "nets/common/landmark_net.h"
#include "nets/star/config.h"

namespace starface::star {

// The one instance the registry (nets/registry.h) hands out.
const nets::LandmarkNet& landmark_net();

// What the engine and the front ends see of a STAR configuration.
nets::NetInfo net_info(const Config& config);

// The configuration a model file stored (NetInfo::config), checked field by field;
// kNotACheckpoint naming `path` otherwise.
Config parse_config(const std::string& config_json, const std::string& path);

}  // namespace starface::star
