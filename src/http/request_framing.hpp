#pragma once
// Internal to http_server.cpp: whether a request's header says where its body ends.

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

namespace poolwatch::http_detail {

// RFC 9112 §6.1 and §6.3: true for a request whose body's end cannot be told from its
// header: a Transfer-Encoding whose codings do not end in one chunked, one beside a
// Content-Length, or one in HTTP/1.0. Such a request gets 400 and the connection is
// closed, since what follows its header could be taken for a request of its own.
bool framing_is_ambiguous(
    const boost::beast::http::request_parser<boost::beast::http::empty_body>& parser);

}  // namespace poolwatch::http_detail
