#include "poolwatch/common/ip_address.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <compare>
#include <random>
#include <set>

#include "poolwatch/common/asio_address.hpp"

using namespace poolwatch;

TEST(IpAddress, ParsesAndPrintsBothFamilies) {
  for (const char* text : {"127.0.1.1", "0.0.0.0", "255.255.255.255", "::1", "2001:db8::7",
                           "::ffff:10.0.0.1", "fe80::1%3"}) {
    const auto parsed = IpAddress::parse(text);
    ASSERT_TRUE(parsed) << text;
    EXPECT_EQ(parsed->to_string(), text);
  }
  EXPECT_TRUE(make_ip_address("10.1.2.3").is_v4());
  EXPECT_TRUE(make_ip_address("2001:db8::1").is_v6());
  EXPECT_EQ(make_ip_address("2001:DB8:0::1").to_string(), "2001:db8::1");
}

// The dotted quad is made without inet_ntop; it must print as inet_ntop does.
TEST(IpAddress, PrintsEveryOctetValueAsInetNtopDoes) {
  for (unsigned value = 0; value < 256; ++value) {
    for (int position = 0; position < 4; ++position) {
      IpAddress::V4Bytes bytes{1, 20, 255, 0};
      bytes[position] = static_cast<std::uint8_t>(value);
      char expected[INET_ADDRSTRLEN] = {};
      ASSERT_NE(inet_ntop(AF_INET, bytes.data(), expected, sizeof expected), nullptr);
      EXPECT_EQ(IpAddress::v4(bytes).to_string(), expected);
    }
  }
}

TEST(IpAddress, RefusesWhatIsNotAnAddressLiteral) {
  for (const char* text :
       {"", "localhost", "mail.example", "127.0.0", "127.0.0.256", "1.2.3.4 ", " 1.2.3.4", "[::1]",
        "::1%", "1.2.3.4%1", "::1%no-such-interface0", "12345::1", "127.0.0.1\n"})
    EXPECT_FALSE(IpAddress::parse(text)) << text;
  EXPECT_FALSE(IpAddress::parse(std::string(10000, '1')));
  EXPECT_THROW(make_ip_address("bad"), InvalidIpAddress);
}

TEST(IpAddress, OrdersIpv4BeforeIpv6ThenByBytesAsAsioDoes) {
  const std::vector<std::string> sorted{"9.9.9.9", "10.0.0.2", "10.0.0.10", "::1", "2001:db8::1"};
  std::set<IpAddress> set;
  for (auto it = sorted.rbegin(); it != sorted.rend(); ++it) set.insert(make_ip_address(*it));
  std::vector<std::string> order;
  for (const auto& a : set) order.push_back(a.to_string());
  EXPECT_EQ(order, sorted);
  std::set<boost::asio::ip::address> asio_set;
  for (const auto& text : sorted) asio_set.insert(boost::asio::ip::make_address(text));
  std::vector<std::string> asio_order;
  for (const auto& a : asio_set) asio_order.push_back(a.to_string());
  EXPECT_EQ(asio_order, sorted);
}

// The order compares the bytes a word at a time: it must still be the bytes' order, in
// the first eight and the last eight, and then the scope.
TEST(IpAddress, OrdersByEveryByteThenScope) {
  std::mt19937 random(7);
  std::uniform_int_distribution<int> byte(0, 3);  // few values: many equal prefixes
  for (int i = 0; i < 20000; ++i) {
    IpAddress::V6Bytes x{}, y{};
    for (auto& b : x) b = static_cast<std::uint8_t>(byte(random) * 85);
    y = x;
    y[static_cast<std::size_t>(random() % 16)] = static_cast<std::uint8_t>(byte(random) * 85);
    const auto scope_x = static_cast<std::uint32_t>(byte(random));
    const auto scope_y = static_cast<std::uint32_t>(byte(random));
    const auto bytes_order =
        std::lexicographical_compare_three_way(x.begin(), x.end(), y.begin(), y.end());
    const auto expected = bytes_order != 0 ? bytes_order : scope_x <=> scope_y;
    EXPECT_EQ(IpAddress::v6(x, scope_x) <=> IpAddress::v6(y, scope_y), expected);
    const IpAddress::V4Bytes x4{x[0], x[1], x[2], x[3]}, y4{y[0], y[1], y[2], y[3]};
    EXPECT_EQ(IpAddress::v4(x4) <=> IpAddress::v4(y4),
              std::lexicographical_compare_three_way(x4.begin(), x4.end(), y4.begin(), y4.end()));
    EXPECT_LT(IpAddress::v4(x4), IpAddress::v6(y));
  }
}

TEST(IpAddress, LoopbackUnspecifiedAndScope) {
  EXPECT_TRUE(make_ip_address("127.9.9.9").is_loopback());
  EXPECT_TRUE(make_ip_address("::1").is_loopback());
  EXPECT_FALSE(make_ip_address("10.0.0.1").is_loopback());
  EXPECT_TRUE(IpAddress().is_unspecified());
  EXPECT_TRUE(make_ip_address("::").is_unspecified());
  EXPECT_FALSE(make_ip_address("::1").is_unspecified());
  const auto scoped = make_ip_address("fe80::1%7");
  EXPECT_EQ(scoped.scope_id(), 7u);
  EXPECT_EQ(scoped.without_scope().to_string(), "fe80::1");
  EXPECT_NE(scoped, scoped.without_scope());
}

TEST(IpAddress, CrossesToAsioAndBackUnchanged) {
  for (const char* text : {"127.0.1.1", "2001:db8::7", "fe80::1%7", "0.0.0.0"}) {
    const auto ours = make_ip_address(text);
    EXPECT_EQ(to_asio(ours).to_string(), text);
    EXPECT_EQ(from_asio(to_asio(ours)), ours);
  }
}
