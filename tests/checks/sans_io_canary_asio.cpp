// Built by the test checks.sans_io_guard_asio with the sans-io guard: it must fail with
// the guard's message, or the logic library could include Asio unnoticed.
#include <boost/asio/ip/address.hpp>
