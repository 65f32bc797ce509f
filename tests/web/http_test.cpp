// The HTTP surface end to end: `dispatcher serve` on a loopback port against a private Redis.
// Every refusal is checked for its status and for leaving Redis exactly as it was.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/asio/ip/tcp.hpp>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "model/keys.hpp"
#include "model/message.hpp"
#include "model/unsubscribe_token.hpp"
#include "web/text.hpp"
#include "web/web_env.hpp"
#include "web/webhooks.hpp"

namespace web_testing {
namespace {

using dispatcher::redis::cmd;
using nlohmann::json;

json clinic_reminder(const std::string& id, const std::string& clinic = "c-102",
                     const std::string& phone = "+819012345678") {
  return {
      {"id", id},
      {"sender", "clinic:" + clinic},
      {"purpose", "reservation"},
      {"to", {{"contact", {{"phone", phone}}}, {"clinic", clinic}, {"source", "patient_registry"}}},
      {"channels", {"sms"}},
      {"template", "reservation.reminder"},
      {"data",
       {{"name", "患者"},
        {"clinic_name", "さくら歯科"},
        {"starts_at", "12月1日 10:00"},
        {"clinic_phone", "03-1234-5678"},
        {"reservation_url", "https://example.jp/r"}}}};
}

json member_ad(const std::string& id, const std::string& member = "m-1",
               const std::string& purpose = "advertising",
               const std::string& tmpl = "advertising.newsletter") {
  return {{"id", id},
          {"sender", "operator"},
          {"purpose", purpose},
          {"to", {{"subscriber", member}}},
          {"channels", {"email"}},
          {"template", tmpl},
          {"data",
           {{"name", "会員"},
            {"headline", "冬のお知らせ"},
            {"summary", "今月のご案内です"},
            {"article_url", "https://example.jp/a"}}}};
}

// Stores a member m-1 (e-mail, related to c-102): what intake looks up for messages to it.
void put_member(WebEnv& env, const std::string& id = "m-1") {
  auto r = env.run(
      {"subscriber", "put", "-"},
      json({{"id", id}, {"member", true}, {"clinics", {"c-102"}}, {"email", id + "@example.jp"}})
              .dump() +
          "\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

// Every error answer is an RFC 9457 problem document.
void expect_problem(const HttpResult& r, int status) {
  EXPECT_EQ(r.status, status) << r.body;
  EXPECT_EQ(r.headers.at("content-type"), "application/problem+json") << r.body;
  auto j = r.json();
  EXPECT_EQ(j["type"], "about:blank") << r.body;
  EXPECT_EQ(j["status"], status) << r.body;
  EXPECT_TRUE(j["title"].is_string() && !j["title"].get<std::string>().empty()) << r.body;
  EXPECT_TRUE(j["detail"].is_string()) << r.body;
}

struct TempDirHolder {
  testing_support::TempDir dir;
};

std::string later() { return "2099-01-01T10:00:00+09:00"; }

// ---------- health, metrics, routing, limits ----------

TEST(Serve, HealthzAndUnknownRoutes) {
  WebEnv env;
  auto h = env.get("/healthz");
  EXPECT_EQ(h.status, 200) << "serving, with Redis: healthy even before a consumer runs";
  EXPECT_EQ(h.json()["redis"], "ok");
  EXPECT_EQ(h.json()["consumers_alive"], 0);
  EXPECT_EQ(h.json()["status"], "no_consumer");
  auto whole = env.get("/healthz?require=consumer");
  EXPECT_EQ(whole.status, 503) << "no consumer has sent a heartbeat";
  EXPECT_EQ(whole.json()["status"], "no_consumer");
  EXPECT_EQ(env.get("/healthz?require=magic").status, 400);
  auto before = env.snapshot();
  expect_problem(env.get("/nope"), 404);
  EXPECT_EQ(env.get("/v1/messages/x/y/z").status, 404);
  EXPECT_EQ(env.request("PUT", "/healthz").status, 405);
  EXPECT_EQ(env.request("GET", "/v1/messages", "", WebEnv::auth(env.operator_key)).status, 405);
  EXPECT_EQ(env.snapshot(), before);
}

TEST(Serve, WrongMethodIs405NamingTheMethodsTheRouteTakes) {
  WebEnv env;
  auto r = env.request("PUT", "/healthz");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers["allow"], "GET");
  expect_problem(r, 405);
  EXPECT_EQ(r.json()["detail"], "method not allowed");
  EXPECT_EQ(env.request("PUT", "/u/some-token").headers["allow"], "GET, HEAD, POST");
  EXPECT_EQ(env.request("GET", "/v1/subjects/m-1/optout").headers["allow"], "POST");
  EXPECT_EQ(env.get("/nope").headers.count("allow"), 0u);
}

TEST(Serve, MetricsParseAsPrometheusText) {
  WebEnv env;
  env.get("/healthz");
  env.get("/nope");
  auto m = env.get("/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.headers["content-type"].find("text/plain"), std::string::npos);
  EXPECT_NE(m.body.find("dispatcher_http_requests_total{route=\"/healthz\",status=\"200\"} 1"),
            std::string::npos);
  EXPECT_NE(m.body.find("dispatcher_http_requests_total{route=\"unknown\",status=\"404\"} 1"),
            std::string::npos);
  EXPECT_NE(m.body.find("dispatcher_queue_depth 0"), std::string::npos);
  EXPECT_NE(m.body.find("dispatcher_scheduled_messages 0"), std::string::npos);
  EXPECT_NE(m.body.find("dispatcher_dead_letters 0"), std::string::npos);
  const auto file = env.dir() / "metrics.txt";
  testing_support::write_file(file, m.body);
  // A real parser: Python's prometheus_client (Debian python3-prometheus-client), and promtool when
  // installed.
  // Debian's interpreter, where setup.sh installs python3-prometheus-client (another python3
  // earlier on PATH would not have it).
  const std::string py =
      "/usr/bin/python3 -c \"import sys; from prometheus_client.parser import "
      "text_string_to_metric_families as p; "
      "fams=list(p(open(sys.argv[1]).read())); assert len(fams) >= 8, fams\" " +
      file.string();
  EXPECT_EQ(std::system(py.c_str()), 0);
  if (std::system("command -v promtool >/dev/null 2>&1") == 0) {
    EXPECT_EQ(std::system(("promtool check metrics < " + file.string()).c_str()), 0);
  }
}

TEST(Serve, OversizedBodyIs413AndChangesNothing) {
  WebEnv env;
  auto before = env.snapshot();
  // Declared too large: refused from the headers alone, before any body is read.
  auto r =
      env.raw("POST /v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + env.operator_key +
              "\r\nContent-Type: application/json\r\nContent-Length: 2097152\r\n\r\n[");
  EXPECT_EQ(r.rfind("HTTP/1.1 413", 0), 0u) << r;
  EXPECT_NE(r.find("Content-Type: application/problem+json"), std::string::npos) << r;
  EXPECT_NE(r.find(R"("status":413)"), std::string::npos) << r;
  // Not HTTP at all, and headers too large.
  EXPECT_EQ(env.raw("NONSENSE\r\n\r\n").rfind("HTTP/1.1 400", 0), 0u);
  EXPECT_EQ(env.raw("GET /healthz HTTP/1.1\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n")
                .rfind("HTTP/1.1 431", 0),
            0u);
  EXPECT_EQ(env.snapshot(), before);
  EXPECT_EQ(env.get("/healthz").status, 200) << "the server survives";
}

TEST(Serve, SigtermStopsGracefullyWithExitZero) {
  WebEnv env;
  EXPECT_EQ(env.get("/healthz").status, 200);
  auto r = env.stop_server();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("+819012345678"), std::string::npos);
}

TEST(Serve, KeepAliveAnswersPipelinedRequestsInOrder) {
  WebEnv env;
  auto r = env.raw(
      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\nConnection: "
      "close\r\n\r\n");
  auto first = r.find("HTTP/1.1 200");
  auto second = r.find("HTTP/1.1 404");
  EXPECT_NE(first, std::string::npos) << r;
  EXPECT_NE(second, std::string::npos) << r;
  EXPECT_LT(first, second);
}

TEST(Serve, SigtermClosesIdleConnectionsAndExitsPromptly) {
  WebEnv env;
  namespace asio = boost::asio;
  asio::io_context io;
  asio::ip::tcp::socket idle(io);
  idle.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(env.port())});
  const auto start = std::chrono::steady_clock::now();
  auto r = env.stop_server();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5))
      << "did not wait for the read timeout";
}

TEST(Serve, HealthzIs503WithoutRedis) {
  TempDirHolder holder;
  WebEnv env({},
             {{"DISPATCHER_REDIS_URL", "unix://" + (holder.dir.path() / "none.sock").string()}});
  auto h = env.get("/healthz");
  EXPECT_EQ(h.status, 503);
  EXPECT_EQ(h.json()["redis"], "unavailable");
  auto m = env.get("/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("dispatcher_redis_up 0"), std::string::npos);
  EXPECT_EQ(env.post_json("/v1/messages", clinic_reminder("z-1"), env.clinic_key).status, 503);
}

// ---------- intake ----------

TEST(Intake, OperatorAndClinicEnqueueAllOrNothing) {
  WebEnv env;
  put_member(env);
  auto r =
      env.post_json("/v1/messages", json::array({clinic_reminder("a-1"), clinic_reminder("a-2")}),
                    env.clinic_key);
  ASSERT_EQ(r.status, 202) << r.body;
  // Per message: accepted, and decided by the policy when it is due.
  EXPECT_EQ(
      r.json()["accepted"],
      json::array({{{"index", 0}, {"id", "a-1"}, {"state", "queued"}, {"decision", "when_due"}},
                   {{"index", 1}, {"id", "a-2"}, {"state", "queued"}, {"decision", "when_due"}}}));
  EXPECT_EQ(env.redis().run(cmd("XLEN", "dsp:stream")).integer, 2);
  auto one = clinic_reminder("a-3");
  one["send_at"] = later();
  r = env.post_json("/v1/messages", one, env.clinic_key);
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(r.json()["accepted"][0]["state"], "scheduled");
  EXPECT_TRUE(r.json()["accepted"][0]["send_at"].is_string());
  EXPECT_EQ(env.redis().run(cmd("ZCARD", "dsp:scheduled")).integer, 1);
  EXPECT_EQ(env.post_json("/v1/messages", member_ad("ad-1"), env.operator_key).status, 202);

  // One bad element: 400 with its index, nothing enqueued.
  auto before = env.snapshot();
  auto bad = clinic_reminder("b-2");
  bad["purpose"] = "no_such_purpose";
  r = env.post_json("/v1/messages", json::array({clinic_reminder("b-1"), bad}), env.clinic_key);
  expect_problem(r, 400);
  ASSERT_EQ(r.json()["errors"].size(), 1u) << r.body;
  EXPECT_EQ(r.json()["errors"][0]["index"], 1);
  EXPECT_EQ(r.json()["errors"][0]["reason"].get<std::string>().rfind("invalid_message:", 0), 0u);
  EXPECT_EQ(env.snapshot(), before);

  auto m = env.get("/metrics");
  EXPECT_NE(m.body.find("dispatcher_intake_messages_total{result=\"accepted\"} 4"),
            std::string::npos)
      << m.body;
}

TEST(Intake, RefusesWithoutChangingAnything) {
  WebEnv env;
  put_member(env);
  auto before = env.snapshot();
  // No key, wrong key.
  EXPECT_EQ(env.post_json("/v1/messages", clinic_reminder("x-1")).status, 401);
  EXPECT_EQ(env.post_json("/v1/messages", clinic_reminder("x-1"), "dsk_wrong").status, 401);
  // Another clinic's key: sends as c-102 → 403; its own sender but c-102's contact → 403.
  EXPECT_EQ(env.post_json("/v1/messages", clinic_reminder("x-1"), env.other_clinic_key).status,
            403);
  auto foreign = clinic_reminder("x-2", "c-102");
  foreign["sender"] = "clinic:c-200";
  EXPECT_EQ(env.post_json("/v1/messages", foreign, env.other_clinic_key).status, 403);
  // A clinic messaging a member for marketing → 403; for a reservation it may.
  auto to_member = member_ad("x-3", "m-1", "coupon_info", "coupon.issued");
  to_member["sender"] = "clinic:c-102";
  EXPECT_EQ(env.post_json("/v1/messages", to_member, env.clinic_key).status, 403);
  // Malformed JSON, too deep, empty array.
  auto h = WebEnv::auth(env.operator_key);
  h["Content-Type"] = "application/json";
  auto r = env.request("POST", "/v1/messages", "{\"id\": ", h);
  EXPECT_EQ(r.status, 400);
  expect_problem(r, 400);
  EXPECT_EQ(r.json()["errors"][0]["reason"], "invalid_message:not_json")
      << "the CLI's and the dead letters' word for it";
  std::string deep = std::string(40, '[') + std::string(40, ']');
  r = env.request("POST", "/v1/messages", deep, h);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.json()["errors"][0]["reason"], "invalid_message:too_deep");
  EXPECT_EQ(env.request("POST", "/v1/messages", "[]", h).status, 400);
  auto unknown_template = clinic_reminder("x-4");
  unknown_template["template"] = "no.such.template";
  EXPECT_EQ(env.post_json("/v1/messages", unknown_template, env.clinic_key).status, 400);
  EXPECT_EQ(env.snapshot(), before);
  expect_problem(env.post_json("/v1/messages", clinic_reminder("x-1")), 401);
  EXPECT_NE(
      env.get("/metrics")
          .body.find("dispatcher_http_requests_total{route=\"/v1/messages\",status=\"401\"} 3"),
      std::string::npos);
}

// Everything intake can know is refused at intake, with the reason code the pipeline would
// record (DESIGN.md): a 202 is never a message that is sure to be denied or dead-lettered.
TEST(Intake, RefusesWhatThePipelineWouldDenyOrDeadLetter) {
  WebEnv env;
  put_member(env);
  put_member(env, "m-gone");
  ASSERT_EQ(env.run({"erase", "m-gone"}).exit_code, 0);
  const auto before = env.snapshot();
  auto refused = [&](const json& m, const std::string& key, int status) {
    auto r = env.post_json("/v1/messages", json::array({clinic_reminder("fine"), m}), key);
    expect_problem(r, status);
    EXPECT_EQ(r.json()["errors"].size(), 1u) << r.body;
    EXPECT_EQ(r.json()["errors"][0]["index"], 1) << r.body;
    EXPECT_EQ(r.json()["reason"], r.json()["errors"][0]["reason"]) << r.body;
    return r.json()["errors"][0]["reason"].get<std::string>();
  };
  // An unknown subscriber, for the operator as for a clinic.
  auto ghost = member_ad("g-1", "m-ghost");
  EXPECT_EQ(refused(ghost, env.operator_key, 400), "invalid_message:unknown_subscriber");
  // An erased one: the record is gone, the marker says why.
  EXPECT_EQ(refused(member_ad("g-2", "m-gone"), env.operator_key, 403), "subject_erased");
  // A purpose the policy never permits for this recipient: advertising to a non-member.
  auto ad_to_patient = clinic_reminder("g-3");
  ad_to_patient["sender"] = "operator";
  ad_to_patient["purpose"] = "advertising";
  ad_to_patient["template"] = "advertising.newsletter";
  ad_to_patient["data"] = member_ad("x")["data"];
  EXPECT_EQ(refused(ad_to_patient, env.operator_key, 403), "nonmember_purpose_not_permitted");
  // A clinic messaging a related member for a purpose that is not its business (rule 8).
  auto coupon = member_ad("g-4", "m-1", "coupon_info", "coupon.issued");
  coupon["sender"] = "clinic:c-102";
  EXPECT_EQ(refused(coupon, env.clinic_key, 403), "clinic_purpose_not_permitted");
  // Data that leaves a template variable unfilled: the run's dead letter, refused now.
  auto unfilled = clinic_reminder("g-5");
  unfilled["data"].erase("clinic_name");
  EXPECT_EQ(refused(unfilled, env.clinic_key, 400), "template_missing_variable:clinic_name");
  EXPECT_EQ(env.snapshot(), before) << "nothing was queued for any of them";
  // The same messages, mended, are accepted.
  unfilled["data"]["clinic_name"] = "さくら歯科";
  EXPECT_EQ(env.post_json("/v1/messages", unfilled, env.clinic_key).status, 202);
}

TEST(Intake, CancelOnlyOwnScheduledMessages) {
  WebEnv env;
  auto m = clinic_reminder("c-1");
  m["send_at"] = later();
  ASSERT_EQ(env.post_json("/v1/messages", m, env.clinic_key).status, 202);
  auto before = env.snapshot();
  EXPECT_EQ(env.request("DELETE", "/v1/messages/c-1").status, 401);
  EXPECT_EQ(env.request("DELETE", "/v1/messages/c-1", "", WebEnv::auth("dsk_nope")).status, 401);
  // Another clinic: the same answer as for an id that does not exist.
  auto other = env.request("DELETE", "/v1/messages/c-1", "", WebEnv::auth(env.other_clinic_key));
  auto missing =
      env.request("DELETE", "/v1/messages/no-such-id", "", WebEnv::auth(env.other_clinic_key));
  expect_problem(other, 404);
  expect_problem(missing, 404);
  EXPECT_EQ(other.body, missing.body);
  EXPECT_EQ(env.snapshot(), before);
  auto r = env.request("DELETE", "/v1/messages/c-1", "", WebEnv::auth(env.clinic_key));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["status"], "cancelled");
  EXPECT_EQ(env.redis().run(cmd("ZCARD", "dsp:scheduled")).integer, 0);
}

// GET /v1/messages/{id}: the `status` verb's JSON, for the key's own messages only.
TEST(Intake, AMessagesStatusWalksQueuedToSentAndOnlyItsSenderSeesIt) {
  WebEnv env;
  ASSERT_EQ(env.post_json("/v1/messages", clinic_reminder("st-1"), env.clinic_key).status, 202);
  auto queued = env.get("/v1/messages/st-1", env.clinic_key);
  ASSERT_EQ(queued.status, 200) << queued.body;
  EXPECT_EQ(queued.json(), (json{{"id", "st-1"}, {"sender", "clinic:c-102"}, {"state", "queued"}}));
  // Another clinic, like an id never seen, finds nothing; the operator names the sender.
  auto other = env.get("/v1/messages/st-1", env.other_clinic_key);
  auto missing = env.get("/v1/messages/no-such-id", env.other_clinic_key);
  expect_problem(other, 404);
  EXPECT_EQ(other.body, missing.body);
  EXPECT_EQ(env.get("/v1/messages/st-1?sender=clinic:c-102", env.other_clinic_key).status, 404);
  EXPECT_EQ(env.get("/v1/messages/st-1?sender=clinic:c-102", env.operator_key).json()["state"],
            "queued");
  EXPECT_EQ(env.get("/v1/messages/st-1").status, 401);

  auto run = env.run({"run", "--until-idle"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  auto sent = env.get("/v1/messages/st-1", env.clinic_key);
  ASSERT_EQ(sent.status, 200) << sent.body;
  EXPECT_EQ(sent.json()["state"], "sent");
  EXPECT_EQ(sent.json()["channel"], "sms");
  // What the CLI says is what the route says.
  auto cli = env.run({"status", "st-1"});
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_EQ(json::parse(cli.out), sent.json());
  EXPECT_EQ(env.get("/v1/messages/st-1", env.other_clinic_key).status, 404);
}

// Ids are per sender (DESIGN.md): two clinics posting the same id are two messages, each
// delivered to its own patient, and neither can cancel or pre-empt the other's.
TEST(Intake, TwoClinicsSameIdAreTwoMessages) {
  WebEnv env;
  auto a = clinic_reminder("visit-1", "c-102", "+819012340001");
  auto b = clinic_reminder("visit-1", "c-200", "+819012340002");
  a["send_at"] = later();
  b["send_at"] = later();
  ASSERT_EQ(env.post_json("/v1/messages", a, env.clinic_key).status, 202);
  ASSERT_EQ(env.post_json("/v1/messages", b, env.other_clinic_key).status, 202);
  EXPECT_EQ(env.redis().run(cmd("ZCARD", "dsp:scheduled")).integer, 2)
      << "B's payload did not replace A's";
  // The operator sees both, and must say whose it means.
  auto ambiguous = env.run({"cancel", "visit-1"});
  EXPECT_EQ(ambiguous.exit_code, 1);
  EXPECT_NE(ambiguous.err.find("--sender"), std::string::npos) << ambiguous.err;
  EXPECT_EQ(env.run({"cancel", "never-seen"}).exit_code, 1);
  // A cancels its own: B's stays.
  auto r = env.request("DELETE", "/v1/messages/visit-1", "", WebEnv::auth(env.clinic_key));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(env.redis().run(cmd("ZCARD", "dsp:scheduled")).integer, 1);
  auto left = env.redis().run(cmd("ZRANGE", "dsp:scheduled", "0", "-1"));
  ASSERT_EQ(left.elements.size(), 1u);
  EXPECT_EQ(left.elements[0].str, dispatcher::message_key("clinic:c-200", "visit-1"));
  // A clinic can only name its own sender; an id it never used is not there.
  auto before = env.snapshot();
  EXPECT_EQ(env.request("DELETE", "/v1/messages/visit-1?sender=clinic:c-200", "",
                        WebEnv::auth(env.clinic_key))
                .status,
            404);
  EXPECT_EQ(env.snapshot(), before);
  // Now both are due: each clinic's patient gets its own reminder.
  auto c = clinic_reminder("visit-2", "c-102", "+819012340001");
  auto d = clinic_reminder("visit-2", "c-200", "+819012340002");
  ASSERT_EQ(env.post_json("/v1/messages", c, env.clinic_key).status, 202);
  ASSERT_EQ(env.post_json("/v1/messages", d, env.other_clinic_key).status, 202);
  auto run = env.run({"run", "--until-idle"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::ifstream sms(env.data_dir() / "outbox" / "sms.jsonl");
  std::map<std::string, std::string> to_by_sender;
  for (std::string line; std::getline(sms, line);) {
    auto j = json::parse(line);
    if (j["id"] == "visit-2") to_by_sender[j["sender"]] = j["to"];
  }
  EXPECT_EQ(to_by_sender, (std::map<std::string, std::string>{{"clinic:c-102", "+819012340001"},
                                                              {"clinic:c-200", "+819012340002"}}));
}

// A clinic reaches only its own patients: members related to it (their `clinics`) and its own
// registered contacts; at intake (refused at once) and in the pipeline (denied, recorded).
TEST(Intake, AClinicReachesOnlyItsOwnPatients) {
  WebEnv env;
  ASSERT_EQ(
      env.run(
             {"subscriber", "put", "-"},
             R"({"id":"m-rel","member":true,"clinics":["c-1","c-102"],"phone":"+819012348001","clinics":["c-102"]})"
             "\n"
             R"({"id":"m-norel","member":true,"clinics":["c-1","c-102"],"phone":"+819012348002","clinics":["c-200"]})"
             "\n"
             R"({"id":"nm-200","member":false,"clinic":"c-200","source":"patient_registry","phone":"+819012348003"})"
             "\n")
          .exit_code,
      0);
  auto to_member = [](const std::string& id, const std::string& member) {
    auto m = clinic_reminder(id);
    m["to"] = {{"subscriber", member}};
    return m;
  };
  const auto before = env.snapshot();
  auto norel = env.post_json("/v1/messages", to_member("rel-1", "m-norel"), env.clinic_key);
  EXPECT_EQ(norel.status, 403) << norel.body;
  EXPECT_EQ(norel.json()["errors"][0]["reason"], "clinic_no_relation") << norel.body;
  auto ghost = env.post_json("/v1/messages", to_member("rel-2", "m-ghost"), env.clinic_key);
  EXPECT_EQ(ghost.status, 400) << ghost.body;
  EXPECT_EQ(ghost.json()["errors"][0]["reason"], "invalid_message:unknown_subscriber");
  // Another clinic's registered patient, declared as this clinic's own inline contact.
  auto stolen = env.post_json("/v1/messages", clinic_reminder("rel-3", "c-102", "+819012348003"),
                              env.clinic_key);
  EXPECT_EQ(stolen.status, 403) << stolen.body;
  EXPECT_EQ(stolen.json()["errors"][0]["reason"], "nonmember_sender_not_permitted");
  // (Compared by key, not by DUMP: reading a large hash may advance its rehash and reorder it.)
  auto keys_of = [](const std::map<std::string, std::string>& snap) {
    std::set<std::string> k;
    for (const auto& [key, _] : snap) k.insert(key);
    return k;
  };
  EXPECT_EQ(keys_of(env.snapshot()), keys_of(before)) << "refused: nothing queued";
  EXPECT_EQ(env.post_json("/v1/messages", to_member("rel-4", "m-rel"), env.clinic_key).status, 202);

  // The same two written straight to the queue: the pipeline denies them, with the reason.
  ASSERT_EQ(env.run({"enqueue", "-"},
                    to_member("rel-5", "m-norel").dump() + "\n" +
                        clinic_reminder("rel-6", "c-102", "+819012348003").dump() + "\n")
                .exit_code,
            0);
  auto run = env.run({"run", "--until-idle"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  auto reason_in = [&](const std::string& subject, const std::string& id) {
    auto h = env.run({"history", subject});
    std::istringstream lines(h.out);
    std::string reason;
    for (std::string line; std::getline(lines, line);) {
      auto j = json::parse(line, nullptr, false);
      if (j.is_object() && j.value("id", "") == id) reason = j.value("reason", "");
    }
    return reason;
  };
  EXPECT_EQ(reason_in("m-norel", "rel-5"), "clinic_no_relation");
  EXPECT_EQ(reason_in("nm-200", "rel-6"), "nonmember_sender_not_permitted")
      << "the inline contact was resolved to the stored record";
  std::ifstream sms(env.data_dir() / "outbox" / "sms.jsonl");
  std::set<std::string> sent;
  for (std::string line; std::getline(sms, line);) sent.insert(json::parse(line)["id"]);
  EXPECT_EQ(sent, (std::set<std::string>{"rel-4"}));
}

// ---------- unsubscribe ----------

TEST(Unsubscribe, OneClickOptsOutAndGetNeverDoes) {
  WebEnv env;
  const std::string token = env.token_for("m-1", "purpose:advertising");
  auto before = env.snapshot();
  auto page = env.get("/u/" + token);
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.headers["content-type"].find("text/html"), std::string::npos);
  EXPECT_NE(page.body.find("lang=\"ja\""), std::string::npos);
  EXPECT_EQ(page.headers["referrer-policy"], "no-referrer");
  EXPECT_NE(env.get("/u/" + token + "?lang=en").body.find("lang=\"en\""), std::string::npos);
  EXPECT_EQ(env.snapshot(), before) << "GET never changes state";
  // Any other body → 400, no change.
  EXPECT_EQ(env.post_form("/u/" + token, "List-Unsubscribe=Other").status, 400);
  EXPECT_EQ(env.post_form("/u/" + token, "").status, 400);
  EXPECT_EQ(env.post_form("/u/" + token, "List-Unsubscribe=One-Click&x=1").status, 400);
  EXPECT_EQ(env.snapshot(), before);
  auto r = env.post_form("/u/" + token, "List-Unsubscribe=One-Click");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(env.state_field("m-1", "optout:purpose:advertising").empty());
  auto again = env.get("/u/" + token);
  EXPECT_NE(again.body.find("id=\"purpose-advertising\" name=\"purpose\" value=\"advertising\">"),
            std::string::npos);
}

TEST(Unsubscribe, ForgedTamperedAndExpiredTokensChangeNothing) {
  WebEnv env;
  const std::string good = env.token_for("m-1", "purpose:advertising");
  // Expiry is kept to whole days in the token: two days ago is expired.
  const std::string expired = env.token_for("m-1", "purpose:advertising", -2 * 86400);
  std::string tampered = good;
  tampered[3] = tampered[3] == 'A' ? 'B' : 'A';
  dispatcher::TokenClaims c{dispatcher::subject_ref("m-1", env.secret()), "all", 4102444800};
  const std::string forged = dispatcher::make_token(c, std::string(64, 'f')).value();
  auto before = env.snapshot();
  for (const auto& t : {expired, tampered, forged, std::string("garbage")}) {
    EXPECT_EQ(env.post_form("/u/" + t, "List-Unsubscribe=One-Click").status, 404) << t;
    EXPECT_EQ(env.get("/u/" + t).status, 404) << t;
    EXPECT_EQ(env.post_form("/u/" + t + "/preferences", "form=prefs-v2").status, 404) << t;
  }
  EXPECT_EQ(env.snapshot(), before);
}

TEST(Unsubscribe, PreferencesFormWritesOptOutsAndConsentOnReturn) {
  WebEnv env;
  ASSERT_EQ(
      env.run(
             {"subscriber", "put", "-"},
             R"({"id":"m-1","member":true,"clinics":["c-1","c-102"],"email":"taro@example.jp","locale":"ja"})"
             "\n")
          .exit_code,
      0);
  const std::string token =
      env.token_for("m-1", "purpose:advertising", 3600, dispatcher::Channel::email);
  // Untick advertising; tick e-mail, the link's channel: that is an opt-in, recorded with its
  // proof.
  std::string body = "form=prefs-v2";
  for (const char* p :
       {"campaign", "recommendation", "coupon_info", "product_notice", "points", "survey"})
    body += std::string("&purpose=") + p;
  body += "&channel=email";
  auto r = env.post_form("/u/" + token + "/preferences", body);
  EXPECT_EQ(r.status, 303);
  EXPECT_EQ(r.headers["location"], "/u/" + token + "?saved=1");
  EXPECT_FALSE(env.state_field("m-1", "optout:purpose:advertising").empty());
  EXPECT_TRUE(env.state_field("m-1", "optout:purpose:campaign").empty());
  const json consent = json::parse(env.state_field("m-1", "consent:email"), nullptr, false);
  EXPECT_EQ(consent.value("source", ""), "unsubscribe_page") << consent;
  EXPECT_EQ(consent.value("wording", ""), "prefs-page-v2") << consent;
  auto page = env.get(r.headers["location"]);
  EXPECT_NE(page.body.find("role=\"status\""), std::string::npos);
  // The page to return to is the token's, however the path was written: never "//…", which a
  // browser reads as another host.
  auto odd = env.post_form("//u/" + token + "/preferences/?lang=en", body);
  EXPECT_EQ(odd.status, 303);
  EXPECT_EQ(odd.headers["location"], "/u/" + token + "?saved=1&lang=en");
  // Back in to advertising: the opt-out goes.
  auto back = env.post_form("/u/" + token + "/preferences", body + "&purpose=advertising");
  EXPECT_EQ(back.status, 303);
  EXPECT_TRUE(env.state_field("m-1", "optout:purpose:advertising").empty());
  // Malformed form, unexpected field, a form older than this page: 400, nothing changes.
  auto before = env.snapshot();
  EXPECT_EQ(env.post_form("/u/" + token + "/preferences", "form=prefs-v2&purpose=%zz").status, 400);
  EXPECT_EQ(env.post_form("/u/" + token + "/preferences", "form=prefs-v2&evil=1").status, 400);
  EXPECT_EQ(env.post_form("/u/" + token + "/preferences", "purpose=advertising").status, 400);
  EXPECT_EQ(env.post_form("/u/" + token + "/preferences", "form=prefs-v1&stop_all=1").status, 400);
  EXPECT_EQ(env.snapshot(), before);
  // Stop everything, booking messages too.
  EXPECT_EQ(env.post_form("/u/" + token + "/preferences", "form=prefs-v2&stop_everything=1").status,
            303);
  EXPECT_FALSE(env.state_field("m-1", "optout:all").empty());
  auto d = env.explain(member_ad("ad-after"));
  EXPECT_EQ(d["decision"], "deny") << d;
  EXPECT_EQ(d["reason"], "opted_out:all") << d;
}

TEST(Unsubscribe, UntickedPurposeDeniesTheNextMessageOfIt) {
  WebEnv env;
  ASSERT_EQ(
      env.run({"subscriber", "put", "-"},
              R"({"id":"m-7","member":true,"clinics":["c-1","c-102"],"email":"hanako@example.jp"})"
              "\n")
          .exit_code,
      0);
  ASSERT_EQ(env.run({"consent", "m-7", "email", "--source", "signup_form"}).exit_code, 0);
  const std::string token = env.token_for("m-7", "purpose:advertising");
  std::string body = "form=prefs-v2&channel=email&channel=sms&channel=push";
  for (const char* p :
       {"advertising", "recommendation", "coupon_info", "product_notice", "points", "survey"})
    body += std::string("&purpose=") + p;  // campaign unticked
  ASSERT_EQ(env.post_form("/u/" + token + "/preferences", body).status, 303);
  auto d = env.explain(member_ad("camp-1", "m-7", "campaign", "campaign.announcement"));
  EXPECT_EQ(d["decision"], "deny") << d;
  EXPECT_EQ(d["reason"], "opted_out:purpose:campaign") << d;
}

// ---------- webhooks ----------

TEST(Webhooks, InboundStopKeywordsOptTheNumberOutOfSms) {
  WebEnv env(
      {"--twilio-auth-token-env", "TEST_TWILIO_TOKEN", "--public-url", "https://hooks.example.jp"},
      {{"TEST_TWILIO_TOKEN", "sekrit-token"}});
  const std::string secret = env.secret();
  // Signed as Twilio signs: over the public URL and the form's fields.
  auto inbound = [&env](const std::string& body) {
    auto fields = dispatcher::web::parse_form(body).value_or(dispatcher::web::FormFields{});
    return env.post_form(
        "/webhooks/sms/inbound", body,
        {{"X-Twilio-Signature",
          dispatcher::web::twilio_signature(
              "sekrit-token", "https://hooks.example.jp/webhooks/sms/inbound", fields)}});
  };
  int n = 0;
  for (const char* word : {"%EF%BC%B3%EF%BC%B4%EF%BC%AF%EF%BC%B0" /* ＳＴＯＰ */,
                           "%E9%85%8D%E4%BF%A1%E5%81%9C%E6%AD%A2" /* 配信停止 */}) {
    const std::string phone = "+8190123400" + std::to_string(10 + n++);
    auto r = inbound("From=%2B" + phone.substr(1) + "&To=%2B815000000000&Body=" + word);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.body.find("<Response/>"), std::string::npos);
    const std::string subject = "contact:" + dispatcher::address_hash(phone, secret);
    EXPECT_FALSE(env.state_field(subject, "optout:channel:sms").empty()) << word;
    auto d = env.explain(clinic_reminder("r-" + std::to_string(n), "c-102", phone));
    EXPECT_EQ(d["decision"], "deny") << d;
    EXPECT_EQ(d["reason"], "opted_out:channel:sms") << d;
  }
  // START opts back in; other words change nothing.
  const std::string phone = "+819012340010";
  EXPECT_EQ(inbound("From=%2B819012340010&Body=start").status, 200);
  EXPECT_TRUE(
      env.state_field("contact:" + dispatcher::address_hash(phone, secret), "optout:channel:sms")
          .empty());
  auto before = env.snapshot();
  EXPECT_EQ(inbound("From=%2B819012340011&Body=hello").status, 200);
  EXPECT_EQ(inbound("From=nobody&Body=STOP").status, 400);
  EXPECT_EQ(inbound("From=%zz").status, 400);
  EXPECT_EQ(env.snapshot(), before);
}

TEST(Webhooks, TwilioSignatureIsCheckedWhenATokenIsConfigured) {
  WebEnv env(
      {"--twilio-auth-token-env", "TEST_TWILIO_TOKEN", "--public-url", "https://hooks.example.jp"},
      {{"TEST_TWILIO_TOKEN", "sekrit-token"}});
  const std::string body = "From=%2B819012345678&Body=STOP&To=%2B815000000000";
  auto before = env.snapshot();
  EXPECT_EQ(env.post_form("/webhooks/sms/inbound", body).status, 403);
  EXPECT_EQ(env.post_form("/webhooks/sms/inbound", body, {{"X-Twilio-Signature", "AAAA"}}).status,
            403);
  EXPECT_EQ(env.snapshot(), before);
  const std::string sig = dispatcher::web::twilio_signature(
      "sekrit-token", "https://hooks.example.jp/webhooks/sms/inbound",
      {{"From", "+819012345678"}, {"Body", "STOP"}, {"To", "+815000000000"}});
  EXPECT_EQ(env.post_form("/webhooks/sms/inbound", body, {{"X-Twilio-Signature", sig}}).status,
            200);
  EXPECT_FALSE(env.state_field("contact:" + dispatcher::address_hash("+819012345678", env.secret()),
                               "optout:channel:sms")
                   .empty());
}

TEST(Webhooks, EmailBouncesAndComplaints) {
  WebEnv env;
  auto before = env.snapshot();
  EXPECT_EQ(env.post_json("/webhooks/email/bounce", {{"address", "a@example.jp"}, {"type", "hard"}})
                .status,
            401);
  EXPECT_EQ(env.post_json("/webhooks/email/bounce", {{"address", "a@example.jp"}, {"type", "hard"}},
                          env.clinic_key)
                .status,
            401);
  EXPECT_EQ(env.post_json("/webhooks/email/bounce", {{"address", "nope"}, {"type", "hard"}},
                          env.operator_key)
                .status,
            400);
  EXPECT_EQ(env.post_json("/webhooks/email/bounce", {{"address", "a@example.jp"}, {"type", "x"}},
                          env.operator_key)
                .status,
            400);
  EXPECT_EQ(env.post_json("/webhooks/email/bounce", {{"address", "a@example.jp"}, {"type", "soft"}},
                          env.operator_key)
                .status,
            200);
  EXPECT_EQ(env.snapshot(), before);
  EXPECT_EQ(env.post_json("/webhooks/email/bounce", {{"address", "a@example.jp"}, {"type", "hard"}},
                          env.operator_key)
                .status,
            200);
  const std::string h = dispatcher::address_hash("a@example.jp", env.secret());
  EXPECT_FALSE(env.redis().run(cmd("HGET", "dsp:addr:" + h, "suppressed")).is_nil());
  EXPECT_EQ(env.redis().run(cmd("ZSCORE", "dsp:suppressed", "email:" + h)).is_nil(), false);
  EXPECT_EQ(env.post_json("/webhooks/email/bounce",
                          {{"address", "b@example.jp"}, {"type", "complaint"}}, env.operator_key)
                .status,
            200);
  EXPECT_FALSE(env.state_field("contact:" + dispatcher::address_hash("b@example.jp", env.secret()),
                               "optout:channel:email")
                   .empty());
  auto status =
      env.post_json("/webhooks/status", {{"provider_message_id", "x"}, {"status", "delivered"}},
                    env.operator_key);
  EXPECT_EQ(status.status, 200);
  EXPECT_EQ(status.json()["status"], "unknown_message")
      << "not a message of ours (see status_callback_test)";
  auto m = env.get("/metrics").body;
  EXPECT_NE(m.find("dispatcher_webhooks_total{kind=\"email_bounce\",result=\"hard\"} 1"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("dispatcher_webhooks_total{kind=\"status\",result=\"unknown_message\"} 1"),
            std::string::npos)
      << m;
}

// ---------- subject requests ----------

TEST(Subjects, OperatorOnlyRequestsAreRecordedWithADueDate) {
  WebEnv env;
  auto before = env.snapshot();
  EXPECT_EQ(env.post_json("/v1/subjects/m-1/optout", {{"scope", "all"}}).status, 401);
  EXPECT_EQ(env.post_json("/v1/subjects/m-1/optout", {{"scope", "all"}}, env.clinic_key).status,
            403);
  EXPECT_EQ(env.get("/v1/subjects/m-1/history", env.clinic_key).status, 403);
  EXPECT_EQ(env.post_json("/v1/subjects/m-1/optout", {{"scope", "bogus"}}, env.operator_key).status,
            400);
  EXPECT_EQ(env.post_json("/v1/subjects/m-1/stop", {{"purpose", "bogus"}}, env.operator_key).status,
            400);
  auto h = WebEnv::auth(env.operator_key);
  EXPECT_EQ(env.request("POST", "/v1/subjects/m-1/optout", "{bad", h).status, 400);
  EXPECT_EQ(
      env.post_json("/v1/subjects/m%FF%00/optout", {{"scope", "all"}}, env.operator_key).status,
      400);
  EXPECT_EQ(env.snapshot(), before);

  EXPECT_EQ(
      env.post_json("/v1/subjects/m-1/optout", {{"scope", "purpose:survey"}}, env.operator_key)
          .status,
      200);
  EXPECT_FALSE(env.state_field("m-1", "optout:purpose:survey").empty());
  EXPECT_EQ(env.post_json("/v1/subjects/m-1/optin", {{"scope", "purpose:survey"}}, env.operator_key)
                .status,
            200);
  EXPECT_TRUE(env.state_field("m-1", "optout:purpose:survey").empty());
  EXPECT_EQ(
      env.post_json("/v1/subjects/m-1/stop", {{"purpose", "survey"}}, env.operator_key).status,
      200);
  auto hist = env.get("/v1/subjects/m-1/history", env.operator_key);
  ASSERT_EQ(hist.status, 200);
  EXPECT_GE(hist.json()["history"].size(), 3u) << hist.body;
  // A non-member named by number (percent-encoded '+' or literal).
  EXPECT_EQ(
      env.post_json("/v1/subjects/%2B819099998888/erase", json::object(), env.operator_key).status,
      200);
  EXPECT_EQ(env.post_json("/v1/subjects/m-2/erase", json::object(), env.operator_key).status, 200);
  EXPECT_FALSE(env.state_field("m-2", "erased").empty());

  // The §4 requests — the stop, the disclosure, the two erasures — are in the system of record,
  // completed, each with its due date; opt-outs and opt-ins are preferences, not requests.
  auto listed = env.run({"requests", "--all"});
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  std::map<std::string, int> kinds;
  std::istringstream lines(listed.out);
  for (std::string line; std::getline(lines, line);) {
    auto j = json::parse(line);
    ++kinds[j["kind"]];
    EXPECT_EQ(j["state"], "completed") << line;
    EXPECT_EQ(j["via"], "api") << line;
    EXPECT_EQ(j["by"], "api:operator") << line;
    EXPECT_EQ(dispatcher::parse_rfc3339(j["due"].get<std::string>()).value() -
                  dispatcher::parse_rfc3339(j["received"].get<std::string>()).value(),
              std::chrono::hours(24 * 14));
    EXPECT_EQ(line.find("+8190"), std::string::npos) << "no phone number in the record";
  }
  EXPECT_EQ(kinds, (std::map<std::string, int>{{"disclosure", 1}, {"erase", 2}, {"stop", 1}}))
      << listed.out;
  EXPECT_EQ(env.run({"requests"}).out, "") << "none is open";
}

// A number as people write it names the subject its E.164 form names, on every surface that
// takes one: the HTTP subject routes, optout and suppression, subscriber put.
TEST(Subjects, ANumberAsPeopleWriteItIsItsE164Form) {
  WebEnv env;
  const auto key = [&env](const std::string& e164) {
    return "contact:" + dispatcher::address_hash(e164, env.secret());
  };
  EXPECT_EQ(env.post_json("/v1/subjects/090-1234-5678/optout", {{"scope", "all"}}, env.operator_key)
                .status,
            200);
  EXPECT_FALSE(env.state_field(key("+819012345678"), "optout:all").empty());
  // ０９０－１２３４－５６７８, percent-encoded as a browser sends it.
  const std::string wide =
      "%EF%BC%90%EF%BC%99%EF%BC%90%EF%BC%8D%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%8D%EF%BC%95"
      "%EF%BC%96%EF%BC%97%EF%BC%98";
  EXPECT_EQ(
      env.post_json("/v1/subjects/" + wide + "/optin", {{"scope", "all"}}, env.operator_key).status,
      200);
  EXPECT_TRUE(env.state_field(key("+819012345678"), "optout:all").empty());
  auto before = env.snapshot();
  auto bad =
      env.post_json("/v1/subjects/090-1234-567/optout", {{"scope", "all"}}, env.operator_key);
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("invalid_phone"), std::string::npos) << bad.body;
  EXPECT_EQ(bad.body.find("1234"), std::string::npos) << "masked: " << bad.body;
  EXPECT_EQ(env.snapshot(), before);

  auto out = env.run({"optout", "03-1234-5678", "channel:sms"});
  EXPECT_EQ(out.exit_code, 0) << out.err;
  EXPECT_FALSE(env.state_field(key("+81312345678"), "optout:channel:sms").empty());
  auto refused = env.run({"optout", "03-1234-567", "all"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("invalid_phone"), std::string::npos) << refused.err;
  EXPECT_EQ(refused.err.find("1234"), std::string::npos) << refused.err;

  auto sup = env.run({"suppression", "add", "090-1111-2222"});
  EXPECT_EQ(sup.exit_code, 0) << sup.err;
  const std::string h = dispatcher::address_hash("+819011112222", env.secret());
  EXPECT_FALSE(env.redis().run(cmd("ZSCORE", "dsp:suppressed", "sms:" + h)).is_nil())
      << "suppressed under the E.164 number's hash, as sms";

  auto put = env.run({"subscriber", "put", "-"},
                     R"({"id": "m-77", "member": true, "phone": "090-3333-4444"})"
                     "\n");
  EXPECT_EQ(put.exit_code, 0) << put.err;
  auto stored = env.redis().run(cmd("HGET", "dsp:sub:m-77", "json"));
  EXPECT_EQ(json::parse(stored.str)["phone"], "+819033334444") << stored.str;
  auto bad_put = env.run({"subscriber", "put", "-"},
                         R"({"id": "m-78", "member": true, "phone": "090-3333-444"})"
                         "\n");
  EXPECT_EQ(bad_put.exit_code, 1);
  EXPECT_NE(bad_put.err.find("invalid_subscriber:invalid_phone"), std::string::npos) << bad_put.err;
  EXPECT_EQ(bad_put.err.find("3333"), std::string::npos) << bad_put.err;
}

TEST(Verbs, ApikeyNewPrintsAKeyAndItsEntry) {
  WebEnv env;
  auto r = env.run({"apikey", "new", "clinic:c-9"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto nl = r.out.find('\n');
  const std::string key = r.out.substr(0, nl);
  EXPECT_EQ(key.rfind("dsk_", 0), 0u);
  EXPECT_NE(r.out.find(dispatcher::web::sha256_hex(key)), std::string::npos);
  EXPECT_NE(env.run({"apikey", "new", "nobody"}).exit_code, 0);
}

TEST(Serve, MetricsCarryTheConsumersTotalsAndHeartbeat) {
  WebEnv env;
  nlohmann::json ok = {{"id", "metrics-1"},
                       {"sender", "clinic:c-1"},
                       {"purpose", "reservation"},
                       {"to",
                        {{"contact", {{"phone", "+819012340099"}}},
                         {"clinic", "c-1"},
                         {"source", "patient_registry"}}},
                       {"channels", {"sms"}},
                       {"template", "reservation.reminder"},
                       {"data",
                        {{"name", "患者"},
                         {"clinic_name", "さくら歯科"},
                         {"starts_at", "12月1日 10:00"},
                         {"clinic_phone", "03-1234-5678"},
                         {"reservation_url", "https://example.jp/r"}}}};
  ASSERT_EQ(env.run({"enqueue", "-"}, ok.dump() + "\n").exit_code, 0);
  // enqueue refuses a line that is not JSON; another producer may still write one to the stream.
  env.redis().run(cmd("XADD", "dsp:stream", "*", "payload", "not json"));
  auto run = env.run({"run", "--until-idle"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  auto m = env.get("/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("dispatcher_messages_sent_total{channel=\"sms\"} 1"), std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find("dispatcher_messages_total{outcome=\"dead_letter\",reason=\"invalid_"
                        "message:not_json\"} 1"),
            std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find("dispatcher_consumers_alive 1"), std::string::npos) << m.body;
  // The send was timed: one observation of the outbox provider's latency, in a histogram a
  // Prometheus parser reads as one.
  EXPECT_NE(m.body.find("dispatcher_provider_latency_seconds_count{provider=\"outbox\",outcome="
                        "\"accepted\"} 1\n"),
            std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find("dispatcher_provider_latency_seconds_bucket{provider=\"outbox\",outcome="
                        "\"accepted\",le=\"+Inf\"} 1\n"),
            std::string::npos)
      << m.body;
  const auto file = env.dir() / "metrics-run.txt";
  testing_support::write_file(file, m.body);
  const std::string py =
      "/usr/bin/python3 -c \"import sys; from prometheus_client.parser import "
      "text_string_to_metric_families as p; "
      "h=[f for f in p(open(sys.argv[1]).read()) if "
      "f.name=='dispatcher_provider_latency_seconds']; "
      "assert len(h)==1 and h[0].type=='histogram', h; "
      "c=[s.value for s in h[0].samples if s.name.endswith('_count')]; assert c==[1.0], c\" " +
      file.string();
  EXPECT_EQ(std::system(py.c_str()), 0);
  EXPECT_EQ(m.body.find("819012340099"), std::string::npos) << "no personal data in metrics";
  EXPECT_EQ(env.get("/healthz").json()["consumers_alive"], 1);
  EXPECT_EQ(env.get("/healthz?require=consumer").status, 200)
      << "the consumer's heartbeat is recent";
}

}  // namespace
}  // namespace web_testing
