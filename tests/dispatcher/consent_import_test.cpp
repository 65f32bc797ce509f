// `dispatcher consent import` of a large list with a few bad lines, end to end: every good line
// is a proof in the system of record and a consent the gate reads, the bad ones are named by
// line number, and the exit says some were refused.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "dispatcher/dispatcher_env.hpp"

using namespace testing_support;
using nlohmann::json;

TEST(ConsentImport, TenThousandLinesWithThreeBadOnes) {
  DispatcherEnv env;
  std::string text;
  const std::set<int> bad_lines{17, 5000, 9999};
  for (int n = 1; n <= 10000; ++n) {
    if (n == 17)
      text += "{not json\n";
    else if (n == 5000)
      text += R"({"subject":"m-5000","channel":"email"})"
              "\n";  // no source
    else if (n == 9999)
      text += R"({"subject":"m-9999","channel":"fax","source":"crm"})"
              "\n";
    else
      text += json{{"subject", "m-" + std::to_string(n)},
                   {"channel", n % 2 ? "email" : "sms"},
                   {"source", "crm_export"},
                   {"wording", "mail-optin-v3"},
                   {"at", "2025-06-01T09:00:00+09:00"}}
                  .dump() +
              "\n";
  }
  auto r = env.run({"consent", "import", "-"}, text);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  for (int n : bad_lines)
    EXPECT_NE(r.err.find("line " + std::to_string(n) + ": - invalid_consent:"), std::string::npos)
        << n << ": " << r.err.substr(0, 500);
  EXPECT_NE(r.err.find("line 5000: - invalid_consent:missing_field: source is required"),
            std::string::npos);
  EXPECT_NE(r.err.find("imported 9997 consent proofs, 3 invalid lines refused"), std::string::npos)
      << r.err;

  auto db = env.database().connect();
  EXPECT_EQ(*db.exec("SELECT count(*) FROM consent_proofs").rows.at(0).at(0), "9997");
  EXPECT_EQ(*db.exec("SELECT count(DISTINCT subject) FROM consent_proofs").rows.at(0).at(0),
            "9997");
  // The proof as history shows it: when the person agreed, how, and who moved it in.
  auto h = env.history("m-1");
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0]["event"], "consent");
  EXPECT_EQ(h[0]["channel"], "email");
  EXPECT_EQ(h[0]["source"], "crm_export");
  EXPECT_EQ(h[0]["wording"], "mail-optin-v3");
  EXPECT_EQ(h[0]["time"], "2025-06-01T00:00:00Z");
  EXPECT_TRUE(env.history("m-5000").empty());
  // The gate's flag is set too.
  EXPECT_FALSE(
      env.redis().run(dispatcher::redis::cmd("HGET", "dsp:state:m-2", "consent:sms")).is_nil());
}

TEST(ConsentImport, OneConsentStillNeedsItsArguments) {
  DispatcherEnv env;
  auto r = env.run({"consent", "m-1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("consent needs SUBJECT CHANNEL --source S"), std::string::npos) << r.err;
  r = env.run({"consent", "m-1", "email", "--source", "form"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}
