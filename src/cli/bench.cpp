// starface bench: time the network the way users run it (Engine::landmarks on a batch) and
// put the figure next to the machine's FP32 FMA peak measured in the same run, so a number
// from a noisy or different machine still says how far from the floor it is.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/cpu.h"
#include "core/threads.h"
#include "core/timer.h"
#include "graph/cost.h"

namespace starface::cli {

namespace {

struct BenchFlags {
  std::string model;
  bool peak_only = false;
  int batch = 1;
  int runs = 20;
  int warmup = 3;
  double peak_seconds = 0.3;
  bool json = false;
  bool profile = false;
  ModelFlags model_flags;
};

// The deterministic input of shared/bench/ort_peer.mjs (same LCG, same mapping to [-1, 1)),
// so starface and the ONNX Runtime peer time the same data.
Tensor lcg_input(int batch, int size) {
  Tensor t(DType::kFloat32, {batch, 3, size, size});
  float* p = t.data<float>();
  uint32_t s = 0x12345678u;
  for (int64_t i = 0; i < t.numel(); ++i) {
    s = s * 1664525u + 1013904223u;
    p[i] = static_cast<float>(s >> 8) / 8388608.0f - 1.0f;
  }
  return t;
}

// Median and p90 exactly as ort_peer.mjs computes them, so the two are comparable.
struct Stats {
  double min = 0, median = 0, p90 = 0, mean = 0;
};

Stats stats_of(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  const size_t n = ms.size();
  Stats s;
  s.min = ms.front();
  s.median = n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
  const long rank = static_cast<long>(std::ceil(0.9 * static_cast<double>(n))) - 1;
  s.p90 = ms[std::clamp<long>(rank, 0, static_cast<long>(n) - 1)];
  for (double v : ms) s.mean += v / static_cast<double>(n);
  return s;
}

// CPU time other processes used while we ran, in cores (ort_peer.mjs's noise probe): above
// ~0.1 the timing is contaminated on a 2-core machine.
class OtherLoadProbe {
 public:
  OtherLoadProbe() : busy_ticks_(busy_ticks()), own_s_(own_cpu_seconds()) {}
  // -1 where /proc/stat is unreadable.
  double cores() const {
    const double wall_s = wall_.elapsed_ms() / 1000;
    const double busy = busy_ticks();
    if (busy < 0 || busy_ticks_ < 0 || wall_s <= 0) return -1;
    const double others_s = (busy - busy_ticks_) / static_cast<double>(sysconf(_SC_CLK_TCK)) -
                            (own_cpu_seconds() - own_s_);
    return std::max(0.0, others_s / wall_s);
  }

 private:
  static double busy_ticks() {
    std::ifstream in("/proc/stat");
    std::string cpu;
    double user, nice, system, idle, iowait, irq, softirq;
    if (!(in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq)) return -1;
    return user + nice + system + irq + softirq;
  }
  static double own_cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    auto seconds = [](const timeval& t) {
      return static_cast<double>(t.tv_sec) + t.tv_usec * 1e-6;
    };
    return seconds(u.ru_utime) + seconds(u.ru_stime);
  }

  Timer wall_;
  double busy_ticks_;
  double own_s_;
};

nlohmann::json cpu_json(const CpuInfo& cpu) {
  nlohmann::json features = nlohmann::json::object();
  for (const auto& [name, has] : cpu.features.list()) features[name] = has;
  return {{"model", cpu.model}, {"logical_cores", cpu.logical_cores}, {"features", features}};
}

nlohmann::json peak_json(const PeakResult& p) {
  return {{"threads", p.threads},
          {"isa", simd_target_name(p.path)},
          {"gflops", p.gflops},
          {"per_thread_gflops", p.per_thread_gflops},
          {"avx2_gflops", p.avx2_gflops},
          {"seconds_per_trial", p.seconds_per_trial},
          {"trials", p.trials}};
}

// Node time summed over the profiled runs for one op kind or stage.
struct Bucket {
  double ms = 0;
  int nodes = 0;  // in one run
};
using Buckets = std::map<std::string, Bucket>;

nlohmann::json bucket_rows(const Buckets& buckets, const char* key, int runs, double total_ms) {
  std::vector<std::pair<std::string, Bucket>> sorted(buckets.begin(), buckets.end());
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.second.ms > b.second.ms; });
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& [name, b] : sorted) {
    rows.push_back({{key, name},
                    {"ms_per_call", b.ms / runs},
                    {"share", total_ms > 0 ? b.ms / total_ms : 0.0},
                    {"nodes", b.nodes}});
  }
  return rows;
}

// Runs the model `runs` more times with per-node timers; time per op kind and per stage,
// slowest first. A backend without timers gives empty tables and "available": false.
nlohmann::json profile_json(Engine& engine, const Tensor& input, int runs) {
  Buckets by_op, by_stage;
  double node_ms = 0;
  const Timer wall;
  engine.set_profiling(true);
  for (int r = 0; r < runs; ++r) {
    engine.landmarks(input);
    for (const graph::NodeTime& t : engine.last_profile()) {
      for (Bucket* b : {&by_op[t.op], &by_stage[t.stage]}) {
        b->ms += t.ms;
        if (r == 0) ++b->nodes;
      }
      node_ms += t.ms;
    }
  }
  const double wall_ms = wall.elapsed_ms();
  engine.set_profiling(false);
  return {{"runs", runs},
          {"available", !by_op.empty()},
          {"wall_ms_per_call", wall_ms / runs},
          {"node_ms_per_call", node_ms / runs},
          {"by_op", bucket_rows(by_op, "op", runs, node_ms)},
          {"by_stage", bucket_rows(by_stage, "stage", runs, node_ms)}};
}

// Times warmup + runs calls of Engine::landmarks; returns per-call ms, sets the noise probe
// result and a checksum of the last landmarks (a broken backend shows as NaN).
std::vector<double> time_calls(Engine& engine, const Tensor& input, int warmup, int runs,
                               double* other_load, double* checksum) {
  Tensor out;
  for (int i = 0; i < warmup; ++i) out = engine.landmarks(input);
  std::vector<double> ms;
  const OtherLoadProbe probe;
  for (int i = 0; i < runs; ++i) {
    const Timer t;
    out = engine.landmarks(input);
    ms.push_back(t.elapsed_ms());
  }
  *other_load = probe.cores();
  *checksum = 0;
  for (int64_t i = 0; i < out.numel(); ++i) *checksum += out.data<float>()[i];
  return ms;
}

// The figures derived from per-call times: per face, throughput, and against the peak
// (floor = the time the network's multiply-adds take at the FMA peak).
void add_timing(nlohmann::json& j, const Stats& call, int batch, int64_t macs,
                const PeakResult& peak) {
  const double n = batch;
  const double flop_per_face = 2.0 * static_cast<double>(macs);
  const double gflops = flop_per_face * n / (call.median / 1000) / 1e9;
  j["ms_per_call"] = {
      {"min", call.min}, {"median", call.median}, {"p90", call.p90}, {"mean", call.mean}};
  j["min_ms_per_face"] = call.min / n;
  j["median_ms_per_face"] = call.median / n;
  j["p90_ms_per_face"] = call.p90 / n;
  j["spread"] = (call.p90 - call.min) / call.median;
  j["faces_per_s"] = 1000 * n / call.median;
  j["macs_per_face"] = macs;
  j["gflops"] = gflops;
  j["peak"] = peak_json(peak);
  j["peak_gflops"] = peak.gflops;
  j["peak_avx2_gflops"] = peak.avx2_gflops;
  j["peak_share"] = gflops / peak.gflops;
  j["floor_ms_per_face"] = flop_per_face / (peak.gflops * 1e9) * 1000;
}

nlohmann::json bench_model(const BenchFlags& f) {
  const Timer load_timer;
  const auto engine = Engine::load(f.model, f.model_flags.engine_options());
  const double load_ms = load_timer.elapsed_ms();
  const int threads = num_threads();
  const Tensor input = lcg_input(f.batch, engine->net().input_size);

  double other_load = 0, checksum = 0;
  const Stats call = stats_of(time_calls(*engine, input, f.warmup, f.runs, &other_load, &checksum));
  // After the timed calls, so the probe's heat and thread pinning cannot touch them.
  const PeakResult peak = measure_fma_peak(threads, f.peak_seconds);

  nlohmann::json j;
  j["model"] = engine->path();
  j["backend"] = engine->backend();
  j["backend_info"] = engine->backend_info();
  j["precision"] = graph::precision_name(engine->precision());
  j["isa"] = simd_target_name(peak.path);
  j["cpu"] = cpu_json(cpu_info());
  j["threads"] = threads;
  j["threading"] = threading_summary();
  j["batch"] = f.batch;
  j["runs"] = f.runs;
  j["warmup"] = f.warmup;
  j["load_ms"] = load_ms;
  j["model_file"] = engine->source().model_file;
  j["weights_storage"] = engine->source().storage;
  add_timing(j, call, f.batch, graph::compute_cost(engine->graph()).macs, peak);
  j["other_load_cores"] = other_load;
  j["landmarks_checksum"] = checksum;
  j["landmarks_finite"] = std::isfinite(checksum);
  j["precision_fallbacks"] = engine->precision_fallbacks();
  if (f.profile) j["profile"] = profile_json(*engine, input, f.runs);
  return j;
}

nlohmann::json bench_peak(const BenchFlags& f) {
  set_num_threads(f.model_flags.threads);  // 0 = every core this process may use
  const int max_threads = num_threads();
  nlohmann::json peaks = nlohmann::json::array();
  for (int t = 1; t <= max_threads; ++t) {
    peaks.push_back(peak_json(measure_fma_peak(t, f.peak_seconds)));
  }
  return {{"cpu", cpu_json(cpu_info())}, {"peak", peaks}};
}

std::string features_line(const nlohmann::json& cpu) {
  std::string out;
  for (const auto& [name, has] : cpu["features"].items()) {
    if (has.get<bool>()) out += (out.empty() ? "" : " ") + name;
  }
  return out.empty() ? "(none of the tracked extensions)" : out;
}

void print_cpu(const nlohmann::json& cpu) {
  std::printf("cpu          %s, %d logical cores\n", cpu["model"].get<std::string>().c_str(),
              cpu["logical_cores"].get<int>());
  std::printf("features     %s\n", features_line(cpu).c_str());
}

// "1 run", "2 runs"
std::string counted(const nlohmann::json& n, const std::string& noun) {
  const int count = n.get<int>();
  return std::to_string(count) + " " + noun + (count == 1 ? "" : "s");
}

// "avx512 233.1 GFLOP/s (116.6 per thread; avx2 232.9)"
std::string peak_text(const nlohmann::json& p) {
  char buf[160];
  const std::string isa = p["isa"];
  std::snprintf(buf, sizeof(buf), "%s %.1f GFLOP/s on %s (%.1f per thread", isa.c_str(),
                p["gflops"].get<double>(), counted(p["threads"], "thread").c_str(),
                p["per_thread_gflops"].get<double>());
  std::string out = buf;
  if (isa == "avx512") {
    std::snprintf(buf, sizeof(buf), "; avx2 %.1f", p["avx2_gflops"].get<double>());
    out += buf;
  }
  return out + ")";
}

void print_profile_table(const nlohmann::json& rows, const char* key, const char* title) {
  std::printf("\n%-22s %12s %7s %6s\n", title, "ms per call", "share", "nodes");
  for (const auto& r : rows) {
    std::printf("%-22s %12.3f %6.1f%% %6d\n", r[key].get<std::string>().c_str(),
                r["ms_per_call"].get<double>(), 100 * r["share"].get<double>(),
                r["nodes"].get<int>());
  }
}

void print_profile(const nlohmann::json& p) {
  if (!p["available"].get<bool>()) {
    std::printf("\nprofile      this backend records no per-node times\n");
    return;
  }
  std::printf("\nprofile      %s: nodes take %.2f of %.2f ms per call (timers on)\n",
              counted(p["runs"], "run").c_str(), p["node_ms_per_call"].get<double>(),
              p["wall_ms_per_call"].get<double>());
  print_profile_table(p["by_op"], "op", "op");
  print_profile_table(p["by_stage"], "stage", "stage");
}

// ", 3 convs in fp32 (--json lists them with the reason)", or nothing.
std::string fallbacks_text(const nlohmann::json& fallbacks) {
  if (fallbacks.empty()) return "";
  return ", " + counted(static_cast<int>(fallbacks.size()), "conv") +
         " in fp32 (--json lists them with the reason)";
}

void print_model_report(const nlohmann::json& j) {
  const auto& c = j["ms_per_call"];
  std::printf("model        %s\n", j["model"].get<std::string>().c_str());
  std::printf("backend      %s\n", j["backend_info"].get<std::string>().c_str());
  std::printf("precision    %s%s\n", j["precision"].get<std::string>().c_str(),
              fallbacks_text(j["precision_fallbacks"]).c_str());
  std::printf("threading    %s\n", j["threading"].get<std::string>().c_str());
  print_cpu(j["cpu"]);
  std::printf("fma peak     %s\n", peak_text(j["peak"]).c_str());
  std::printf("setup        %s, batch %d, %s after %d warm-up; load %.1f ms\n",
              counted(j["threads"], "thread").c_str(), j["batch"].get<int>(),
              counted(j["runs"], "timed run").c_str(), j["warmup"].get<int>(),
              j["load_ms"].get<double>());
  std::printf("per call     min %.2f  median %.2f  p90 %.2f ms\n", c["min"].get<double>(),
              c["median"].get<double>(), c["p90"].get<double>());
  std::printf("per face     min %.2f  median %.2f  p90 %.2f ms; spread (p90-min)/median %.1f%%\n",
              j["min_ms_per_face"].get<double>(), j["median_ms_per_face"].get<double>(),
              j["p90_ms_per_face"].get<double>(), 100 * j["spread"].get<double>());
  std::printf("throughput   %.2f faces/s, %.1f GFLOP/s (%.3f GFLOP per face)\n",
              j["faces_per_s"].get<double>(), j["gflops"].get<double>(),
              2 * j["macs_per_face"].get<double>() / 1e9);
  std::printf("vs peak      %.1f%% of the FP32 FMA peak; floor %.2f ms/face = 2*MACs/peak\n",
              100 * j["peak_share"].get<double>(), j["floor_ms_per_face"].get<double>());
  const double other = j["other_load_cores"];
  if (other >= 0) {
    std::printf("other load   %.2f cores used by other processes during the timed runs%s\n", other,
                other > 0.1 ? " (timing contaminated)" : "");
  }
  if (!j["landmarks_finite"].get<bool>()) std::printf("warning      landmarks are not finite\n");
  if (j.contains("profile")) print_profile(j["profile"]);
}

void print_peak_report(const nlohmann::json& j) {
  print_cpu(j["cpu"]);
  for (const auto& p : j["peak"]) std::printf("fma peak     %s\n", peak_text(p).c_str());
}

void run_bench(const BenchFlags& f) {
  if (!f.peak_only && f.model.empty()) {
    throw Error(ErrorCode::kBadArgument,
                "bench needs --model CKPT (to time the network) or --peak (CPU facts only)");
  }
  const nlohmann::json j = f.peak_only ? bench_peak(f) : bench_model(f);
  if (f.json) {
    std::cout << j.dump(2) << "\n";
  } else if (f.peak_only) {
    print_peak_report(j);
  } else {
    print_model_report(j);
  }
}

}  // namespace

void add_bench(CLI::App& app) {
  auto f = std::make_shared<BenchFlags>();
  CLI::App* cmd = app.add_subcommand(
      "bench",
      "Time Engine::landmarks on a deterministic batch and compare with this machine's FP32 "
      "FMA peak, measured in the same run; or, with --peak, report the CPU and its peak only");
  CLI::Option* model =
      cmd->add_option("--model", f->model, "Landmark checkpoint or starface model file to time");
  cmd->add_flag("--peak", f->peak_only,
                "No model: CPU facts and FMA peak for 1..--threads threads (default: all cores)")
      ->excludes(model);
  cmd->add_option("--batch", f->batch, "Faces per call (default 1)")->check(CLI::Range(1, 1024));
  cmd->add_option("--runs", f->runs, "Timed calls (default 20)")->check(CLI::Range(1, 1000000));
  cmd->add_option("--warmup", f->warmup, "Untimed calls first (default 3)")
      ->check(CLI::Range(0, 1000000));
  cmd->add_option("--peak-seconds", f->peak_seconds,
                  "Seconds per FMA-peak trial, best of 3 (default 0.3)")
      ->check(CLI::Range(0.001, 60.0));
  cmd->add_flag("--json", f->json, "Print one JSON object");
  cmd->add_flag("--profile", f->profile,
                "After the timed calls, --runs more with per-node timers: time per op and stage");
  add_model_flags(*cmd, f->model_flags);
  cmd->callback([f] { run_bench(*f); });
}

}  // namespace starface::cli
