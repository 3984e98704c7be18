// NumPy .npy files, the format of the test goldens and of tensors handed to and from tools.
#pragma once

#include <cstddef>
#include <span>
#include <string>

#include "core/tensor.h"

namespace starface::import {

// Reads a .npy file (format 1.0, 2.0 or 3.0; little-endian, C order; dtypes f4 f8 f2 i8 i4
// u1 b1) into a contiguous tensor. Throws kIo when the file cannot be read and kBadInput,
// naming the file, for a wrong magic, a truncated file, Fortran order, big-endian data or
// any other dtype.
Tensor read_npy(const std::string& path);
// The same for a file already in memory; `name` stands for its path in errors.
Tensor read_npy_bytes(std::span<const std::byte> bytes, const std::string& name);

// Writes a tensor as a format 1.0 .npy file (2.0 when the header needs it), C order.
// Throws kBadDtype for bfloat16, which NumPy has no dtype for, and kIo on write errors.
void write_npy(const std::string& path, const Tensor& tensor);

}  // namespace starface::import
