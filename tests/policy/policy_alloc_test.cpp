// evaluate() on the hot path: nothing allocated for a send, a defer or a short deny reason; one
// allocation for a long deny reason. Counts global operator new calls made on this thread.
#include <gtest/gtest.h>

#include <cstdlib>
#include <new>

#include "policy/policy.hpp"
#include "policy_test_support.hpp"

namespace {
thread_local bool counting = false;
thread_local std::size_t allocations = 0;
}  // namespace

// Every unaligned form is replaced, so that each allocation and its release agree (sanitizers
// check that); the aligned forms stay the library's and pair with each other.
void* operator new(std::size_t n) {
  if (counting) ++allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  if (counting) ++allocations;
  return std::malloc(n ? n : 1);
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept {
  return ::operator new(n, t);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace dispatcher::policy::testing {
namespace {

std::size_t allocations_of(const Scenario& s, Decision& out) {
  out = s.evaluate();  // warm: zones located and loaded once
  allocations = 0;
  counting = true;
  out = s.evaluate();
  counting = false;
  return allocations;
}

TEST(PolicyAllocations, SendAllocatesNothing) {
  Scenario s;
  s.message.data_categories = {"usage_history"};
  s.state.optouts = {"channel:email", "purpose:advertising"};
  Decision d;
  EXPECT_EQ(allocations_of(s, d), 0u);
  EXPECT_EQ(summary(d), "send:push");
}

TEST(PolicyAllocations, DeferAllocatesNothing) {
  Scenario s;
  s.message.sender = "operator";
  s.message.purpose = "campaign";
  s.recipient.tz = "America/Los_Angeles";
  s.now = at("2026-01-15T22:00:00-08:00");
  Decision d;
  EXPECT_EQ(allocations_of(s, d), 0u);
  EXPECT_EQ(d.verdict, Verdict::defer);
}

TEST(PolicyAllocations, DenyAllocatesOnlyItsReason) {
  Scenario s;
  s.message.expires_at = s.now;
  Decision d;
  EXPECT_EQ(allocations_of(s, d), 0u);  // "expired" fits in the string itself
  EXPECT_EQ(d.reason, "expired");

  Scenario o;
  o.state.optouts = {"sender:clinic:c-102"};
  EXPECT_EQ(allocations_of(o, d), 1u);
  EXPECT_EQ(d.reason, "opted_out:sender:clinic:c-102");
}

}  // namespace
}  // namespace dispatcher::policy::testing
