#!/usr/bin/env bash
# Live fuzzing with libFuzzer (needs clang-14): builds build-fuzz/ and runs each target for
# SECONDS seconds (default 60) on a scratch copy of its committed corpus, one after the
# other. New crashes land in fuzz/crashes/<target>/ as reproducers, which the replay tests
# then run in every CI build. Figures (execs/s, edges) go to build-fuzz/logs/<target>.log.
#
#   fuzz/run.sh                  # every target, 60 s each
#   SECONDS_PER_TARGET=600 fuzz/run.sh pickle checkpoint
set -euo pipefail
cd "$(dirname "$0")/.."

per_target=${SECONDS_PER_TARGET:-60}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then  # every fuzz/<name>_fuzzer.cpp
  for f in fuzz/*_fuzzer.cpp; do targets+=("$(basename "$f" _fuzzer.cpp)"); done
fi

if ! command -v clang++-14 >/dev/null; then
  echo "fuzz/run.sh: clang++-14 is not installed (apt-get install clang-14); skipping" >&2
  exit 0
fi
cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTARFACE_FUZZ=ON -DSTARFACE_TESTS=OFF >/dev/null
cmake --build build-fuzz --target starface_fuzzers

dict_for() {
  case "$1" in
    pickle|legacy) echo "-dict=fuzz/dict/pickle.dict" ;;
    zip|checkpoint) echo "-dict=fuzz/dict/zip.dict" ;;
    *) [ -f "fuzz/dict/$1.dict" ] && echo "-dict=fuzz/dict/$1.dict" || echo "" ;;
  esac
}

mkdir -p build-fuzz/logs
status=0
for t in "${targets[@]}"; do
  work="build-fuzz/corpus/$t"
  mkdir -p "$work" "fuzz/crashes/$t"
  cp -n fuzz/corpus/"$t"/* "$work"/ 2>/dev/null || true
  # -malloc_limit_mb: one allocation above it is a finding (the loader must never trust a
  # size); -rss_limit_mb: the whole process, ASan included.
  # shellcheck disable=SC2046
  if ! ./build-fuzz/fuzz/"$t"_fuzzer "$work" $(dict_for "$t") -max_total_time="$per_target" \
      -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 -max_len=1048576 -print_final_stats=1 \
      -artifact_prefix="fuzz/crashes/$t/" 2>&1 | tee "build-fuzz/logs/$t.log" | tail -n 25; then
    status=1
  fi
  grep -E "stat::number_of_executed_units|stat::average_exec_per_sec|cov:" \
    "build-fuzz/logs/$t.log" | tail -n 3 || true
done
exit $status
