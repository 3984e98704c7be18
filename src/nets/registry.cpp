#include "nets/registry.h"

#include <mutex>

#include "core/error.h"
#include "core/text.h"
#include "nets/star/landmark_net.h"

namespace starface::nets {

namespace {

struct Registry {
  std::mutex mutex;
  std::vector<const LandmarkNet*> nets;
};

Registry& registry() {
  static Registry r{.mutex = {},
                    .nets = {
                        // The nets of this build, one line each.
                        &star::landmark_net(),
                    }};
  return r;
}

}  // namespace

void register_landmark_net(const LandmarkNet& net) {
  Registry& r = registry();
  const std::lock_guard<std::mutex> lock(r.mutex);
  for (const LandmarkNet* known : r.nets) {
    if (known->name() == net.name()) {
      throw Error(ErrorCode::kBadArgument,
                  "a landmark net named '" + net.name() + "' is registered already");
    }
  }
  r.nets.push_back(&net);
}

std::vector<std::string> landmark_net_names() {
  Registry& r = registry();
  const std::lock_guard<std::mutex> lock(r.mutex);
  std::vector<std::string> names;
  for (const LandmarkNet* net : r.nets) names.push_back(net->name());
  return names;
}

const LandmarkNet& landmark_net_named(const std::string& name, const std::string& path) {
  Registry& r = registry();
  {
    const std::lock_guard<std::mutex> lock(r.mutex);
    for (const LandmarkNet* net : r.nets) {
      if (net->name() == name) return *net;
    }
  }
  throw Error(ErrorCode::kNotACheckpoint, path + ": a model of the landmark net '" + name +
                                              "', which this build does not know (it knows: " +
                                              join(landmark_net_names(), ", ") + ")");
}

const LandmarkNet* find_landmark_net(const TensorMap& state_dict) {
  Registry& r = registry();
  const std::lock_guard<std::mutex> lock(r.mutex);
  for (const LandmarkNet* net : r.nets) {
    if (net->recognises(state_dict)) return net;
  }
  return nullptr;
}

const LandmarkNet& landmark_net_for(const TensorMap& state_dict) {
  if (const LandmarkNet* net = find_landmark_net(state_dict)) return *net;
  Registry& r = registry();
  const std::lock_guard<std::mutex> lock(r.mutex);
  return *r.nets.front();
}

}  // namespace starface::nets
