#!/usr/bin/env bash
# Cross-builds the engine and its tests for aarch64 with Debian's cross toolchain and runs the
# tiny-model goldens (exact fp32 on the reference and oneDNN backends, and fp32-fast) under
# qemu-aarch64. A reduced tree (STARFACE_CORE_ONLY): Debian 12 ships oneDNN, Highway,
# libzip and GoogleTest for arm64, but the front ends' OpenCV, CURL and ONNX stay out.
#
#   ./scripts/aarch64_check.sh [BUILD_DIR]      (default build-aarch64)
#
# Under qemu the tests take 3.5 minutes on 2 idle cores (about 9 on a busy machine).
#
# The arm64 packages are downloaded and unpacked into BUILD_DIR/sysroot, not installed:
# installing them beside the amd64 ones would make apt upgrade host packages to match.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-aarch64}
sysroot=$(realpath -m "$build")/sysroot
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

host_packages=(g++-aarch64-linux-gnu qemu-user cmake ninja-build pkg-config)
# Each library with the arm64 packages it needs at link and run time beyond the cross libc
# (libc6, libstdc++6, libgcc-s1 and libgomp1 come with g++-aarch64-linux-gnu).
# Debian's oneDNN CMake package looks for OpenCL even for the CPU engine.
arm64_packages=(libdnnl-dev libdnnl2 libhwy-dev libhwy1 libzip-dev libzip4 libbz2-1.0 libssl3
                zlib1g zlib1g-dev libgtest-dev ocl-icd-opencl-dev ocl-icd-libopencl1)
all_packages=(nlohmann-json3-dev opencl-c-headers opencl-clhpp-headers)

missing=()
for p in "${host_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
# apt downloads arm64 packages only once it knows the architecture (and has its lists).
new_arch=""
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  $sudo dpkg --add-architecture arm64
  new_arch=1
fi
if [ ${#missing[@]} -gt 0 ] || [ -n "$new_arch" ]; then
  $sudo apt-get update -qq
fi
if [ ${#missing[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ ! -f "$sysroot/.complete" ]; then
  rm -rf "$sysroot" "$build/debs"
  mkdir -p "$sysroot" "$build/debs"
  (cd "$build/debs" && apt-get download -qq -o APT::Sandbox::User=root "${arm64_packages[@]/%/:arm64}" "${all_packages[@]}")
  for deb in "$build"/debs/*.deb; do dpkg-deb -x "$deb" "$sysroot"; done
  # Absolute links (libz.so -> /lib/...) would point into the host: point them into the tree.
  find "$sysroot" -type l -lname '/*' | while read -r link; do
    ln -sfn "$sysroot$(readlink "$link")" "$link"
  done
  touch "$sysroot/.complete"
fi

export PKG_CONFIG_SYSROOT_DIR=$sysroot
export PKG_CONFIG_LIBDIR=$sysroot/usr/lib/aarch64-linux-gnu/pkgconfig:$sysroot/usr/share/pkgconfig
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/aarch64-linux-gnu.cmake" -DSTARFACE_SYSROOT="$sysroot" \
  -DSTARFACE_CORE_ONLY=ON -DSTARFACE_WERROR=ON
# The tiny goldens (exact fp32 on both backends, fp32-fast), and the Winograd kernels against
# the reference conv (on aarch64 its portable ISA is the NEON baseline).
tests=(star_golden_tiny_ref_test star_golden_tiny_onednn_test
       star_golden_tiny_onednn_fp32_fast_test x86_backend_test core_test)
cmake --build "$build" --target "${tests[@]}"
# qemu runs each guest thread on a host thread: two, as many as the machine has cores.
OMP_NUM_THREADS=2 ctest --test-dir "$build" --output-on-failure \
  -R "^($(IFS='|'; echo "${tests[*]}"))\$"
