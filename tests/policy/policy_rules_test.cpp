// POLICY.md's rules 2–12 over the shipped config/policy.yaml: for each rule messages it lets
// through and messages it stops, with the exact reason code; then the order between rules.
#include <gtest/gtest.h>

#include "policy/policy.hpp"
#include "policy_test_support.hpp"

namespace dispatcher::policy::testing {
namespace {

std::string deferred(std::string_view until) {
  return "defer:quiet_hours@" + format_rfc3339(at(until));
}

class Rule : public ::testing::TestWithParam<Case> {};

TEST_P(Rule, Decides) {
  Scenario s;
  GetParam().given(s);
  EXPECT_EQ(summary(s.evaluate()), GetParam().expected);
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) { return info.param.name; }

// A marketing message from the operator to a member (push needs no consent; daytime).
void operator_marketing(Scenario& s, std::string purpose = "coupon_info") {
  s.message.sender = "operator";
  s.message.purpose = std::move(purpose);
}

INSTANTIATE_TEST_SUITE_P(
    R02Expired, Rule,
    ::testing::Values(
        Case{"no_expiry", [](Scenario&) {}, "send:push"},
        Case{"expires_later",
             [](Scenario& s) { s.message.expires_at = at("2026-11-30T10:00:00.001+09:00"); },
             "send:push"},
        Case{"expires_now", [](Scenario& s) { s.message.expires_at = s.now; }, "deny:expired"},
        Case{"expired_before",
             [](Scenario& s) { s.message.expires_at = at("2026-11-29T10:00:00+09:00"); },
             "deny:expired"}),
    case_name);

INSTANTIATE_TEST_SUITE_P(
    R03ErasedStopped, Rule,
    ::testing::Values(
        Case{"erased", [](Scenario& s) { s.state.erased = true; }, "deny:subject_erased"},
        Case{"stopped_all", [](Scenario& s) { s.state.stopped_all = true; },
             "deny:subject_stopped"},
        Case{"stopped_this_purpose",
             [](Scenario& s) { s.state.stopped_purposes = {"reservation"}; },
             "deny:subject_stopped:reservation"},
        Case{"stopped_other_purpose",
             [](Scenario& s) { s.state.stopped_purposes = {"advertising"}; }, "send:push"},
        Case{"erased_before_stopped",
             [](Scenario& s) {
               s.state.erased = true;
               s.state.stopped_all = true;
             },
             "deny:subject_erased"}),
    case_name);

INSTANTIATE_TEST_SUITE_P(R04NonMembers, Rule,
                         ::testing::Values(Case{"own_clinic_reservation",
                                                [](Scenario& s) { s.nonmember(); }, "send:push"},
                                           Case{"operator_reservation",
                                                [](Scenario& s) {
                                                  s.nonmember();
                                                  s.message.sender = "operator";
                                                },
                                                "send:push"},
                                           Case{"own_clinic_product_notice",
                                                [](Scenario& s) {
                                                  s.nonmember();
                                                  s.message.purpose = "product_notice";
                                                },
                                                "send:push"},
                                           Case{"support_not_permitted",
                                                [](Scenario& s) {
                                                  s.nonmember();
                                                  s.message.purpose = "support";
                                                },
                                                "deny:nonmember_purpose_not_permitted"},
                                           Case{"advertising_not_permitted",
                                                [](Scenario& s) {
                                                  s.nonmember();
                                                  operator_marketing(s, "advertising");
                                                },
                                                "deny:nonmember_purpose_not_permitted"},
                                           Case{"other_clinic",
                                                [](Scenario& s) {
                                                  s.nonmember();
                                                  s.message.sender = "clinic:c-103";
                                                },
                                                "deny:nonmember_sender_not_permitted"},
                                           Case{"group_sender",
                                                [](Scenario& s) {
                                                  s.nonmember();
                                                  s.message.sender = "group:epark";
                                                },
                                                "deny:nonmember_sender_not_permitted"},
                                           Case{"clinic_prefix_is_not_own",
                                                [](Scenario& s) {
                                                  s.nonmember();
                                                  s.message.sender = "clinic:c-1020";
                                                },
                                                "deny:nonmember_sender_not_permitted"}),
                         case_name);

INSTANTIATE_TEST_SUITE_P(
    R05PurposeOfUse, Rule,
    ::testing::Values(Case{"usage_history_for_reservation",
                           [](Scenario& s) { s.message.data_categories = {"usage_history"}; },
                           "send:push"},
                      Case{"behavior_history_for_recommendation",
                           [](Scenario& s) {
                             operator_marketing(s, "recommendation");
                             s.message.data_categories = {"usage_history", "behavior_history"};
                           },
                           "send:push"},
                      Case{"behavior_history_for_reservation",
                           [](Scenario& s) { s.message.data_categories = {"behavior_history"}; },
                           "deny:purpose_not_permitted:behavior_history"},
                      Case{"usage_history_for_auth",
                           [](Scenario& s) {
                             s.message.sender = "operator";
                             s.message.purpose = "auth";
                             s.message.data_categories = {"usage_history"};
                           },
                           "deny:purpose_not_permitted:usage_history"},
                      Case{"bank_account_for_reward_payout",
                           [](Scenario& s) {
                             s.message.sender = "operator";
                             s.message.purpose = "reward_payout";
                             s.message.data_categories = {"bank_account"};
                           },
                           "send:push"},
                      Case{"template_questionnaire",
                           [](Scenario& s) { s.template_categories = {"questionnaire"}; },
                           "deny:purpose_not_permitted:questionnaire"},
                      Case{"member_profile_for_product_notice",
                           [](Scenario& s) { operator_marketing(s, "product_notice"); },
                           "deny:purpose_not_permitted:member_profile"},
                      Case{"nonmember_contact_with_usage_history",
                           [](Scenario& s) {
                             s.nonmember();
                             s.message.data_categories = {"usage_history"};
                           },
                           "send:push"},
                      Case{"nonmember_product_notice_with_usage_history",
                           [](Scenario& s) {
                             s.nonmember();
                             s.message.purpose = "product_notice";
                             s.message.data_categories = {"usage_history"};
                           },
                           "deny:purpose_not_permitted:usage_history"},
                      Case{"sensitive_support_from_clinic",
                           [](Scenario& s) {
                             s.message.purpose = "support";
                             s.message.data_categories = {"sensitive"};
                           },
                           "send:push"},
                      Case{"sensitive_reservation_from_operator",
                           [](Scenario& s) {
                             s.message.sender = "operator";
                             s.message.data_categories = {"sensitive"};
                           },
                           "send:push"},
                      Case{"sensitive_for_campaign",
                           [](Scenario& s) {
                             operator_marketing(s, "campaign");
                             s.message.data_categories = {"sensitive"};
                           },
                           "deny:purpose_not_permitted:sensitive"},
                      Case{"sensitive_from_group",
                           [](Scenario& s) {
                             s.message.sender = "group:epark";
                             s.message.data_categories = {"sensitive"};
                           },
                           "deny:purpose_not_permitted:sensitive"},
                      Case{"declared_before_template",
                           [](Scenario& s) {
                             s.message.data_categories = {"usage_history", "bank_account"};
                             s.template_categories = {"questionnaire"};
                           },
                           "deny:purpose_not_permitted:bank_account"},
                      Case{"own_before_declared",
                           [](Scenario& s) {
                             operator_marketing(s, "product_notice");
                             s.message.data_categories = {"behavior_history"};
                           },
                           "deny:purpose_not_permitted:member_profile"},
                      Case{"unknown_category_permits_nothing",
                           [](Scenario& s) { s.message.data_categories = {"shoe_size"}; },
                           "deny:purpose_not_permitted:shoe_size"}),
    case_name);

INSTANTIATE_TEST_SUITE_P(
    R06AdvertisingIsOperators, Rule,
    ::testing::Values(Case{"operator_advertises",
                           [](Scenario& s) { operator_marketing(s, "advertising"); }, "send:push"},
                      Case{"clinic_advertises",
                           [](Scenario& s) {
                             operator_marketing(s, "advertising");
                             s.message.sender = "clinic:c-102";
                           },
                           "deny:advertising_sender_not_operator"},
                      Case{"group_advertises",
                           [](Scenario& s) {
                             operator_marketing(s, "advertising");
                             s.message.sender = "group:epark";
                           },
                           "deny:advertising_sender_not_operator"},
                      Case{"group_campaign_is_not_advertising",
                           [](Scenario& s) {
                             operator_marketing(s, "campaign");
                             s.message.sender = "group:epark";
                           },
                           "send:push"}),
    case_name);

// Rule 7 over the shipped policy: `sensitive` names its senders and `questionnaire` permits
// nothing, so rule 5 stops these first (purpose_not_permitted); rule 7 is the backstop a policy
// without those lines relies on (see policy_variants_test.cpp).
INSTANTIATE_TEST_SUITE_P(R07JointUse, Rule,
                         ::testing::Values(Case{"group_usage_history",
                                                [](Scenario& s) {
                                                  s.message.sender = "group:epark";
                                                  s.message.data_categories = {"usage_history"};
                                                },
                                                "send:push"},
                                           Case{"group_sensitive",
                                                [](Scenario& s) {
                                                  s.message.sender = "group:epark";
                                                  s.message.data_categories = {"sensitive"};
                                                },
                                                "deny:purpose_not_permitted:sensitive"},
                                           Case{"group_questionnaire",
                                                [](Scenario& s) {
                                                  s.message.sender = "group:epark";
                                                  s.template_categories = {"questionnaire"};
                                                },
                                                "deny:purpose_not_permitted:questionnaire"}),
                         case_name);

INSTANTIATE_TEST_SUITE_P(
    R08ClinicsSeeTheirOwn, Rule,
    ::testing::Values(
        Case{"clinic_reservation", [](Scenario&) {}, "send:push"},
        Case{"clinic_support", [](Scenario& s) { s.message.purpose = "support"; }, "send:push"},
        Case{"clinic_coupon_to_member", [](Scenario& s) { s.message.purpose = "coupon_info"; },
             "deny:clinic_purpose_not_permitted"},
        Case{"clinic_maintenance_to_member", [](Scenario& s) { s.message.purpose = "maintenance"; },
             "deny:clinic_purpose_not_permitted"},
        Case{"operator_coupon_to_member", [](Scenario& s) { operator_marketing(s); }, "send:push"},
        Case{"clinic_product_notice_to_own_nonmember",
             [](Scenario& s) {
               s.nonmember();
               s.message.purpose = "product_notice";
             },
             "send:push"},
        // The relation (issue: a clinic reached any member): members carry their clinics.
        Case{"member_without_a_relation", [](Scenario& s) { s.recipient.clinics.clear(); },
             "deny:clinic_no_relation"},
        Case{"member_of_another_clinic",
             [](Scenario& s) {
               s.recipient.clinics = {"c-103", "c-1020"};
             },
             "deny:clinic_no_relation"},
        Case{"member_of_several_clinics",
             [](Scenario& s) {
               s.recipient.clinics = {"c-103", "c-102"};
             },
             "send:push"},
        Case{"purpose_before_relation",
             [](Scenario& s) {
               s.recipient.clinics.clear();
               s.message.purpose = "coupon_info";
             },
             "deny:clinic_purpose_not_permitted"},
        Case{"operator_needs_no_relation",
             [](Scenario& s) {
               s.recipient.clinics.clear();
               s.message.sender = "operator";
             },
             "send:push"},
        Case{"group_needs_no_relation",
             [](Scenario& s) {
               s.recipient.clinics.clear();
               s.message.sender = "group:epark";
             },
             "send:push"}),
    case_name);

TEST(PolicyRelation, IntakeAsksTheSameQuestionAsRulesFourAndEight) {
  Scenario s;
  const Policy& p = shipped_policy();
  EXPECT_EQ(p.relation_denial("clinic:c-102", s.recipient), "");
  s.recipient.clinics = {"c-9"};
  EXPECT_EQ(p.relation_denial("clinic:c-102", s.recipient), "clinic_no_relation");
  EXPECT_EQ(summary(s.evaluate()), "deny:clinic_no_relation");
  EXPECT_EQ(p.relation_denial("operator", s.recipient), "");
  s.nonmember();
  EXPECT_EQ(p.relation_denial("clinic:c-102", s.recipient), "");
  EXPECT_EQ(p.relation_denial("clinic:c-200", s.recipient), "nonmember_sender_not_permitted");
  s.message.sender = "clinic:c-200";
  EXPECT_EQ(summary(s.evaluate()), "deny:nonmember_sender_not_permitted");
}

INSTANTIATE_TEST_SUITE_P(
    R09OptOuts, Rule,
    ::testing::Values(
        Case{"none", [](Scenario& s) { s.state.optouts = {"channel:email"}; }, "send:push"},
        Case{"all", [](Scenario& s) { s.state.optouts = {"all"}; }, "deny:opted_out:all"},
        Case{"this_sender", [](Scenario& s) { s.state.optouts = {"sender:clinic:c-102"}; },
             "deny:opted_out:sender:clinic:c-102"},
        Case{"other_sender", [](Scenario& s) { s.state.optouts = {"sender:clinic:c-103"}; },
             "send:push"},
        Case{"this_purpose", [](Scenario& s) { s.state.optouts = {"purpose:reservation"}; },
             "deny:opted_out:purpose:reservation"},
        Case{"other_purpose", [](Scenario& s) { s.state.optouts = {"purpose:advertising"}; },
             "send:push"},
        Case{"all_before_purpose",
             [](Scenario& s) {
               s.state.optouts = {"purpose:reservation", "all"};
             },
             "deny:opted_out:all"},
        Case{"sender_before_purpose",
             [](Scenario& s) {
               s.state.optouts = {"purpose:reservation", "sender:clinic:c-102"};
             },
             "deny:opted_out:sender:clinic:c-102"}),
    case_name);

INSTANTIATE_TEST_SUITE_P(
    R10Channels, Rule,
    ::testing::Values(Case{"first_channel", [](Scenario&) {}, "send:push"},
                      Case{"push_unreachable_falls_back_to_sms",
                           [](Scenario& s) { s.recipient.contact.push.clear(); }, "send:sms"},
                      Case{"push_opted_out_falls_back_to_sms",
                           [](Scenario& s) { s.state.optouts = {"channel:push"}; }, "send:sms"},
                      Case{"push_suppressed_falls_back_to_sms",
                           [](Scenario& s) { s.state.suppressed[index(Channel::push)] = true; },
                           "send:sms"},
                      Case{"order_is_the_messages",
                           [](Scenario& s) {
                             s.message.channels = {Channel::email, Channel::push};
                           },
                           "send:email"},
                      Case{"marketing_email_without_consent",
                           [](Scenario& s) {
                             operator_marketing(s);
                             s.message.channels = {Channel::email, Channel::sms, Channel::push};
                           },
                           "send:push"},
                      Case{"marketing_with_sms_consent",
                           [](Scenario& s) {
                             operator_marketing(s);
                             s.message.channels = {Channel::email, Channel::sms, Channel::push};
                             s.state.consent[index(Channel::sms)] = true;
                           },
                           "send:sms"},
                      Case{"marketing_no_consent_anywhere",
                           [](Scenario& s) {
                             operator_marketing(s);
                             s.message.channels = {Channel::email, Channel::sms};
                           },
                           "deny:no_consent:email"},
                      Case{"reminder_needs_no_consent",
                           [](Scenario& s) {
                             s.message.channels = {Channel::email, Channel::sms};
                           },
                           "send:email"},
                      Case{"opt_out_before_consent",
                           [](Scenario& s) {
                             operator_marketing(s);
                             s.message.channels = {Channel::sms};
                             s.state.optouts = {"channel:sms"};
                           },
                           "deny:opted_out:channel:sms"},
                      Case{"consent_before_unreachable",
                           [](Scenario& s) {
                             operator_marketing(s);
                             s.message.channels = {Channel::sms};
                             s.recipient.contact.phone.clear();
                           },
                           "deny:no_consent:sms"},
                      Case{"unreachable_before_suppressed",
                           [](Scenario& s) {
                             s.message.channels = {Channel::email};
                             s.recipient.contact.email.clear();
                             s.state.suppressed[index(Channel::email)] = true;
                           },
                           "deny:unreachable:email"},
                      Case{"all_passed_over_reason_of_first",
                           [](Scenario& s) {
                             s.recipient.contact.push.clear();
                             s.state.optouts = {"channel:sms"};
                             s.state.suppressed[index(Channel::email)] = true;
                           },
                           "deny:unreachable:push"},
                      Case{"all_suppressed",
                           [](Scenario& s) {
                             s.message.channels = {Channel::sms, Channel::push};
                             s.state.suppressed = {true, true, true};
                           },
                           "deny:address_suppressed:sms"}),
    case_name);

INSTANTIATE_TEST_SUITE_P(
    R11FrequencyCap, Rule,
    ::testing::Values(Case{"under_cap",
                           [](Scenario& s) {
                             operator_marketing(s);
                             s.state.marketing_sent_in_window = 2;
                           },
                           "send:push"},
                      Case{"at_cap",
                           [](Scenario& s) {
                             operator_marketing(s);
                             s.state.marketing_sent_in_window = 3;
                           },
                           "deny:frequency_capped"},
                      Case{"reminders_are_not_capped",
                           [](Scenario& s) { s.state.marketing_sent_in_window = 50; }, "send:push"},
                      Case{"channel_reason_before_cap",
                           [](Scenario& s) {
                             operator_marketing(s);
                             s.message.channels = {Channel::email};
                             s.state.marketing_sent_in_window = 3;
                           },
                           "deny:no_consent:email"}),
    case_name);

INSTANTIATE_TEST_SUITE_P(
    R12QuietHours, Rule,
    ::testing::Values(
        Case{"marketing_push_by_day", [](Scenario& s) { operator_marketing(s); }, "send:push"},
        Case{"marketing_push_at_night",
             [](Scenario& s) {
               operator_marketing(s);
               s.now = at("2026-11-30T22:00:00+09:00");
             },
             deferred("2026-12-01T08:00:00+09:00")},
        Case{"marketing_email_at_night",
             [](Scenario& s) {
               operator_marketing(s);
               s.message.channels = {Channel::email};
               s.state.consent[index(Channel::email)] = true;
               s.now = at("2026-11-30T22:00:00+09:00");
             },
             "send:email"},
        Case{"reminder_sms_at_night",
             [](Scenario& s) {
               s.message.channels = {Channel::sms};
               s.now = at("2026-11-30T22:00:00+09:00");
             },
             "send:sms"},
        Case{"on_the_chosen_channel",
             [](Scenario& s) {
               operator_marketing(s);
               s.message.channels = {Channel::email, Channel::push};  // no e-mail consent: push
               s.now = at("2026-11-30T22:00:00+09:00");
             },
             deferred("2026-12-01T08:00:00+09:00")},
        Case{"cap_before_quiet_hours",
             [](Scenario& s) {
               operator_marketing(s);
               s.state.marketing_sent_in_window = 3;
               s.now = at("2026-11-30T22:00:00+09:00");
             },
             "deny:frequency_capped"},
        Case{"default_zone_when_none",
             [](Scenario& s) {
               operator_marketing(s);
               s.recipient.tz.clear();
               s.now = at("2026-11-30T13:00:00Z");  // 22:00 in Tokyo
             },
             deferred("2026-12-01T08:00:00+09:00")}),
    case_name);

// LINE (POLICY.md "LINE"): a channel like the others, but never for non-members, and marketing on
// it needs no recorded consent (it is not e-mail under the Act; a friend added the account).
INSTANTIATE_TEST_SUITE_P(
    Line, Rule,
    ::testing::Values(Case{"reminder_goes_by_line", [](Scenario& s) { s.with_line(); },
                           "send:line"},
                      Case{"nonmember_never_on_line",
                           [](Scenario& s) { s.nonmember().with_line({Channel::line}); },
                           "deny:nonmember_channel_not_permitted:line"},
                      Case{"nonmember_passed_over_to_sms",
                           [](Scenario& s) { s.nonmember().with_line(); }, "send:sms"},
                      Case{"no_line_id_is_unreachable",
                           [](Scenario& s) {
                             s.with_line({Channel::line});
                             s.recipient.contact.line.clear();
                           },
                           "deny:unreachable:line"},
                      Case{"marketing_without_consent_allowed",
                           [](Scenario& s) {
                             operator_marketing(s);
                             s.with_line();
                           },
                           "send:line"},
                      Case{"marketing_sms_still_needs_consent",
                           [](Scenario& s) {
                             operator_marketing(s);
                             s.with_line({Channel::sms, Channel::line});
                           },
                           "send:line"},
                      Case{"unfollow_is_an_optout_of_the_channel",
                           [](Scenario& s) {
                             s.with_line();
                             s.state.optouts = {"channel:line"};
                           },
                           "send:sms"},
                      Case{"suppressed_line_id",
                           [](Scenario& s) {
                             s.with_line({Channel::line});
                             s.state.suppressed[index(Channel::line)] = true;
                           },
                           "deny:address_suppressed:line"},
                      Case{"marketing_quiet_hours_defer",
                           [](Scenario& s) {
                             operator_marketing(s);
                             s.with_line({Channel::line});
                             s.now = at("2026-11-30T22:00:00+09:00");
                           },
                           deferred("2026-12-01T08:00:00+09:00")},
                      Case{"reminder_not_held_at_night",
                           [](Scenario& s) {
                             s.with_line({Channel::line});
                             s.now = at("2026-11-30T22:00:00+09:00");
                           },
                           "send:line"},
                      Case{"marketing_capped",
                           [](Scenario& s) {
                             operator_marketing(s);
                             s.with_line({Channel::line});
                             s.state.marketing_sent_in_window = 3;
                           },
                           "deny:frequency_capped"}),
    case_name);

// A channel whose provider is spent (LINE's monthly quota) is passed over; with nothing else to
// carry the message it waits for the channel to come back, never denied for it.
INSTANTIATE_TEST_SUITE_P(
    SpentChannel, Rule,
    ::testing::Values(
        Case{"falls_over_to_the_next_channel",
             [](Scenario& s) {
               s.with_line();
               s.exhausted_until[index(Channel::line)] = at("2026-12-01T00:00:00+09:00");
             },
             "send:sms"},
        Case{"next_channel_decided_again_quiet_hours",
             [](Scenario& s) {
               operator_marketing(s);
               s.with_line({Channel::line, Channel::push});
               s.now = at("2026-11-30T22:00:00+09:00");
               s.exhausted_until[index(Channel::line)] = at("2026-12-01T00:00:00+09:00");
             },
             deferred("2026-12-01T08:00:00+09:00")},
        Case{"nothing_else_waits_for_the_reset",
             [](Scenario& s) {
               s.with_line({Channel::line});
               s.exhausted_until[index(Channel::line)] = at("2026-12-01T00:00:00+09:00");
             },
             "defer:channel_exhausted:line@" + format_rfc3339(at("2026-12-01T00:00:00+09:00"))},
        Case{"a_subject_reason_first_still_waits",
             [](Scenario& s) {
               s.with_line({Channel::sms, Channel::line});
               s.state.optouts = {"channel:sms"};
               s.exhausted_until[index(Channel::line)] = at("2026-12-01T00:00:00+09:00");
             },
             "defer:channel_exhausted:line@" + format_rfc3339(at("2026-12-01T00:00:00+09:00"))},
        Case{"back_once_the_time_passed",
             [](Scenario& s) {
               s.with_line();
               s.exhausted_until[index(Channel::line)] = at("2026-11-30T09:00:00+09:00");
             },
             "send:line"}),
    case_name);

// The marketing scopes (POLICY.md "Opt-out scopes"): what the preference page writes. They stop
// marketing only; reminders keep arriving.
INSTANTIATE_TEST_SUITE_P(
    MarketingScopes, Rule,
    ::testing::Values(Case{"marketing_stops_marketing",
                           [](Scenario& s) {
                             operator_marketing(s);
                             s.state.optouts = {"marketing"};
                           },
                           "deny:opted_out:marketing"},
                      Case{"marketing_keeps_reminders",
                           [](Scenario& s) { s.state.optouts = {"marketing"}; }, "send:push"},
                      Case{"purpose_before_marketing",
                           [](Scenario& s) {
                             operator_marketing(s);
                             s.state.optouts = {"marketing", "purpose:coupon_info"};
                           },
                           "deny:opted_out:purpose:coupon_info"},
                      Case{"marketing_channel_passes_the_channel_over",
                           [](Scenario& s) {
                             operator_marketing(s);
                             s.message.channels = {Channel::push, Channel::line};
                             s.recipient.contact.line = "U4af4980629a1b2c3d4e5f60718293a4b";
                             s.state.optouts = {"marketing:channel:push"};
                           },
                           "send:line"},
                      Case{"marketing_channel_reason",
                           [](Scenario& s) {
                             operator_marketing(s);
                             s.message.channels = {Channel::push};
                             s.state.optouts = {"marketing:channel:push"};
                           },
                           "deny:opted_out:marketing:channel:push"},
                      Case{"marketing_channel_keeps_reminders",
                           [](Scenario& s) { s.state.optouts = {"marketing:channel:push"}; },
                           "send:push"},
                      Case{"channel_before_marketing_channel",
                           [](Scenario& s) {
                             operator_marketing(s);
                             s.message.channels = {Channel::push};
                             s.state.optouts = {"marketing:channel:push", "channel:push"};
                           },
                           "deny:opted_out:channel:push"}),
    case_name);

// Where two rules apply, the earlier answers.
INSTANTIATE_TEST_SUITE_P(
    Order, Rule,
    ::testing::Values(Case{"expired_before_erased",
                           [](Scenario& s) {
                             s.state.erased = true;
                             s.message.expires_at = s.now;
                           },
                           "deny:expired"},
                      Case{"stopped_before_nonmember",
                           [](Scenario& s) {
                             s.nonmember();
                             s.message.sender = "clinic:c-999";
                             s.state.stopped_purposes = {"reservation"};
                           },
                           "deny:subject_stopped:reservation"},
                      Case{"nonmember_before_purpose",
                           [](Scenario& s) {
                             s.nonmember();
                             s.message.purpose = "recommendation";
                             s.message.data_categories = {"behavior_history"};
                           },
                           "deny:nonmember_purpose_not_permitted"},
                      Case{"purpose_before_advertising",
                           [](Scenario& s) {
                             s.message.purpose = "advertising";
                             s.message.data_categories = {"usage_history"};
                           },
                           "deny:purpose_not_permitted:usage_history"},
                      Case{"advertising_before_clinic_members",
                           [](Scenario& s) { s.message.purpose = "advertising"; },
                           "deny:advertising_sender_not_operator"},
                      Case{"clinic_members_before_optouts",
                           [](Scenario& s) {
                             s.message.purpose = "coupon_info";
                             s.state.optouts = {"all"};
                           },
                           "deny:clinic_purpose_not_permitted"},
                      Case{"optouts_before_channels",
                           [](Scenario& s) {
                             s.state.optouts = {"channel:push", "purpose:reservation"};
                             s.recipient.contact = {};
                           },
                           "deny:opted_out:purpose:reservation"},
                      Case{
                          "all_before_sender_and_purpose",
                          [](Scenario& s) {
                            s.state.optouts = {"purpose:reservation", "sender:clinic:c-102", "all"};
                          },
                          "deny:opted_out:all"}),
    case_name);

TEST(PolicyDecision, SendCarriesNoReasonDenyNoChannel) {
  Scenario s;
  Decision send = s.evaluate();
  EXPECT_EQ(send.verdict, Verdict::send);
  EXPECT_TRUE(send.reason.empty());
  EXPECT_FALSE(send.until);
  s.state.erased = true;
  Decision deny = s.evaluate();
  EXPECT_EQ(deny.verdict, Verdict::deny);
  EXPECT_FALSE(deny.channel);
  EXPECT_FALSE(deny.until);
}

TEST(PolicyDecision, VerdictNames) {
  EXPECT_EQ(to_string(Verdict::send), "send");
  EXPECT_EQ(to_string(Verdict::defer), "defer");
  EXPECT_EQ(to_string(Verdict::deny), "deny");
}

TEST(PolicyDecision, UnknownPurposeIsNeverSent) {
  Scenario s;
  s.message.purpose = "lottery";
  EXPECT_EQ(summary(s.evaluate()), "deny:invalid_message:unknown_purpose");
}

TEST(PolicyDecision, UnknownSenderKindIsNeverSent) {
  for (std::string sender : {"dentist:c-102", "clinic", "operator:x", "clinic:", ""}) {
    Scenario s;
    s.message.sender = sender;
    EXPECT_EQ(summary(s.evaluate()), "deny:invalid_message:bad_sender") << sender;
  }
}

TEST(PolicyDecision, NoChannelsIsNeverSent) {
  Scenario s;
  s.message.channels.clear();
  EXPECT_EQ(summary(s.evaluate()), "deny:invalid_message:no_channels");
}

TEST(PolicyAccessors, ShippedVocabulary) {
  const Policy& p = shipped_policy();
  EXPECT_TRUE(p.known_purpose("reservation"));
  EXPECT_TRUE(p.known_purpose("product_notice"));
  EXPECT_FALSE(p.known_purpose("lottery"));
  EXPECT_FALSE(p.known_purpose(""));
  for (std::string_view m : {"advertising", "campaign", "recommendation", "coupon_info",
                             "product_notice", "points", "survey"})
    EXPECT_TRUE(p.is_marketing(m)) << m;
  for (std::string_view m :
       {"reservation", "auth", "support", "payment", "maintenance", "reward_payout"})
    EXPECT_FALSE(p.is_marketing(m)) << m;
  EXPECT_FALSE(p.is_marketing("lottery"));
  EXPECT_EQ(p.cap_count(), 3);
  EXPECT_EQ(p.cap_window(), std::chrono::hours{24 * 7});
  EXPECT_EQ(p.default_zone(), "Asia/Tokyo");
  EXPECT_EQ(p.purposes().size(), 13u);
  EXPECT_EQ(p.purposes().front(), "reservation");
  const std::vector<std::string_view> want{"member_profile", "usage_history", "behavior_history",
                                           "bank_account",   "questionnaire", "nonmember_contact",
                                           "sensitive"};
  EXPECT_EQ(p.categories(), want);
  EXPECT_TRUE(p.known_category("sensitive"));
  EXPECT_FALSE(p.known_category("shoe_size"));
}

// Rule 8 alone, as intake asks it: the clinic_members section of the file, not a list in code.
TEST(PolicyAccessors, MayMessageMemberIsRuleEightFromTheFile) {
  const Policy& p = shipped_policy();
  EXPECT_TRUE(p.may_message_member("clinic:c-102", "reservation"));
  EXPECT_TRUE(p.may_message_member("clinic:c-102", "support"));
  EXPECT_FALSE(p.may_message_member("clinic:c-102", "coupon_info"));
  EXPECT_FALSE(p.may_message_member("clinic:c-102", "maintenance"));
  EXPECT_TRUE(p.may_message_member("operator", "coupon_info")) << "not a clinic_members sender";
  EXPECT_TRUE(p.may_message_member("group:g-1", "coupon_info"));
  EXPECT_FALSE(p.may_message_member("clinic:c-102", "lottery")) << "unknown purpose";
  EXPECT_FALSE(p.may_message_member("shop:s-1", "reservation")) << "unknown sender kind";
  EXPECT_FALSE(p.may_message_member("clinic:", "reservation")) << "names no clinic";
  const Policy edited_policy =
      Policy::load_string(edited(shipped_policy_text(), "  purposes: [reservation, support]",
                                 "  purposes: [reservation, support, survey]"),
                          "variant.yaml");
  EXPECT_TRUE(edited_policy.may_message_member("clinic:c-102", "survey"));
  EXPECT_FALSE(edited_policy.may_message_member("clinic:c-102", "coupon_info"));
}

}  // namespace
}  // namespace dispatcher::policy::testing
