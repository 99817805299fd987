#include "json_reader.hpp"

#include <fmt/format.h>

#include "poolwatch/common/text.hpp"

namespace poolwatch::ring_detail {

bool nests_deeper_than(std::string_view text, std::size_t max_depth) {
  std::size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return true;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return false;
}

std::optional<json> parse_object(std::string_view text, std::size_t max_bytes, std::string& error) {
  if (text.size() > max_bytes) {
    error = fmt::format("message of {} bytes is larger than {}", text.size(), max_bytes);
    return std::nullopt;
  }
  if (nests_deeper_than(text, kMaxJsonDepth)) {
    error = fmt::format("message nests deeper than {} levels", kMaxJsonDepth);
    return std::nullopt;
  }
  auto value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    error = "message is not valid JSON";
    return std::nullopt;
  }
  if (!value.is_object()) {
    error = "message is not a JSON object";
    return std::nullopt;
  }
  return value;
}

ObjectReader::ObjectReader(const json& value, std::string where, std::string& error)
    : value_(value), where_(std::move(where)), error_(error) {
  if (!value_.is_object()) fail(fmt::format("{} is not an object", where_));
}

std::string ObjectReader::path(std::string_view key) const {
  return where_.empty() ? std::string(key) : fmt::format("{}.{}", where_, key);
}

void ObjectReader::fail(std::string message) {
  if (error_.empty()) error_ = std::move(message);
}

const json* ObjectReader::field(std::string_view key) {
  if (!ok() || !value_.is_object()) return nullptr;
  seen_.emplace(key);
  const auto found = value_.find(key);
  if (found == value_.end()) {
    fail(fmt::format("{} is missing", path(key)));
    return nullptr;
  }
  return &*found;
}

std::optional<std::string> ObjectReader::text(std::string_view key, std::size_t max_bytes) {
  const json* value = field(key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_string()) {
    fail(fmt::format("{} is not a string", path(key)));
    return std::nullopt;
  }
  const auto& text = value->get_ref<const std::string&>();
  if (text.size() > max_bytes) {
    fail(fmt::format("{} is longer than {} bytes", path(key), max_bytes));
    return std::nullopt;
  }
  if (has_control_bytes(text) || text.find('\t') != std::string::npos) {
    fail(fmt::format("{} has control characters", path(key)));
    return std::nullopt;
  }
  // The parser admits only valid UTF-8, but C1 controls are valid UTF-8: replaced, not
  // refused, since an older peer may still relay them from a backend's reply.
  return printable_excerpt(text, max_bytes);
}

std::optional<std::int64_t> ObjectReader::integer(std::string_view key, std::int64_t min,
                                                  std::int64_t max) {
  const json* value = field(key);
  if (value == nullptr) return std::nullopt;
  std::optional<std::int64_t> number;
  if (value->is_number_unsigned()) {
    const auto raw = value->get<std::uint64_t>();
    if (raw <= static_cast<std::uint64_t>(max)) number = static_cast<std::int64_t>(raw);
  } else if (value->is_number_integer()) {
    number = value->get<std::int64_t>();
  } else {
    fail(fmt::format("{} is not an integer", path(key)));
    return std::nullopt;
  }
  if (!number || *number < min || *number > max) {
    fail(fmt::format("{} is outside {}..{}", path(key), min, max));
    return std::nullopt;
  }
  return number;
}

std::optional<bool> ObjectReader::boolean(std::string_view key) {
  const json* value = field(key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_boolean()) {
    fail(fmt::format("{} is not true or false", path(key)));
    return std::nullopt;
  }
  return value->get<bool>();
}

std::optional<IpAddress> ObjectReader::address(std::string_view key) {
  const auto text = this->text(key, 64);
  if (!text) return std::nullopt;
  auto address =
      text->find('%') == std::string::npos ? IpAddress::parse(*text) : std::optional<IpAddress>{};
  if (!address) fail(fmt::format("{} is not an IP address: \"{}\"", path(key), *text));
  return address;
}

std::optional<ring::InstanceId> ObjectReader::instance(std::string_view key) {
  const auto text = this->text(key, 64);
  if (!text) return std::nullopt;
  auto id = ring::InstanceId::parse(*text);
  if (!id) fail(fmt::format("{} is not a ring address ip:port: \"{}\"", path(key), *text));
  return id;
}

const json* ObjectReader::array(std::string_view key, std::size_t max_items) {
  const json* value = field(key);
  if (value == nullptr) return nullptr;
  if (!value->is_array()) {
    fail(fmt::format("{} is not an array", path(key)));
    return nullptr;
  }
  if (value->size() > max_items) {
    fail(fmt::format("{} has more than {} entries", path(key), max_items));
    return nullptr;
  }
  return value;
}

const json* ObjectReader::object(std::string_view key) {
  const json* value = field(key);
  if (value == nullptr) return nullptr;
  if (!value->is_object()) {
    fail(fmt::format("{} is not an object", path(key)));
    return nullptr;
  }
  return value;
}

bool ObjectReader::is_null(std::string_view key) {
  const json* value = field(key);
  return value != nullptr && value->is_null();
}

bool ObjectReader::expect(std::string_view key, std::string_view wanted) {
  const auto text = this->text(key, 64);
  if (text && *text != wanted)
    fail(fmt::format("{} is \"{}\", not \"{}\"", path(key), *text, wanted));
  return ok();
}

bool ObjectReader::finish() {
  if (!ok() || !value_.is_object()) return ok();
  for (const auto& [key, value] : value_.items()) {
    if (!seen_.contains(key)) {
      fail(fmt::format("{} is not a known field", path(printable_excerpt(key, 40, false))));
      break;
    }
  }
  return ok();
}

bool is_object_element(const json& element, const std::string& where, std::string& error) {
  if (element.is_object()) return true;
  if (error.empty()) error = fmt::format("{} is not an object", where);
  return false;
}

std::string dump_compact(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace poolwatch::ring_detail
