// Checkpoints that would run code under torch.load(weights_only=False): each is refused,
// and the command it carries never runs.
#include <gtest/gtest.h>

#include <filesystem>

#include "import/checkpoint.h"
#include "import/expect_error.h"
#include "import/torch_builder.h"
#include "import/torch_file.h"
#include "support/fixtures.h"

namespace starface::import {
namespace {

using starface::testing::PickleBuilder;
using starface::testing::throws_error;

struct Payload {
  const char* name;
  const char* refused;  // what the error must name
  // Pushes one object that, when unpickled by Python, creates `marker`.
  void (*build)(PickleBuilder& p, const std::string& marker);
};

const Payload kPayloads[] = {
    {"posix_system", "'posix.system'",
     [](PickleBuilder& p, const std::string& marker) {
       p.global("posix", "system").str("touch " + marker).tuple(1).reduce();
     }},
    {"os_system", "'os.system'",
     [](PickleBuilder& p, const std::string& marker) {
       p.global("os", "system").str("touch " + marker).tuple(1).reduce();
     }},
    {"subprocess_popen", "'subprocess.Popen'",
     [](PickleBuilder& p, const std::string& marker) {
       p.global("subprocess", "Popen").empty_list().mark().str("touch").str(marker).op('e');
       p.tuple(1).reduce();
     }},
    {"builtins_eval", "'builtins.eval'",
     [](PickleBuilder& p, const std::string& marker) {
       p.global("builtins", "eval").str("open('" + marker + "', 'w')").tuple(1).reduce();
     }},
    {"stack_global_exec", "'builtins.exec'",
     [](PickleBuilder& p, const std::string& marker) {
       p.stack_global("builtins", "exec").str("open('" + marker + "', 'w')").tuple(1).reduce();
     }},
    {"stack_global_dotted", "'collections.OrderedDict.__init__.__globals__'",
     [](PickleBuilder& p, const std::string&) {
       p.stack_global("collections", "OrderedDict.__init__.__globals__");
     }},
    {"inst", "INST",
     [](PickleBuilder& p, const std::string& marker) {
       p.mark().str("touch " + marker).op('i').raw("os\nsystem\n");
     }},
    {"obj", "OBJ",
     [](PickleBuilder& p, const std::string& marker) { p.mark().str("touch " + marker).op('o'); }},
    {"newobj", "NEWOBJ",
     [](PickleBuilder& p, const std::string&) { p.tuple(0).tuple(0).op(0x81); }},
    {"builtins_getattr", "'builtins.getattr'",
     [](PickleBuilder& p, const std::string& marker) {
       p.global("builtins", "getattr").global("os", "system").str("__call__").tuple(2).reduce();
       p.str("touch " + marker).tuple(1).reduce();
     }},
    {"builtins_import", "'builtins.__import__'",
     [](PickleBuilder& p, const std::string&) {
       p.global("builtins", "__import__").str("os").tuple(1).reduce();
     }},
    {"reduce_rebuild_parameter", "'torch._utils._rebuild_parameter'",
     [](PickleBuilder& p, const std::string&) {
       p.global("torch._utils", "_rebuild_parameter").tuple(0).reduce();
     }},
};

// A state dict with one honest tensor first, then the payload under "evil".
std::string poisoned_pickle(const Payload& payload, const std::string& marker, bool legacy) {
  PickleBuilder p;
  p.proto().empty_dict().mark().str("weight");
  p.tensor("0", "FloatStorage", 2, 0, {2}, {1}, legacy);
  p.str("evil");
  payload.build(p, marker);
  return p.op('u').stop().bytes();
}

class Malicious : public ::testing::TestWithParam<Payload> {};

TEST_P(Malicious, RefusedInAZipWithoutSideEffects) {
  const Payload& payload = GetParam();
  const auto dir = starface::testing::temp_dir("malicious_zip");
  const std::string marker = (dir / "pwned").string();
  const std::string file = (dir / "model.pth").string();
  starface::testing::write_torch_zip(file, poisoned_pickle(payload, marker, false),
                                     {{"0", starface::testing::float_bytes({1, 2})}});
  EXPECT_TRUE(throws_error([&] { load_state_dict(file); }, ErrorCode::kUnsafePickle,
                           {file, payload.refused}));
  EXPECT_FALSE(std::filesystem::exists(marker));
}

TEST_P(Malicious, RefusedInALegacyFileWithoutSideEffects) {
  const Payload& payload = GetParam();
  const auto dir = starface::testing::temp_dir("malicious_legacy");
  const std::string marker = (dir / "pwned").string();
  const std::string file = (dir / "model.pth").string();
  starface::testing::write_file(file, starface::testing::legacy_file_bytes(
                                          poisoned_pickle(payload, marker, true),
                                          {{"0", 2, starface::testing::float_bytes({1, 2})}}));
  EXPECT_TRUE(throws_error([&] { load_state_dict(file); }, ErrorCode::kUnsafePickle,
                           {file, payload.refused}));
  EXPECT_FALSE(std::filesystem::exists(marker));
}

INSTANTIATE_TEST_SUITE_P(Payloads, Malicious, ::testing::ValuesIn(kPayloads),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace starface::import
