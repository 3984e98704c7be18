// Placement: a backend that declines some ops still runs every graph, with those ops on
// the reference backend and the rest on it, and gives the outputs its whole-graph plan
// gives.
#include "engine/placement.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "backends/onednn/onednn_backend.h"
#include "engine/backend_registry.h"
#include "engine/compile.h"
#include "import/checkpoint.h"
#include "import/npy.h"
#include "nets/star/builder.h"
#include "support/fixtures.h"

namespace starface {
namespace {

using graph::OpKind;
using testing::max_abs_diff;
using testing::star_fixture;

// oneDNN, declining the head ops and the pooling inside each hourglass: the pools cut
// the hourglasses, whose later nodes read skip values from before the cut.
constexpr const char* kPartial = "onednn-without-heads-and-pools";

void register_partial_backend() {
  static const bool registered = [] {
    Backend b = find_backend("onednn");
    b.name = kPartial;
    b.supports_op = [](const graph::Node& node, const graph::Graph&) {
      static const std::set<OpKind> declined{OpKind::kBoundaryPlanes, OpKind::kInstanceNorm,
                                             OpKind::kSoftArgmax, OpKind::kMaxPool2x2};
      return !declined.count(node.op);
    };
    register_backend(b);
    return true;
  }();
  (void)registered;
}

const graph::Graph& tiny_star() {
  static const graph::Graph graph = [] {
    const TensorMap sd = import::load_state_dict(star_fixture("models/star_wflw_tiny.pth"));
    return star::build_graph(sd, star::detect_config(sd));
  }();
  return graph;
}

std::vector<std::string> output_names(const graph::Graph& g) {
  std::vector<std::string> names;
  for (const auto& [name, v] : g.outputs()) names.push_back(name);
  return names;
}

TEST(Placement, DeclinedOpsRunOnTheReferenceBackendWithTheSameOutputs) {
  register_partial_backend();
  const graph::Graph& g = tiny_star();
  const std::vector<std::string> names = output_names(g);
  const graph::ConvPrecisions fp32;
  const auto placed = detail::compile(g, kPartial, fp32, names);
  const auto* plan = dynamic_cast<const PlacedPlan*>(placed.get());
  ASSERT_NE(plan, nullptr) << "a backend declining ops must get a placed plan";
  int on_ref = 0, on_fast = 0;
  for (const std::string& where : plan->placement()) {
    on_ref += where.rfind("ref: ", 0) == 0;
    on_fast += where.rfind(std::string(kPartial) + ": ", 0) == 0;
  }
  EXPECT_GT(on_ref, 0);
  EXPECT_GT(on_fast, 1);  // cut into several fast segments
  const Tensor input = testing::random_tensor({2, 3, 256, 256}, 17, 0.0f, 1.0f);
  const TensorMap got = placed->run(input, names);
  const TensorMap ref = detail::compile(g, "ref", fp32, names)->run(input, names);
  const TensorMap whole = detail::compile(g, "onednn", fp32, names)->run(input, names);
  for (const std::string& name : names) {
    // The whole-graph oneDNN plan's own float32 rounding against the double-accumulating
    // reference bounds what placing ops elsewhere may cost: the same convs, and the
    // declined ops computed more exactly.
    const double allowed = 2.0 * max_abs_diff(whole.at(name), ref.at(name)) + 1e-6;
    EXPECT_LE(max_abs_diff(got.at(name), ref.at(name)), allowed) << name;
  }
}

TEST(Placement, AnyValueCanBeAskedForAndProfilesNameEveryNode) {
  register_partial_backend();
  const graph::Graph& g = tiny_star();
  const auto placed = detail::compile(g, kPartial, {}, {"landmarks"});
  placed->set_profiling(true);
  const Tensor input = testing::random_tensor({1, 3, 256, 256}, 18, 0.0f, 1.0f);
  const TensorMap got = placed->run(input, {"landmarks", "input"});
  EXPECT_EQ(max_abs_diff(got.at("input"), input), 0.0);
  EXPECT_EQ(got.at("landmarks").shape(), g.value(g.output("landmarks")).shape);
  std::set<std::string> ops;
  for (const graph::NodeTime& t : placed->last_profile()) ops.insert(t.op);
  EXPECT_TRUE(ops.count("SoftArgmax"));  // on the reference backend
  EXPECT_TRUE(ops.count("MaxPool2x2"));  // on the reference backend
  EXPECT_TRUE(std::any_of(ops.begin(), ops.end(), [](const std::string& op) {
    return op.rfind("Conv2d", 0) == 0;  // on the fast one
  }));
}

TEST(Placement, RegistryListsBackendsAndRefusesUnknownOnes) {
  register_partial_backend();
  const std::vector<std::string> names = available_backends();
  ASSERT_GE(names.size(), 3u);
  EXPECT_EQ(names[0], "onednn");
  EXPECT_EQ(names[1], "ref");
  EXPECT_NE(std::find(names.begin(), names.end(), kPartial), names.end());
  try {
    find_backend("cuda");
    ADD_FAILURE() << "accepted an unknown backend";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kBadArgument);
    EXPECT_NE(std::string(e.what()).find("'cuda'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("onednn, ref"), std::string::npos) << e.what();
  }
  Backend twice = find_backend("ref");
  EXPECT_THROW(register_backend(twice), Error);
}

}  // namespace
}  // namespace starface
