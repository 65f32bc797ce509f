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

TEST(Mask, RedactRemovesAddressesAndNumbersFromProviderText) {
  EXPECT_EQ(redact("550 5.1.1 <dead@example.jp>: Recipient address rejected"),
            "550 5.1.1 <address> Recipient address rejected");
  EXPECT_EQ(redact("The 'To' number +819012345678 is not a valid phone number."),
            "The 'To' number <number> is not a valid phone number.");
  EXPECT_EQ(redact("error 21211"), "error 21211");
  EXPECT_EQ(redact(std::string(500, 'x')).size(), 200u);
}

TEST(Mask, APhoneNumberKeepsItsFirstTwoAndLastThreeDigits) {
  EXPECT_EQ(mask_phone("090-1234-567"), "09*-****-567");
  EXPECT_EQ(mask_phone("+819012345678"), "+81*******678");
  EXPECT_EQ(mask_phone("+81 0000"), "+81 ****") << "a short number keeps only its first two";
  EXPECT_EQ(mask_phone("abc"), "abc");
  EXPECT_EQ(mask_personal("to +819012345678"), "to " + mask_phone("+819012345678"))
      << "one rule for a number in a line and a number on its own";
}
