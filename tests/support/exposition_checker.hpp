#pragma once
// A strict parser of the Prometheus text exposition format 0.0.4, stricter than
// Prometheus itself: it is how the tests prove /metrics output is well formed.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace poolwatch::test {

struct ExpositionSample {
  std::string name;                           // the sample name (e.g. x_bucket)
  std::string family;                         // the family it belongs to (e.g. x)
  std::map<std::string, std::string> labels;  // unescaped values
  double value = 0;
};

struct ExpositionFamily {
  std::string name;
  std::string type;
  std::string help;  // unescaped
};

struct Exposition {
  std::vector<ExpositionFamily> families;  // in order of appearance
  std::vector<ExpositionSample> samples;   // in order of appearance
  std::vector<std::string> errors;         // empty: the text is valid

  bool ok() const { return errors.empty(); }
  std::string error_text() const;
  const ExpositionFamily* family(std::string_view name) const;
  // The value of the sample with exactly these labels.
  std::optional<double> value(std::string_view name,
                              const std::map<std::string, std::string>& labels = {}) const;
  // Every sample with this name whose labels include `subset`.
  std::vector<const ExpositionSample*> find(
      std::string_view name, const std::map<std::string, std::string>& subset = {}) const;
};

// Checks: every line ends in LF, no blank lines, one HELP and one TYPE per family, both
// before its samples; families contiguous and not repeated; valid metric and label
// names; label values only with the escapes \\ \" \n; no duplicate series; values parse
// (+Inf, -Inf, NaN allowed), no timestamps; counters non-negative; histogram samples are
// _bucket/_sum/_count with le buckets strictly increasing, cumulative counts
// non-decreasing, the last bucket +Inf and _count equal to it, and _sum present.
Exposition check_exposition(std::string_view text);

}  // namespace poolwatch::test
