#include "channels/email/mime.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <sstream>
#include <vector>

#include "codec/base64.hpp"

namespace dispatcher::channels::email {
namespace {

std::string unbase64(std::string_view in) {
  std::string flat;
  for (char c : in)
    if (c != '\r' && c != '\n') flat += c;
  return base64_decode(flat).value();
}

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::size_t n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
    i += n;
  }
  return true;
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < s.size()) {
    auto nl = s.find("\r\n", pos);
    if (nl == std::string::npos) nl = s.size();
    out.push_back(s.substr(pos, nl - pos));
    pos = nl + 2;
  }
  return out;
}

// Decodes a header value made of encoded-words (whitespace between words ignored).
std::string decode_words(const std::string& v) {
  static const std::regex word(R"(=\?UTF-8\?B\?([A-Za-z0-9+/=]*)\?=)");
  std::string out;
  for (std::sregex_iterator it(v.begin(), v.end(), word), end; it != end; ++it) {
    const std::string piece = unbase64((*it)[1].str());
    EXPECT_TRUE(valid_utf8(piece)) << "an encoded-word splits a UTF-8 sequence";
    EXPECT_LE(it->length(), 75);
    out += piece;
  }
  return out;
}

TEST(Mime, Base64LinesAreAtMost76Characters) {
  const std::string lined = base64_lines(std::string(200, 'x'));
  for (const auto& l : lines(lined)) EXPECT_LE(l.size(), 76u);
  EXPECT_EQ(unbase64(lined), std::string(200, 'x'));
}

TEST(Mime, ReferenceEncodedWordsFromProvidersMd) {
  EXPECT_EQ(encode_unstructured("予約のお知らせ", 9), "=?UTF-8?B?5LqI57SE44Gu44GK55+l44KJ44Gb?=");
  EXPECT_EQ(format_mailbox("山田クリニック", "no-reply@clinic.example.jp", 6),
            "=?UTF-8?B?5bGx55Sw44Kv44Oq44OL44OD44Kv?= <no-reply@clinic.example.jp>");
}

TEST(Mime, LongJapaneseSubjectSplitsOnCharacterBoundariesAndFolds) {
  std::string subject;
  for (int i = 0; i < 12; ++i)
    subject += "さくら歯科🦷予約";  // 3-byte and 4-byte characters
  const std::string header = "Subject: " + encode_unstructured(subject, 9);
  for (const auto& l : lines(header)) EXPECT_LE(l.size(), 76u) << l;
  EXPECT_GT(lines(header).size(), 3u);
  EXPECT_EQ(decode_words(header), subject);
}

TEST(Mime, AsciiHeadersStayReadableAndCrLfIsDropped) {
  EXPECT_EQ(encode_unstructured("Your appointment", 9), "Your appointment");
  EXPECT_EQ(encode_unstructured("evil\r\nBcc: x@y", 9), "evilBcc: x@y");
  EXPECT_EQ(format_mailbox("Sakura Dental", "a@b.jp", 6), "Sakura Dental <a@b.jp>");
  EXPECT_EQ(format_mailbox("Dr. \"X\"", "a@b.jp", 6), "\"Dr. \\\"X\\\"\" <a@b.jp>");
  const std::string long_ascii(30, 'a');
  const std::string folded =
      encode_unstructured(long_ascii + " " + long_ascii + " " + long_ascii, 9);
  for (const auto& l : lines("Subject: " + folded)) EXPECT_LE(l.size(), 76u);
}

TEST(Mime, DateIsRfc5322WithNumericZone) {
  using namespace std::chrono;
  const auto t = sys_days{year{2025} / 11 / 25} + hours{0} + minutes{30};
  EXPECT_EQ(format_date(t, 540), "Tue, 25 Nov 2025 09:30:00 +0900");
  EXPECT_EQ(format_date(t, 0), "Tue, 25 Nov 2025 00:30:00 +0000");
}

Mail sample(bool marketing) {
  Mail m;
  m.from_name = "さくら歯科";
  m.from_address = "no-reply@clinic.example.jp";
  m.to = "taro@example.jp";
  m.subject = "【さくら歯科】明日のご予約のお知らせ";
  m.text = "山田様\n明日10:00のご予約です。\n.\n";
  m.html = "<p>山田様</p><p>明日10:00のご予約です。</p>";
  m.marketing = marketing;
  if (marketing) {
    m.unsubscribe_url = "https://notify.example.jp/u/Opaque-Token";
    m.unsubscribe_mailto = "unsub@example.jp?subject=unsubscribe";
  }
  return m;
}

TEST(Mime, MessageStructure) {
  const auto now = std::chrono::sys_days{std::chrono::year{2026} / 11 / 25};
  const auto built = build_message(sample(false), now, 540, "3f1c0a9b", "notify.example.jp");
  const std::string& d = built.data;
  EXPECT_EQ(built.message_id, "<3f1c0a9b@notify.example.jp>");
  EXPECT_EQ(d.find("\n"), d.find("\r\n") + 1);
  for (std::size_t i = 0; i < d.size(); ++i)
    if (d[i] == '\n') ASSERT_EQ(d[i - 1], '\r') << "bare LF at " << i;
  for (const auto& l : lines(d)) EXPECT_LE(l.size(), 76u) << l;
  EXPECT_NE(d.find("Date: Wed, 25 Nov 2026 09:00:00 +0900\r\n"), std::string::npos);
  EXPECT_NE(d.find("Message-ID: <3f1c0a9b@notify.example.jp>\r\n"), std::string::npos);
  EXPECT_NE(d.find("MIME-Version: 1.0\r\n"), std::string::npos);
  EXPECT_NE(d.find("To: <taro@example.jp>\r\n"), std::string::npos);
  EXPECT_NE(d.find("Content-Type: multipart/alternative;\r\n boundary=\"=_alt_3f1c0a9b\""),
            std::string::npos);
  const auto text = d.find("Content-Type: text/plain; charset=UTF-8");
  const auto html = d.find("Content-Type: text/html; charset=UTF-8");
  ASSERT_NE(text, std::string::npos);
  ASSERT_NE(html, std::string::npos);
  EXPECT_LT(text, html) << "text/plain must come first, html last";
  EXPECT_NE(d.find("--=_alt_3f1c0a9b--\r\n"), std::string::npos);
  EXPECT_EQ(d.find("List-Unsubscribe"), std::string::npos)
      << "reminders carry no unsubscribe headers";
  // The subject decodes back to the Japanese text.
  const auto s = d.find("Subject: ");
  const auto e = d.find("\r\n", s);
  std::string subject = d.substr(s, e - s);
  for (auto n = e; d.compare(n, 3, "\r\n ") == 0; n = d.find("\r\n", n + 2))
    subject += d.substr(n, d.find("\r\n", n + 2) - n);
  EXPECT_EQ(decode_words(subject), sample(false).subject);
}

TEST(Mime, MarketingCarriesOneClickUnsubscribe) {
  const auto built =
      build_message(sample(true), std::chrono::system_clock::now(), 540, "abc", "example.jp");
  EXPECT_NE(built.data.find("List-Unsubscribe: <https://notify.example.jp/u/Opaque-Token>,\r\n "
                            "<mailto:unsub@example.jp?subject=unsubscribe>\r\n"),
            std::string::npos);
  EXPECT_NE(built.data.find("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"),
            std::string::npos);
}

TEST(Mime, ValidateRefusesBadInput) {
  EXPECT_EQ(validate(sample(false)), std::nullopt);
  EXPECT_EQ(validate(sample(true)), std::nullopt);
  auto m = sample(true);
  m.unsubscribe_url = "http://insecure.example.jp/u/x";
  EXPECT_TRUE(validate(m).has_value());
  m = sample(false);
  m.to = "taro@example.jp>\r\nBcc: x@y";
  EXPECT_TRUE(validate(m).has_value());
  m.to = "no-at-sign";
  EXPECT_TRUE(validate(m).has_value());
}

}  // namespace
}  // namespace dispatcher::channels::email
