#!/usr/bin/env bash
# Installs what starface needs from Debian 12 and builds it into build/.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(cmake ninja-build g++ pkg-config libgtest-dev libdnnl-dev libopencv-dev libcli11-dev
          nlohmann-json3-dev libzip-dev libcurl4-openssl-dev libhwy-dev zlib1g-dev
          pybind11-dev python3-dev python3-numpy python3-pytest python3-onnx libonnx-dev
          libprotobuf-dev nodejs python3-setuptools python3-wheel python3-venv
          ocl-icd-opencl-dev)
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
# npm installs ONNX Runtime for the export test; a nodejs from elsewhere brings its own npm
# (and conflicts with Debian's), so only the command matters.
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# ocl-icd-opencl-dev: Debian's oneDNN CMake config looks for OpenCL even for the CPU engine.
# Optional, for live fuzzing (fuzz/run.sh): clang-14 libclang-rt-14-dev.
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build build
