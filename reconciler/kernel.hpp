// The seams between netkeep's core and the kernel, passed by constructor:
// the Linux backend implements them over rtnetlink and /proc; tests pass fakes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "model/actual.hpp"
#include "reconciler/op.hpp"

namespace netkeep {

struct WriteError {
  int code = 0;         // errno, as the kernel returned it
  std::string message;  // the kernel's extended-ACK text, else strerror
};

class KernelReader {
 public:
  virtual ~KernelReader() = default;
  // A consistent snapshot of everything netkeep manages, or an error.
  virtual std::optional<Actual> snapshot(std::string& error) = 0;
};

class KernelWriter {
 public:
  virtual ~KernelWriter() = default;
  // Performs one op; returns the error, if any.
  virtual std::optional<WriteError> apply(const Op& op) = 0;
  // Write requests sent so far (netlink messages, sysctl and file writes).
  virtual uint64_t writes() const = 0;
};

}  // namespace netkeep
