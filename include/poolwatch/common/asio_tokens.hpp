#pragma once
// The completion token of every dialogue: an operation's error comes back as a value in a
// tuple, not as an exception (errors as values at the I/O edges).

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace poolwatch {

inline constexpr auto use_tuple = boost::asio::as_tuple(boost::asio::use_awaitable);

}  // namespace poolwatch
