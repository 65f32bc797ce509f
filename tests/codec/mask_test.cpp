// Log masking: what keeps personal data out of logs.
#include "codec/mask.hpp"

#include <gtest/gtest.h>

using namespace dispatcher;

TEST(Mask, AddressesAndPhoneNumbersAreMasked) {
  const std::string line = mask_personal(
      "send to taro.yamada@example.jp and +819012345678 or 09012345678 (entry 1732590000000-0)");
  EXPECT_EQ(line.find("taro.yamada@"), std::string::npos) << line;
  EXPECT_NE(line.find("@example.jp"), std::string::npos) << line;
  EXPECT_EQ(line.find("9012345678"), std::string::npos) << line;
  EXPECT_EQ(line.find("12345678"), std::string::npos) << line;
  EXPECT_NE(line.find("1732590000000-0"), std::string::npos)
      << "stream ids stay readable: " << line;
}
