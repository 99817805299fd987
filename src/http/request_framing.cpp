#include "request_framing.hpp"

#include <algorithm>
#include <string_view>
#include <vector>

#include "poolwatch/common/text.hpp"

namespace poolwatch::http_detail {

namespace http = boost::beast::http;

namespace {

// The codings of every Transfer-Encoding line, as one list (RFC 9110 §5.3), without the
// empty elements a list may have; a coding's parameters stay part of it.
std::vector<std::string_view> transfer_codings(const http::request<http::empty_body>& req) {
  std::vector<std::string_view> codings;
  const auto [first, last] = req.equal_range(http::field::transfer_encoding);
  for (auto field = first; field != last; ++field) {
    std::string_view list(field->value().data(), field->value().size());
    while (!list.empty()) {
      const auto comma = list.find(',');
      auto coding = list.substr(0, comma);
      list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
      while (!coding.empty() && (coding.front() == ' ' || coding.front() == '\t'))
        coding.remove_prefix(1);
      while (!coding.empty() && (coding.back() == ' ' || coding.back() == '\t'))
        coding.remove_suffix(1);
      if (!coding.empty()) codings.push_back(coding);
    }
  }
  return codings;
}

}  // namespace

bool framing_is_ambiguous(const http::request_parser<http::empty_body>& parser) {
  const auto& req = parser.get();
  if (req.count(http::field::transfer_encoding) == 0) return false;
  if (req.version() < 11 || req.count(http::field::content_length) != 0) return true;
  // Beast looks for chunked line by line and takes any other Transfer-Encoding for no
  // body at all, so both it and the whole list must agree on one final chunked.
  if (!parser.chunked()) return true;
  const auto codings = transfer_codings(req);
  const auto chunked = std::count_if(codings.begin(), codings.end(),
                                     [](std::string_view c) { return iequals(c, "chunked"); });
  return codings.empty() || !iequals(codings.back(), "chunked") || chunked != 1;
}

}  // namespace poolwatch::http_detail
