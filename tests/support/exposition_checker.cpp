#include "support/exposition_checker.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <set>

namespace poolwatch::test {

namespace {

bool name_start(char c, bool colon) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
}
bool name_char(char c, bool colon) {
  return name_start(c, colon) || (c >= '0' && c <= '9');
}

// Reads a name at `pos`; empty when none.
std::string read_name(std::string_view line, std::size_t& pos, bool colon) {
  std::size_t start = pos;
  if (pos < line.size() && name_start(line[pos], colon)) {
    ++pos;
    while (pos < line.size() && name_char(line[pos], colon)) ++pos;
  }
  return std::string(line.substr(start, pos - start));
}

std::optional<double> parse_value(std::string_view s) {
  if (s == "+Inf") return std::numeric_limits<double>::infinity();
  if (s == "-Inf") return -std::numeric_limits<double>::infinity();
  if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  if (std::isinf(v) || std::isnan(v)) return std::nullopt;  // only the spellings above
  return v;
}

struct HistogramSeries {
  std::vector<std::pair<double, double>> buckets;  // le, cumulative count
  std::optional<double> sum;
  std::optional<double> count;
};

class Checker {
 public:
  Exposition run(std::string_view text) {
    if (!text.empty() && text.back() != '\n') error(0, "the last line does not end in LF");
    std::size_t line_no = 0;
    std::size_t start = 0;
    while (start < text.size()) {
      auto end = text.find('\n', start);
      if (end == std::string_view::npos) end = text.size();
      ++line_no;
      line(line_no, text.substr(start, end - start));
      start = end + 1;
    }
    finish();
    return std::move(result_);
  }

 private:
  void error(std::size_t line_no, std::string message) {
    result_.errors.push_back(fmt::format("line {}: {}", line_no, message));
  }

  void line(std::size_t n, std::string_view text) {
    if (text.empty()) return error(n, "blank line");
    if (text.find('\r') != std::string_view::npos) return error(n, "carriage return");
    if (text.starts_with("# HELP ") || text.starts_with("# TYPE ")) return meta(n, text);
    if (text.starts_with("#")) return error(n, "unexpected comment");
    sample(n, text);
  }

  void meta(std::size_t n, std::string_view text) {
    bool help = text.starts_with("# HELP ");
    std::size_t pos = 7;
    auto name = read_name(text, pos, true);
    if (name.empty()) return error(n, "HELP/TYPE without a valid metric name");
    if (pos >= text.size() || text[pos] != ' ') return error(n, "no text after the name");
    auto rest = text.substr(pos + 1);
    open_family(n, name);
    auto& family = declared_[name];
    family.name = name;
    if (started_.contains(name)) return error(n, name + ": HELP/TYPE after its samples");
    if (help) {
      if (!family_help_.insert(name).second) return error(n, name + ": HELP twice");
      std::string unescaped;
      for (std::size_t i = 0; i < rest.size(); ++i) {
        if (rest[i] != '\\') {
          unescaped += rest[i];
          continue;
        }
        if (i + 1 >= rest.size()) return error(n, "HELP ends in a lone backslash");
        char e = rest[++i];
        if (e == '\\')
          unescaped += '\\';
        else if (e == 'n')
          unescaped += '\n';
        else
          return error(n, fmt::format("bad escape \\{} in HELP", e));
      }
      family.help = unescaped;
    } else {
      if (!family.type.empty()) return error(n, name + ": TYPE twice");
      if (rest != "counter" && rest != "gauge" && rest != "histogram" && rest != "summary" &&
          rest != "untyped")
        return error(n, fmt::format("{}: unknown type '{}'", name, rest));
      family.type = std::string(rest);
    }
  }

  // A family's lines must be contiguous: switching back to an earlier one is an error.
  void open_family(std::size_t n, const std::string& family) {
    if (family == current_) return;
    if (closed_.contains(family)) error(n, family + ": lines of the family are not contiguous");
    if (!current_.empty()) closed_.insert(current_);
    current_ = family;
    if (std::find(order_.begin(), order_.end(), family) == order_.end()) order_.push_back(family);
  }

  std::string family_of(const std::string& name) const {
    auto it = declared_.find(name);
    if (it != declared_.end() && !it->second.type.empty() && it->second.type != "histogram")
      return name;
    for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
      if (!name.ends_with(suffix)) continue;
      auto base = name.substr(0, name.size() - suffix.size());
      auto b = declared_.find(base);
      if (b != declared_.end() && b->second.type == "histogram") return base;
    }
    return {};
  }

  void sample(std::size_t n, std::string_view text) {
    std::size_t pos = 0;
    ExpositionSample s;
    s.name = read_name(text, pos, true);
    if (s.name.empty()) return error(n, "sample without a valid metric name");
    if (pos < text.size() && text[pos] == '{') {
      if (!labels(n, text, ++pos, s.labels)) return;
    }
    if (pos >= text.size() || text[pos] != ' ') return error(n, "no space before the value");
    auto value_text = text.substr(pos + 1);
    if (value_text.find(' ') != std::string_view::npos)
      return error(n, "timestamps or trailing fields are not expected");
    auto value = parse_value(value_text);
    if (!value) return error(n, fmt::format("bad value '{}'", value_text));
    s.value = *value;
    s.family = family_of(s.name);
    if (s.family.empty()) return error(n, s.name + ": sample without a TYPE for its family");
    const auto& decl = declared_[s.family];
    if (!family_help_.contains(s.family)) error(n, s.family + ": sample without HELP");
    open_family(n, s.family);
    started_.insert(s.family);
    std::string key = s.name;
    for (const auto& [k, v] : s.labels) key += fmt::format("\x1f{}\x1e{}", k, v);
    if (!series_.insert(key).second) error(n, "duplicate series " + std::string(text));
    if (decl.type == "counter" && !(s.value >= 0)) error(n, s.name + ": negative counter");
    if (decl.type == "histogram") histogram(n, s);
    result_.samples.push_back(std::move(s));
  }

  bool labels(std::size_t n, std::string_view text, std::size_t& pos,
              std::map<std::string, std::string>& out) {
    for (;;) {
      auto label = read_name(text, pos, false);
      if (label.empty()) return error(n, "bad or empty label name"), false;
      if (label.starts_with("__")) return error(n, "reserved label name " + label), false;
      if (pos + 1 >= text.size() || text[pos] != '=' || text[pos + 1] != '"')
        return error(n, "label without =\""), false;
      pos += 2;
      std::string value;
      for (;;) {
        if (pos >= text.size()) return error(n, "unterminated label value"), false;
        char c = text[pos++];
        if (c == '"') break;
        if (c != '\\') {
          value += c;
          continue;
        }
        if (pos >= text.size()) return error(n, "unterminated escape"), false;
        char e = text[pos++];
        if (e == '\\')
          value += '\\';
        else if (e == '"')
          value += '"';
        else if (e == 'n')
          value += '\n';
        else
          return error(n, fmt::format("bad escape \\{} in a label value", e)), false;
      }
      if (!out.emplace(label, value).second) return error(n, "label repeated: " + label), false;
      if (pos >= text.size()) return error(n, "unterminated label set"), false;
      if (text[pos] == '}') {
        ++pos;
        return true;
      }
      if (text[pos] != ',') return error(n, "expected , or } after a label"), false;
      ++pos;
    }
  }

  void histogram(std::size_t n, const ExpositionSample& s) {
    auto labels = s.labels;
    std::optional<double> le;
    if (s.name.ends_with("_bucket")) {
      auto it = labels.find("le");
      if (it == labels.end()) return error(n, s.name + ": bucket without le");
      le = parse_value(it->second);
      if (!le || std::isnan(*le)) return error(n, s.name + ": bad le " + it->second);
      labels.erase(it);
    } else if (labels.contains("le")) {
      return error(n, s.name + ": le outside a bucket");
    }
    std::string key = s.family;
    for (const auto& [k, v] : labels) key += fmt::format("\x1f{}\x1e{}", k, v);
    auto& h = histograms_[key];
    if (le) {
      if (h.sum || h.count) error(n, s.name + ": bucket after _sum/_count");
      if (!h.buckets.empty()) {
        if (!(*le > h.buckets.back().first)) error(n, s.name + ": le not increasing");
        if (s.value < h.buckets.back().second) error(n, s.name + ": buckets not cumulative");
      }
      h.buckets.emplace_back(*le, s.value);
    } else if (s.name.ends_with("_sum")) {
      h.sum = s.value;
    } else {
      h.count = s.value;
    }
  }

  void finish() {
    for (const auto& [key, h] : histograms_) {
      auto name = key.substr(0, key.find('\x1f'));
      if (h.buckets.empty() || !std::isinf(h.buckets.back().first))
        error(0, name + ": a series has no +Inf bucket");
      if (!h.sum) error(0, name + ": a series has no _sum");
      if (!h.count) error(0, name + ": a series has no _count");
      if (h.count && !h.buckets.empty() && *h.count != h.buckets.back().second)
        error(0, name + ": _count differs from the +Inf bucket");
    }
    for (const auto& name : order_) {
      const auto& decl = declared_[name];
      if (decl.type.empty()) error(0, name + ": HELP without TYPE");
      if (!family_help_.contains(name)) error(0, name + ": TYPE without HELP");
      result_.families.push_back(decl);
    }
  }

  Exposition result_;
  std::map<std::string, ExpositionFamily, std::less<>> declared_;
  std::set<std::string> family_help_;
  std::set<std::string> started_;
  std::set<std::string> closed_;
  std::set<std::string> series_;
  std::vector<std::string> order_;
  std::string current_;
  std::map<std::string, HistogramSeries> histograms_;
};

}  // namespace

std::string Exposition::error_text() const {
  std::string out;
  for (const auto& e : errors) out += e + "\n";
  return out;
}

const ExpositionFamily* Exposition::family(std::string_view name) const {
  for (const auto& f : families)
    if (f.name == name) return &f;
  return nullptr;
}

std::optional<double> Exposition::value(std::string_view name,
                                        const std::map<std::string, std::string>& labels) const {
  for (const auto& s : samples)
    if (s.name == name && s.labels == labels) return s.value;
  return std::nullopt;
}

std::vector<const ExpositionSample*> Exposition::find(
    std::string_view name, const std::map<std::string, std::string>& subset) const {
  std::vector<const ExpositionSample*> out;
  for (const auto& s : samples) {
    if (s.name != name) continue;
    bool match = true;
    for (const auto& [k, v] : subset) {
      auto it = s.labels.find(k);
      if (it == s.labels.end() || it->second != v) match = false;
    }
    if (match) out.push_back(&s);
  }
  return out;
}

Exposition check_exposition(std::string_view text) {
  return Checker().run(text);
}

}  // namespace poolwatch::test
