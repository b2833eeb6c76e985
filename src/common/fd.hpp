// Descriptor flags shared by the socket owners (Redis transport, HTTP server and client).
#pragma once

#include <fcntl.h>

namespace hydra::detail {

/// Marks a descriptor close-on-exec so child processes (a service spawning a tool) do not inherit
/// Redis and HTTP connections. Asio does not set the flag on the sockets it creates.
inline void close_on_exec(int fd) {
  if (fd < 0) return;
  int flags = ::fcntl(fd, F_GETFD);
  if (flags >= 0) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

}  // namespace hydra::detail
