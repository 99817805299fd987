#pragma once
// Internal to the ring's JSON codecs: strict reading of one JSON object from a peer.
// Every field is looked up with its type and bounds, unknown fields are refused, and the
// first problem is kept as the error (with the path to it); nothing here throws, and no
// value is taken from an object that had a problem.

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "poolwatch/common/ip_address.hpp"
#include "poolwatch/ring/ring_types.hpp"

namespace poolwatch::ring_detail {

using nlohmann::json;

// Deeper than any message of ours: refused before parsing, so that nesting cannot make
// the parser or the value's destructor work for long.
inline constexpr std::size_t kMaxJsonDepth = 8;

// Whether the text nests arrays and objects deeper than max_depth (strings skipped).
bool nests_deeper_than(std::string_view text, std::size_t max_depth);

// Parses text that must be one JSON object, within max_bytes and kMaxJsonDepth.
// nullopt with error set otherwise.
std::optional<json> parse_object(std::string_view text, std::size_t max_bytes, std::string& error);

class ObjectReader {
 public:
  // `where` names the object in errors ("backends[3]"); error is shared by the readers
  // of one message and only the first problem is kept.
  ObjectReader(const json& value, std::string where, std::string& error);

  bool ok() const { return error_.empty(); }

  // A string field of at most max_bytes, refused with a C0 control or a tab; C1 controls
  // come back replaced (printable_excerpt).
  std::optional<std::string> text(std::string_view key, std::size_t max_bytes);
  std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max);
  std::optional<bool> boolean(std::string_view key);
  std::optional<IpAddress> address(std::string_view key);
  std::optional<ring::InstanceId> instance(std::string_view key);
  // The array under key, or nullptr (with the error set) if it is missing, not an array
  // or longer than max_items.
  const json* array(std::string_view key, std::size_t max_items);
  const json* object(std::string_view key);
  // True when the key is present and null (an optional field left empty).
  bool is_null(std::string_view key);
  // A fixed text, such as the message's format name.
  bool expect(std::string_view key, std::string_view wanted);

  // Refuses keys that no call above asked for; returns ok().
  bool finish();

  std::string path(std::string_view key) const;
  void fail(std::string message);

 private:
  const json* field(std::string_view key);

  const json& value_;
  std::string where_;
  std::string& error_;
  std::set<std::string, std::less<>> seen_;
};

// An element of an array that must be an object; error set if it is not.
bool is_object_element(const json& element, const std::string& where, std::string& error);

// dump() that replaces invalid UTF-8 rather than throwing: peer text may carry any bytes.
std::string dump_compact(const json& value);

}  // namespace poolwatch::ring_detail
