# Cross toolchain for aarch64 (scripts/aarch64_check.sh): Debian's g++-aarch64-linux-gnu, the
# arm64 libraries unpacked into STARFACE_SYSROOT, and qemu-aarch64 to run what is built.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

if(NOT STARFACE_SYSROOT)
  message(FATAL_ERROR "set STARFACE_SYSROOT to the unpacked arm64 packages")
endif()
# CMake's compiler checks run in projects of their own, which see only the variables named.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES STARFACE_SYSROOT)
# Libraries, headers and CMake packages come from the arm64 tree and the cross libc only,
# never from the host's /usr.
set(CMAKE_FIND_ROOT_PATH ${STARFACE_SYSROOT} /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# The unpacked libraries are not where the cross linker looks for the dependencies of a
# shared library (libzip's libssl, libbz2): name both lib folders.
set(_starface_libs
    "${STARFACE_SYSROOT}/usr/lib/aarch64-linux-gnu:${STARFACE_SYSROOT}/lib/aarch64-linux-gnu")
string(APPEND CMAKE_EXE_LINKER_FLAGS_INIT " -Wl,-rpath-link,${_starface_libs}")
string(APPEND CMAKE_SHARED_LINKER_FLAGS_INIT " -Wl,-rpath-link,${_starface_libs}")

# ctest runs each test executable through qemu, with the cross libc as its root and the
# unpacked libraries on the guest's library path.
set(CMAKE_CROSSCOMPILING_EMULATOR
    qemu-aarch64 -L /usr/aarch64-linux-gnu -E LD_LIBRARY_PATH=${_starface_libs})
