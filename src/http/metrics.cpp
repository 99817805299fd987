#include "poolwatch/http/metrics.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <stdexcept>

namespace poolwatch::metrics {

namespace {

bool is_name_start(char c, bool allow_colon) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (allow_colon && c == ':');
}

bool is_name_char(char c, bool allow_colon) {
  return is_name_start(c, allow_colon) || (c >= '0' && c <= '9');
}

bool is_valid_name(std::string_view name, bool allow_colon) {
  if (name.empty() || !is_name_start(name.front(), allow_colon)) return false;
  return std::all_of(name.begin(), name.end(),
                     [allow_colon](char c) { return is_name_char(c, allow_colon); });
}

}  // namespace

std::string_view to_string(MetricType t) {
  switch (t) {
    case MetricType::counter:
      return "counter";
    case MetricType::gauge:
      return "gauge";
    case MetricType::histogram:
      return "histogram";
  }
  return "untyped";
}

bool is_valid_metric_name(std::string_view name) {
  return is_valid_name(name, true);
}

bool is_valid_label_name(std::string_view name) {
  // Names starting with "__" are reserved for Prometheus itself.
  return is_valid_name(name, false) && !name.starts_with("__");
}

namespace {

// The one escaper of label values, appending so that a render needs no temporaries.
void append_escaped_label_value(std::string& out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
}

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  append_escaped_label_value(out, value);
  return out;
}

std::string escape_help(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

Family::Family(std::string name, std::string help, std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}

void Family::render(std::string& out) const {
  auto unlimited = std::numeric_limits<std::size_t>::max();
  render_some(out, std::nullopt, unlimited);
}

std::optional<LabelValues> Family::render_some(std::string& out,
                                               const std::optional<LabelValues>& resume,
                                               std::size_t& budget) const {
  if (!resume)
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name_, escape_help(help_), name_,
                       to_string(type()));
  return render_samples(out, resume ? &*resume : nullptr, budget);
}

bool Family::check_arity(const LabelValues& labels) const {
  if (labels.size() == label_names_.size()) return true;
  spdlog::error("metrics: {} takes {} labels, got {}; sample dropped", name_, label_names_.size(),
                labels.size());
  return false;
}

namespace {

// Appends name="value" with the value escaped, without a temporary string.
void append_label(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += "=\"";
  append_escaped_label_value(out, value);
  out += '"';
}

}  // namespace

std::string Family::label_block(std::string_view key) const {
  if (key.empty()) return {};
  std::string out = "{";
  std::size_t i = 0;
  detail::for_each_label(key, [&](std::string_view value) {
    if (i > 0) out += ',';
    append_label(out, label_names_[i++], value);
  });
  out += '}';
  return out;
}

std::ptrdiff_t Family::label_index(std::string_view label_name) const {
  auto it = std::find(label_names_.begin(), label_names_.end(), label_name);
  return it == label_names_.end() ? -1 : it - label_names_.begin();
}

void ScalarFamily::remove_matching(std::string_view label_name, std::string_view value) {
  auto index = label_index(label_name);
  if (index < 0) return;
  values_.erase_matching(static_cast<std::size_t>(index), value);
}

const double* ScalarFamily::find(const LabelValues& labels) const {
  return values_.find(labels);
}

double ScalarFamily::value(const LabelValues& labels) const {
  const double* v = find(labels);
  return v ? *v : 0.0;
}

// /metrics is rendered on the event loop: every series of a large pool is a few lines
// here, so each is appended in place, with no temporary per line.
std::optional<LabelValues> ScalarFamily::render_samples(std::string& out, const LabelValues* from,
                                                        std::size_t& budget) const {
  for (auto it = from ? values_.lower_bound(*from) : values_.begin(); it != values_.end(); ++it) {
    if (budget == 0) return detail::decode_labels(it->first);
    --budget;
    const auto& [key, v] = *it;
    out += name();
    out += label_block(key);
    out += ' ';
    out += format_value(v);
    out += '\n';
  }
  return std::nullopt;
}

double& ScalarFamily::series(const LabelValues& labels) {
  if (!check_arity(labels)) return wrong_arity_ = 0;
  return values_.get(labels);
}

void CounterFamily::inc(const LabelValues& labels, double by) {
  if (!check_arity(labels) || !(by >= 0)) return;
  values_.get(labels) += by;
}

void CounterFamily::touch(const LabelValues& labels) {
  if (!check_arity(labels)) return;
  values_.get(labels, 0.0);
}

void GaugeFamily::set(const LabelValues& labels, double v) {
  if (!check_arity(labels)) return;
  values_.get(labels) = v;
}

void GaugeFamily::add(const LabelValues& labels, double delta) {
  if (!check_arity(labels)) return;
  values_.get(labels) += delta;
}

HistogramFamily::HistogramFamily(std::string name, std::string help,
                                 std::vector<std::string> label_names, std::vector<double> bounds)
    : Family(std::move(name), std::move(help), std::move(label_names)), bounds_(std::move(bounds)) {
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    if (!std::isfinite(bounds_[i]) || (i > 0 && !(bounds_[i] > bounds_[i - 1])))
      throw std::invalid_argument(
          fmt::format("histogram {}: bucket bounds must be finite and increasing", this->name()));
  }
}

void HistogramFamily::observe(const LabelValues& labels, double v) {
  if (!check_arity(labels) || std::isnan(v)) return;
  observe(series_.get(labels), v);
}

HistogramFamily::Series& HistogramFamily::series(const LabelValues& labels) {
  if (!check_arity(labels)) return wrong_arity_;
  return series_.get(labels);
}

void HistogramFamily::observe(Series& into, double v) {
  if (std::isnan(v)) return;
  if (into.bucket_counts.empty()) into.bucket_counts.assign(bounds_.size() + 1, 0);
  // Bucket i counts observations with v <= bounds_[i]; the last one is +Inf.
  auto bucket = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  ++into.bucket_counts[bucket];
  into.sum += v;
  ++into.count;
}

const HistogramFamily::Series* HistogramFamily::find(const LabelValues& labels) const {
  return series_.find(labels);
}

void HistogramFamily::remove_matching(std::string_view label_name, std::string_view value) {
  auto index = label_index(label_name);
  if (index < 0) return;
  series_.erase_matching(static_cast<std::size_t>(index), value);
}

std::optional<LabelValues> HistogramFamily::render_samples(std::string& out,
                                                           const LabelValues* from,
                                                           std::size_t& budget) const {
  // The bucket lines differ only in le and the count: their start is made once per
  // series, the le labels once per render.
  std::vector<std::string> le_labels;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    std::string le;
    append_label(le, "le", i < bounds_.size() ? format_value(bounds_[i]) : "+Inf");
    le_labels.push_back(std::move(le));
  }
  const std::string bucket_name = name() + "_bucket{";
  const std::size_t lines_per_series = bounds_.size() + 3;
  for (auto it = from ? series_.lower_bound(*from) : series_.begin(); it != series_.end(); ++it) {
    if (budget == 0) return detail::decode_labels(it->first);
    budget -= std::min(budget, lines_per_series);
    const auto& [key, series] = *it;
    const auto block = label_block(key);
    // "{a="x",b="y"}" -> "a="x",b="y","; empty for a family without labels.
    const auto inner = block.empty() ? std::string() : block.substr(1, block.size() - 2) + ',';
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
      cumulative += series.bucket_counts[i];
      out += bucket_name;
      out += inner;
      out += le_labels[i];
      fmt::format_to(std::back_inserter(out), "}} {}\n", cumulative);
    }
    fmt::format_to(std::back_inserter(out), "{}_sum{} {}\n{}_count{} {}\n", name(), block,
                   format_value(series.sum), name(), block, series.count);
  }
  return std::nullopt;
}

void Registry::check_new_name(const std::string& name, const std::vector<std::string>& label_names,
                              bool histogram) const {
  if (!is_valid_metric_name(name))
    throw std::invalid_argument(fmt::format("invalid metric name '{}'", name));
  for (const auto& label : label_names) {
    if (!is_valid_label_name(label) || (histogram && label == "le"))
      throw std::invalid_argument(fmt::format("metric {}: invalid label name '{}'", name, label));
    if (std::count(label_names.begin(), label_names.end(), label) > 1)
      throw std::invalid_argument(fmt::format("metric {}: label '{}' repeated", name, label));
  }
  // A histogram owns three sample names besides its own; none may clash.
  auto owned_names = [](const std::string& n, bool is_histogram) {
    std::vector<std::string> names{n};
    if (is_histogram) names.insert(names.end(), {n + "_bucket", n + "_sum", n + "_count"});
    return names;
  };
  auto wanted = owned_names(name, histogram);
  for (const auto& family : families_) {
    for (const auto& taken : owned_names(family->name(), family->type() == MetricType::histogram))
      if (std::find(wanted.begin(), wanted.end(), taken) != wanted.end())
        throw std::invalid_argument(fmt::format("metric {} clashes with {}", name, family->name()));
  }
}

CounterFamily& Registry::counter(std::string name, std::string help,
                                 std::vector<std::string> label_names) {
  check_new_name(name, label_names, false);
  auto family =
      std::make_unique<CounterFamily>(std::move(name), std::move(help), std::move(label_names));
  auto& ref = *family;
  families_.push_back(std::move(family));
  return ref;
}

GaugeFamily& Registry::gauge(std::string name, std::string help,
                             std::vector<std::string> label_names) {
  check_new_name(name, label_names, false);
  auto family =
      std::make_unique<GaugeFamily>(std::move(name), std::move(help), std::move(label_names));
  auto& ref = *family;
  families_.push_back(std::move(family));
  return ref;
}

HistogramFamily& Registry::histogram(std::string name, std::string help,
                                     std::vector<std::string> label_names,
                                     std::vector<double> bounds) {
  check_new_name(name, label_names, true);
  auto family = std::make_unique<HistogramFamily>(std::move(name), std::move(help),
                                                  std::move(label_names), std::move(bounds));
  auto& ref = *family;
  families_.push_back(std::move(family));
  return ref;
}

void Registry::remove_matching(std::string_view label_name, std::string_view value) {
  for (auto& family : families_) family->remove_matching(label_name, value);
}

const Family* Registry::find(std::string_view name) const {
  for (const auto& family : families_)
    if (family->name() == name) return family.get();
  return nullptr;
}

std::size_t Registry::series_visits() const {
  std::size_t visits = 0;
  for (const auto& family : families_) visits += family->series_visits();
  return visits;
}

std::vector<const Family*> Registry::families() const {
  std::vector<const Family*> out;
  for (const auto& family : families_) out.push_back(family.get());
  return out;
}

std::string Registry::render() const {
  std::string out;
  for (const auto& family : families_) family->render(out);
  return out;
}

bool Registry::render_some(std::string& out, RenderCursor& cursor, std::size_t budget) const {
  budget = std::max<std::size_t>(budget, 1);  // every slice moves on
  while (cursor.family < families_.size()) {
    cursor.resume = families_[cursor.family]->render_some(out, cursor.resume, budget);
    if (cursor.resume) return false;
    ++cursor.family;
  }
  return true;
}

}  // namespace poolwatch::metrics
