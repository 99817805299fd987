#include "poolwatch/probe/secret_scrubber.hpp"

#include <algorithm>

#include "poolwatch/common/text.hpp"
#include "poolwatch/probe/imap_protocol.hpp"
#include "poolwatch/probe/sasl.hpp"

namespace poolwatch {

namespace {

constexpr std::string_view kCut = "...";

}  // namespace

SecretScrubber SecretScrubber::for_login(std::string_view user, std::string_view master_user,
                                         std::string_view password) {
  SecretScrubber scrubber;
  if (password.empty()) return scrubber;
  scrubber.add(password);
  // What a peer's text looks like after printable_excerpt() when the password has
  // control bytes.
  scrubber.add(printable_excerpt(password, password.size()));
  if (const auto quoted = imap::quote_string(password))
    scrubber.add(std::string_view(*quoted).substr(1, quoted->size() - 2));
  scrubber.add(sasl_plain_response({}, user, password));
  if (!master_user.empty()) scrubber.add(sasl_plain_response(user, master_user, password));
  return scrubber;
}

void SecretScrubber::add(std::string_view form) {
  if (form.empty()) return;
  if (std::any_of(forms_.begin(), forms_.end(), [&](const auto& f) { return iequals(f, form); }))
    return;
  forms_.emplace_back(form);
  std::stable_sort(forms_.begin(), forms_.end(),
                   [](const auto& a, const auto& b) { return a.size() > b.size(); });
}

std::size_t SecretScrubber::match_at(std::string_view text, std::size_t at) const {
  for (const auto& form : forms_)
    if (form.size() <= text.size() - at && iequals(text.substr(at, form.size()), form))
      return form.size();
  return 0;
}

std::string SecretScrubber::scrub(std::string_view text) const {
  if (forms_.empty()) return std::string(text);
  std::string out;
  out.reserve(text.size());
  for (std::size_t at = 0; at < text.size();) {
    if (const auto length = match_at(text, at); length > 0) {
      out += kRedacted;
      at += length;
    } else {
      out += text[at++];
    }
  }
  redact_cut_forms(out);
  return out;
}

// Before each "...", the longest start of a form (shorter than the form: a whole one
// is gone already) is replaced. A false positive only hides a few characters of text
// that was cut anyway.
void SecretScrubber::redact_cut_forms(std::string& text) const {
  std::size_t search_from = std::string::npos;
  for (;;) {
    const auto cut = text.rfind(kCut, search_from);
    if (cut == std::string::npos || cut == 0) return;
    const auto start = cut - longest_form_start_before(text, cut);
    if (start < cut) text.replace(start, cut - start, kRedacted);
    if (start == 0) return;
    search_from = start - 1;
  }
}

std::size_t SecretScrubber::longest_form_start_before(std::string_view text,
                                                      std::size_t end) const {
  std::size_t longest = 0;
  for (const auto& form : forms_) {
    for (std::size_t length = std::min(form.size() - 1, end); length > longest; --length) {
      if (iequals(text.substr(end - length, length), std::string_view(form).substr(0, length))) {
        longest = length;
        break;
      }
    }
  }
  return longest;
}

}  // namespace poolwatch
