// Whether a completion handler may be invoked directly instead of through asio::dispatch.
#pragma once

#include <boost/asio/any_completion_executor.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

namespace hydra {

/// True when `handler_ex` is the same serial executor as `own` (an executor of the same
/// io_context, or the same strand over one). Code running on `own` that is known to run one
/// handler at a time may then invoke the handler itself: that is what dispatch would do, without
/// wrapping the handler in a type-erased function first.
inline bool same_serial_executor(const boost::asio::any_io_executor& own,
                                 const boost::asio::any_completion_executor& handler_ex) {
  using Plain = boost::asio::io_context::executor_type;
  using Strand = boost::asio::strand<Plain>;
  if (const auto* mine = own.target<Plain>()) {
    const auto* theirs = handler_ex.target<Plain>();
    return theirs && &mine->context() == &theirs->context();
  }
  if (const auto* mine = own.target<Strand>()) {
    const auto* theirs = handler_ex.target<Strand>();
    return theirs && *mine == *theirs;
  }
  return false;
}

}  // namespace hydra
