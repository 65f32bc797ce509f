// What a template is rendered with beside the message's data, and the check intake makes with
// it: the sender's identity, display times, and the clinic directory filling what a clinic's
// message leaves out (the message's data winning where given).
#include "dispatcher/template_values.hpp"

#include <gtest/gtest.h>

#include "dispatcher/runtime_env.hpp"

namespace dispatcher {
namespace {

using nlohmann::json;

const char* directory =
    "clinics:\n"
    "  c-102:\n"
    "    name: さくら歯科\n"
    "    contact: info@sakura.example.jp\n"
    "    phone: 03-1234-5678\n"
    "    address: 東京都渋谷区1-2-3\n"
    "    reservation_url: https://sakura.example.jp/r\n"
    "  c-200:\n"
    "    name: みどり歯科\n"
    "    contact: info@midori.example.jp\n";

Message reminder(const std::string& sender, json data) {
  Message m;
  m.id = "r-1";
  m.sender = sender;
  m.purpose = "reservation";
  m.channels = {Channel::sms, Channel::email};
  m.template_name = "reservation.reminder";
  m.data = std::move(data);
  return m;
}

TEST(TemplateValues, TheClinicDirectoryFillsWhatTheMessageLeavesOut) {
  testing_support::RuntimeEnv env("", directory);
  const Runtime& rt = env.runtime();
  const templates::Template* t = rt.catalog->find("reservation.reminder", "ja");
  ASSERT_NE(t, nullptr);
  auto injected = injected_values(
      rt, reminder("clinic:c-102", {{"name", "太郎"}, {"starts_at", "2026-12-01T10:00:00+09:00"}}),
      *t, "", "Asia/Tokyo");
  EXPECT_EQ(injected["sender_name"], "さくら歯科");
  EXPECT_EQ(injected["clinic_name"], "さくら歯科");
  EXPECT_EQ(injected["clinic_phone"], "03-1234-5678");
  EXPECT_EQ(injected["clinic_address"], "東京都渋谷区1-2-3");
  EXPECT_EQ(injected["reservation_url"], "https://sakura.example.jp/r");
  EXPECT_TRUE(injected.contains("starts_at")) << "shown as a person reads it";

  // The message's own data wins: nothing is injected over it.
  auto own = injected_values(rt, reminder("clinic:c-102", {{"clinic_phone", "03-9999-0000"}}), *t,
                             "", "Asia/Tokyo");
  EXPECT_FALSE(own.contains("clinic_phone"));
  // An entry without a phone fills nothing for it; the operator and unknown clinics get nothing.
  EXPECT_FALSE(injected_values(rt, reminder("clinic:c-200", json::object()), *t, "", "Asia/Tokyo")
                   .contains("clinic_phone"));
  EXPECT_FALSE(injected_values(rt, reminder("operator", json::object()), *t, "", "Asia/Tokyo")
                   .contains("clinic_name"));
  EXPECT_FALSE(injected_values(rt, reminder("clinic:c-999", json::object()), *t, "", "Asia/Tokyo")
                   .contains("clinic_name"));
}

TEST(TemplateValues, AReminderNeedsOnlyWhatIsAboutTheAppointment) {
  testing_support::RuntimeEnv env("", directory);
  const Runtime& rt = env.runtime();
  const templates::Template* t = rt.catalog->find("reservation.reminder", "ja");
  ASSERT_NE(t, nullptr);
  Subscriber patient;
  const json about = {{"name", "太郎"}, {"starts_at", "2026-12-01T10:00:00+09:00"}};
  auto fine = render_problem(rt, reminder("clinic:c-102", about), *t, patient, false);
  EXPECT_FALSE(fine.has_value()) << (fine ? fine->reason : "");
  // Without a directory entry (or without its phone) the same message cannot render: the reason
  // the run would dead-letter it with, which intake refuses with.
  auto missing = render_problem(rt, reminder("clinic:c-999", about), *t, patient, false);
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->reason, "template_missing_variable:clinic_name");
  auto no_phone = render_problem(rt, reminder("clinic:c-200", about), *t, patient, false);
  ASSERT_TRUE(no_phone);
  EXPECT_EQ(no_phone->reason, "template_missing_variable:clinic_phone");
}

}  // namespace
}  // namespace dispatcher
