#include "poolwatch/passive/proxy_event.hpp"

#include <nlohmann/json.hpp>

#include "poolwatch/common/text.hpp"

namespace poolwatch::passive {

namespace {

using nlohmann::json;

// A SAX consumer: no document is built, so nothing is allocated for the fields we skip
// and no recursive destructor runs on nesting. Returning false ends the parse.
class EventSax : public nlohmann::json_sax<json> {
 public:
  explicit EventSax(ProxyEvent& event) : event_(event) {}

  bool null() override { return scalar(); }
  bool boolean(bool) override { return scalar(); }
  bool number_integer(number_integer_t value) override { return integer(value); }
  bool number_unsigned(number_unsigned_t value) override {
    return integer(value > static_cast<number_unsigned_t>(INT64_MAX)
                       ? INT64_MAX
                       : static_cast<std::int64_t>(value));
  }
  bool number_float(number_float_t, const string_t&) override { return scalar(); }
  bool string(string_t& value) override;
  bool binary(binary_t&) override { return scalar(); }
  bool start_object(std::size_t) override { return open(true); }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return open(false); }
  bool end_array() override { return close(); }
  bool key(string_t& value) override {
    key_.assign(value, 0, std::min<std::size_t>(value.size(), 32));
    return true;
  }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception&) override {
    error = "not JSON (at byte " + std::to_string(position) + ")";
    return false;
  }

  std::string error;
  bool top_is_object = false;

 private:
  bool open(bool object);
  bool close();
  bool scalar() {
    if (depth_ == 0) return fail("not a JSON object");
    return true;
  }
  bool integer(std::int64_t value);
  bool fail(std::string why) {
    error = std::move(why);
    return false;
  }
  bool in_fields() const { return depth_ == 2 && parent_key_ == "fields"; }

  ProxyEvent& event_;
  std::size_t depth_ = 0;
  bool in_categories_ = false;
  std::string key_;
  std::string parent_key_;  // the key of the depth-2 container
};

bool EventSax::open(bool object) {
  if (depth_ == 0 && !object) return fail("not a JSON object");
  if (depth_ == 0) top_is_object = true;
  if (++depth_ > kMaxEventDepth) return fail("nested too deep");
  if (depth_ == 2) {
    parent_key_ = key_;
    in_categories_ = !object && key_ == "categories";
  }
  return true;
}

bool EventSax::close() {
  if (depth_ == 2) in_categories_ = false;
  --depth_;
  return true;
}

// The text is cut before it is stored, and made printable: it may reach a debug log.
void keep(std::string& field, const std::string& value) {
  field = printable_excerpt(std::string_view(value).substr(0, kMaxEventText), kMaxEventText);
}

bool EventSax::string(string_t& value) {
  if (depth_ == 0) return fail("not a JSON object");
  if (depth_ == 1 && key_ == "event") {
    keep(event_.name, value);
  } else if (depth_ == 2 && in_categories_) {
    if (value == "lmtp") event_.lmtp = true;
  } else if (in_fields()) {
    if (key_ == "service")
      keep(event_.service, value);
    else if (key_ == "error") {
      keep(event_.error, value);
      event_.has_error = true;
    } else if (key_ == "disconnect_side")
      keep(event_.disconnect_side, value);
    else if (key_ == "user")
      keep(event_.user, value);
    else if (key_ == "dest_ip")
      event_.dest_ip = IpAddress::parse(value.substr(0, 64));
  }
  return true;
}

bool EventSax::integer(std::int64_t value) {
  if (depth_ == 0) return fail("not a JSON object");
  if (!in_fields()) return true;
  if (key_ == "dest_port" && value > 0 && value <= 65535)
    event_.dest_port = static_cast<std::uint16_t>(value);
  else if (key_ == "status_code")
    event_.status_code = value;
  else if (key_ == "bytes_in")
    event_.has_bytes = true;
  return true;
}

}  // namespace

EventParse parse_dovecot_event(std::string_view body) {
  EventParse result;
  ProxyEvent event;
  EventSax sax(event);
  bool ok = false;
  try {
    ok = json::sax_parse(body.begin(), body.end(), &sax);
  } catch (const std::exception&) {
    // sax_parse reports errors through parse_error; anything else is still bad input.
    ok = false;
  }
  if (!ok || !sax.top_is_object) {
    result.error = sax.error.empty() ? "not a JSON object" : sax.error;
    return result;
  }
  result.event = std::move(event);
  return result;
}

}  // namespace poolwatch::passive
