// The landmark nets this build knows: STAR, plus any a program registers at start (a test's
// toy net, a plugin). The engine asks here which net a checkpoint or model file holds.
#pragma once

#include <string>
#include <vector>

#include "core/tensor.h"
#include "nets/common/landmark_net.h"

namespace starface::nets {

// Adds a net, which must outlive every use (a static object). kBadArgument when a net of
// that name is registered already.
void register_landmark_net(const LandmarkNet& net);

// The registered names, in registration order ("star" first).
std::vector<std::string> landmark_net_names();

// The net registered as `name`; kNotACheckpoint naming `path` and listing the known nets
// otherwise (a model file from a build with more nets).
const LandmarkNet& landmark_net_named(const std::string& name, const std::string& path);

// The first net that recognises the state dict, or nullptr.
const LandmarkNet* find_landmark_net(const TensorMap& state_dict);

// find_landmark_net, or when none recognises it the first registered (STAR), whose build()
// then names the key it misses.
const LandmarkNet& landmark_net_for(const TensorMap& state_dict);

}  // namespace starface::nets
