// Whether a completion handler may be invoked directly instead of through asio::dispatch, and
// the invocation that uses it.
#pragma once

#include <boost/asio/any_completion_executor.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <exception>
#include <utility>

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

/// Invokes a completion handler from code running on `own` that runs one handler at a time.
/// A handler whose executor is `own` (the usual case) is invoked directly, as dispatch would,
/// without wrapping it in a type-erased function first; an exception it lets out comes out of
/// `own`'s run(), as from a posted handler, instead of unwinding the caller (e.g. a connection's
/// reader). Any other handler is dispatched to its own executor.
/// The arguments are passed on as they were given (moved from when they are rvalues).
template <class Handler, class... Args>
void invoke_here_or_dispatch(const boost::asio::any_io_executor& own, Handler handler,
                             Args&&... args) {
  auto handler_ex = boost::asio::get_associated_executor(handler, own);
  if (!same_serial_executor(own, handler_ex)) {
    boost::asio::dispatch(handler_ex,
                          [h = std::move(handler), ... a = std::forward<Args>(args)]() mutable {
                            std::move(h)(std::move(a)...);
                          });
    return;
  }
  try {
    std::move(handler)(std::forward<Args>(args)...);
  } catch (...) {
    boost::asio::post(own, [e = std::current_exception()] { std::rethrow_exception(e); });
  }
}

}  // namespace hydra
