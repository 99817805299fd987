#include "poolwatch/probe/sasl.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace poolwatch;

TEST(Base64, Rfc4648Vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode("\xff\xfe\x00"), "//4=");
  EXPECT_EQ(base64_encode(std::string_view("\xff\xfe\x00", 3)), "//4A");
}

TEST(SaslPlain, UserLogin) {
  // printf '\0probe\0probepass' | base64
  EXPECT_EQ(sasl_plain_response("", "probe", "probepass"), "AHByb2JlAHByb2JlcGFzcw==");
}

TEST(SaslPlain, MasterUserIsAuthcidAndUserIsAuthzid) {
  // printf 'probe\0master\0masterpass' | base64
  EXPECT_EQ(sasl_plain_response("probe", "master", "masterpass"),
            "cHJvYmUAbWFzdGVyAG1hc3RlcnBhc3M=");
}
