// DIRECTOR-LIST, the director's view of its ring, in both of Dovecot's formats: the
// input is the reply as the socket delivers it. The line-by-line parser and the
// whole-reply parser must agree, and a list that parses stays within the ring's caps,
// sorted, with at most one self.

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "poolwatch/director/director_list.hpp"

namespace {

namespace director = poolwatch::director;
using Parser = director::DirectorListParser;

void check_list(const director::DirectorList& list) {
  FUZZ_CHECK(list.directors.size() <= director::kMaxRingDirectors);
  std::size_t selves = 0;
  for (std::size_t i = 0; i < list.directors.size(); ++i) {
    const auto& d = list.directors[i];
    if (d.self) ++selves;
    FUZZ_CHECK(list.find(d.address, d.port) == &d);
    if (i > 0) {
      const auto& previous = list.directors[i - 1];
      FUZZ_CHECK(previous.address < d.address ||
                 (previous.address == d.address && previous.port < d.port));
    }
  }
  FUZZ_CHECK(selves <= 1);
  FUZZ_CHECK((selves == 1) == (list.self() != nullptr));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = poolwatch::fuzz::as_text(data, size);
  Parser parser;
  std::size_t consumed = 0;
  for (const auto line : poolwatch::fuzz::lines_of(text)) {
    const auto single = director::parse_director_list_line(line);
    FUZZ_CHECK(single.line.has_value() != !single.error.empty());
    if (parser.state() != Parser::State::need_more) break;
    // A line counts for the whole-reply parser only when its LF arrived.
    consumed += line.size() + 1;
    if (consumed > text.size()) break;
    parser.feed_line(line);
    if (parser.state() == Parser::State::failed) FUZZ_CHECK(!parser.error().empty());
  }
  const auto whole = director::parse_director_list(text);
  FUZZ_CHECK(whole.list.has_value() != !whole.error.empty());
  if (parser.state() == Parser::State::done) {
    const auto fed = parser.take();
    check_list(fed);
    if (whole.list) {
      FUZZ_CHECK(fed.directors.size() == whole.list->directors.size());
      FUZZ_CHECK(fed.format == whole.list->format);
    }
  }
  if (whole.list) {
    // The whole reply parsed: the same lines fed one by one ended the list the same way.
    FUZZ_CHECK(consumed == text.size());
    check_list(*whole.list);
  }
  return 0;
}
