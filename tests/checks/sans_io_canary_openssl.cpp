// Built by the test checks.sans_io_guard_openssl with the sans-io guard: it must fail
// with the guard's message, or the logic library could include OpenSSL unnoticed.
#include <openssl/ssl.h>
