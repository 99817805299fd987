#pragma once
// A response body made a slice at a time. /metrics and /status of a pool of 100 000
// backends are hundreds of megabytes of text: made in one call they would hold the event
// loop, and with it every probe, /healthz and a stop, for seconds. The HTTP server calls a
// writer, lets the loop run, and calls it again until the body is complete.

#include <functional>
#include <string>

namespace poolwatch {

// Appends the next slice to `body`; true once the body is complete.
using BodyWriter = std::function<bool(std::string& body)>;

// A body that is already made, in one slice.
inline BodyWriter whole_body(std::string text) {
  return [text = std::move(text)](std::string& body) {
    body += text;
    return true;
  };
}

}  // namespace poolwatch
