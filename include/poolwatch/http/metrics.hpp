#pragma once
// A minimal metrics registry (counters, gauges, histograms with label sets) rendered in
// the Prometheus text exposition format 0.0.4. It exists so that poolwatch needs no
// client library; it is not thread-safe because everything runs on one io_context.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "poolwatch/http/series_table.hpp"

namespace poolwatch::metrics {

enum class MetricType { counter, gauge, histogram };
std::string_view to_string(MetricType t);

bool is_valid_metric_name(std::string_view name);
bool is_valid_label_name(std::string_view name);

// Exposition escaping: label values escape backslash, double quote and newline; HELP
// text escapes backslash and newline only.
std::string escape_label_value(std::string_view value);
std::string escape_help(std::string_view help);
// A sample value as Prometheus parses it: "+Inf", "-Inf", "NaN" or the shortest
// round-tripping decimal.
std::string format_value(double value);

class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names);
  virtual ~Family() = default;
  Family(const Family&) = delete;
  Family& operator=(const Family&) = delete;

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  virtual MetricType type() const = 0;

  virtual std::size_t series_count() const = 0;
  virtual void remove(const LabelValues& labels) = 0;
  // Removes every series whose label `label_name` equals `value`; a family without
  // that label is left alone. O(log N + removed) in the number of series N.
  virtual void remove_matching(std::string_view label_name, std::string_view value) = 0;
  virtual void clear() = 0;
  // The series table's visits() (label keys looked up, series walked), for tests.
  virtual std::size_t series_visits() const = 0;

  // Appends HELP, TYPE and every sample line of this family.
  void render(std::string& out) const;
  // The same a slice at a time: the header when `resume` is empty, then the series from
  // the first one not before *resume, until `budget` (in lines) is spent. Returns where
  // the next slice resumes, or nullopt when the family is done.
  std::optional<LabelValues> render_some(std::string& out, const std::optional<LabelValues>& resume,
                                         std::size_t& budget) const;

 protected:
  // False (and an error log line) when the caller passed the wrong number of labels:
  // a programming error that must not take the daemon down.
  bool check_arity(const LabelValues& labels) const;
  // {name="value",...} of a series' encoded key (detail::encode_labels).
  std::string label_block(std::string_view key) const;
  std::ptrdiff_t label_index(std::string_view label_name) const;
  // Sample lines from the first series not before *from (every series when null) until
  // `budget` lines are spent; returns the first series not written, nullopt at the end.
  virtual std::optional<LabelValues> render_samples(std::string& out, const LabelValues* from,
                                                    std::size_t& budget) const = 0;

 private:
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
};

// Counters and gauges share storage; only what may be done to the value differs.
class ScalarFamily : public Family {
 public:
  using Family::Family;
  std::size_t series_count() const override { return values_.size(); }
  void remove(const LabelValues& labels) override { values_.erase(labels); }
  void remove_matching(std::string_view label_name, std::string_view value) override;
  void clear() override { values_.clear(); }
  std::size_t series_visits() const override { return values_.visits(); }
  // The series' value, created at 0 when new: a reference for a caller that updates the
  // same series on every probe and would otherwise look its labels up each time. Valid
  // until the series is removed (remove, remove_matching, clear). A counter's must only
  // grow.
  double& series(const LabelValues& labels);
  // The current value, or nullptr when the series does not exist.
  const double* find(const LabelValues& labels) const;
  double value(const LabelValues& labels) const;  // 0 when absent

 protected:
  std::optional<LabelValues> render_samples(std::string& out, const LabelValues* from,
                                            std::size_t& budget) const override;
  detail::SeriesTable<double> values_;

 private:
  double wrong_arity_ = 0;  // what series() hands out for a wrong number of labels
};

class CounterFamily final : public ScalarFamily {
 public:
  using ScalarFamily::ScalarFamily;
  MetricType type() const override { return MetricType::counter; }
  // Negative increments are ignored: a counter only goes up.
  void inc(const LabelValues& labels, double by = 1);
  // Creates the series at 0 so rate() sees its first increment.
  void touch(const LabelValues& labels);
};

class GaugeFamily final : public ScalarFamily {
 public:
  using ScalarFamily::ScalarFamily;
  MetricType type() const override { return MetricType::gauge; }
  void set(const LabelValues& labels, double value);
  void add(const LabelValues& labels, double delta);
};

class HistogramFamily final : public Family {
 public:
  struct Series {
    std::vector<std::uint64_t> bucket_counts;  // per bound, NOT cumulative; last is +Inf
    double sum = 0;
    std::uint64_t count = 0;
  };

  // `bounds` must be finite and strictly increasing; +Inf is implicit.
  HistogramFamily(std::string name, std::string help, std::vector<std::string> label_names,
                  std::vector<double> bounds);
  MetricType type() const override { return MetricType::histogram; }
  const std::vector<double>& bounds() const { return bounds_; }

  void observe(const LabelValues& labels, double value);
  // The series, created empty when new: a reference for a caller that observes into the
  // same series on every probe, valid until the series is removed (as ScalarFamily's).
  Series& series(const LabelValues& labels);
  void observe(Series& into, double value);
  const Series* find(const LabelValues& labels) const;

  std::size_t series_count() const override { return series_.size(); }
  void remove(const LabelValues& labels) override { series_.erase(labels); }
  void remove_matching(std::string_view label_name, std::string_view value) override;
  void clear() override { series_.clear(); }
  std::size_t series_visits() const override { return series_.visits(); }

 protected:
  std::optional<LabelValues> render_samples(std::string& out, const LabelValues* from,
                                            std::size_t& budget) const override;

 private:
  std::vector<double> bounds_;
  Series wrong_arity_;  // what series() hands out for a wrong number of labels
  detail::SeriesTable<Series> series_;
};

// Where a sliced render of a registry stands (Registry::render_some).
struct RenderCursor {
  std::size_t family = 0;
  std::optional<LabelValues> resume;  // within families()[family]; empty: not started
};

class Registry {
 public:
  // Registration happens at startup: an invalid or duplicate name throws
  // std::invalid_argument. The returned reference lives as long as the registry.
  CounterFamily& counter(std::string name, std::string help,
                         std::vector<std::string> label_names = {});
  GaugeFamily& gauge(std::string name, std::string help, std::vector<std::string> label_names = {});
  HistogramFamily& histogram(std::string name, std::string help,
                             std::vector<std::string> label_names, std::vector<double> bounds);

  // Removes every series carrying label_name=value from every family.
  void remove_matching(std::string_view label_name, std::string_view value);

  const Family* find(std::string_view name) const;
  std::vector<const Family*> families() const;
  // The sum of the families' series_visits(), for tests.
  std::size_t series_visits() const;

  // The whole registry in text format 0.0.4, families in registration order.
  std::string render() const;
  // The same a slice of about `budget` lines at a time, so that a pool of 100 000
  // backends never holds the event loop for seconds: appends the next slice and returns
  // true once the text is complete. Series added or removed between slices are seen or
  // not as they come (each series' lines stay whole), as in any scrape.
  bool render_some(std::string& out, RenderCursor& cursor, std::size_t budget) const;

 private:
  void check_new_name(const std::string& name, const std::vector<std::string>& label_names,
                      bool histogram) const;
  std::vector<std::unique_ptr<Family>> families_;
};

inline constexpr std::string_view kExpositionContentType =
    "text/plain; version=0.0.4; charset=utf-8";

}  // namespace poolwatch::metrics
