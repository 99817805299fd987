#pragma once
// SASL PLAIN (RFC 4616) as IMAP AUTHENTICATE and POP3 AUTH send it.

#include <string>
#include <string_view>

namespace poolwatch {

// Standard base64 (RFC 4648) with padding.
std::string base64_encode(std::string_view bytes);

// The SASL PLAIN initial response, base64 of "authzid\0authcid\0password". For a
// master-user login authzid is the mailbox user and authcid the master user; for a
// normal login authzid is empty and authcid the user.
std::string sasl_plain_response(std::string_view authzid, std::string_view authcid,
                                std::string_view password);

}  // namespace poolwatch
