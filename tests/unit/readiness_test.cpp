// Unit tests of readiness.hpp: results per source, the cache (on an injected
// clock), one running check per source shared by concurrent callers, the
// timeout for a check that hangs, and failures thrown by a probe.
#include "trellis/host/readiness.hpp"
// The header under test comes first: it must compile on its own.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <stdexcept>

namespace {

namespace th = trellis::host;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

// A clock the test moves by hand.
struct manual_clock {
  std::shared_ptr<std::atomic<std::chrono::steady_clock::duration>> at =
      std::make_shared<std::atomic<std::chrono::steady_clock::duration>>(std::chrono::hours(1));
  th::source_readiness::clock fn() const {
    return [at = at] { return std::chrono::steady_clock::time_point(at->load()); };
  }
  void advance(std::chrono::steady_clock::duration d) const { *at = at->load() + d; }
};

// Runs check() and waits for its answer (a safety net of a minute, never a timing check).
th::source_health_map check_now(th::source_readiness& r) {
  auto promise = std::make_shared<std::promise<th::source_health_map>>();
  auto future = promise->get_future();
  r.check([promise](th::source_health_map m) { promise->set_value(std::move(m)); });
  EXPECT_EQ(future.wait_for(60s), std::future_status::ready);
  return future.get();
}

// Each source gets its own answer, with the probe's error.
TEST(SourceReadiness, ReportsEverySource) {
  th::source_readiness r(
      {"good", "bad"},
      [](const std::string& name) {
        return name == "good" ? th::source_health{true, {}} : th::source_health{false, "file is not a database"};
      },
      {});
  th::source_health_map m = check_now(r);
  ASSERT_EQ(m.size(), 2U);
  EXPECT_TRUE(m.at("good").ok);
  EXPECT_FALSE(m.at("bad").ok);
  EXPECT_EQ(m.at("bad").error, "file is not a database");
}

// A result younger than cache_for is reused; older, the source is checked again.
TEST(SourceReadiness, CachesResultsForCacheFor) {
  manual_clock clock;
  std::atomic<int> probes{0};
  th::source_readiness r(
      {"db"},
      [&](const std::string&) {
        ++probes;
        return th::source_health{probes.load() == 1, probes.load() == 1 ? "" : "gone"};
      },
      {.timeout = 60s, .cache_for = 5s, .threads = 1}, clock.fn());
  EXPECT_TRUE(check_now(r).at("db").ok);
  clock.advance(4s);
  EXPECT_TRUE(check_now(r).at("db").ok);
  EXPECT_EQ(probes.load(), 1) << "within cache_for: no new check";
  clock.advance(2s);
  th::source_health_map m = check_now(r);
  EXPECT_EQ(probes.load(), 2);
  EXPECT_FALSE(m.at("db").ok);
  EXPECT_EQ(m.at("db").error, "gone");
}

// A probe that hangs: the caller is answered at the timeout with the source
// not ready; callers meanwhile share the one running check; once it ends
// its result is used.
TEST(SourceReadiness, HungCheckTimesOutAndRunsOnce) {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<int> probes{0};
  th::source_readiness r(
      {"slow", "fast"},
      [&](const std::string& name) {
        if (name == "fast") return th::source_health{true, {}};
        ++probes;
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return release; });
        return th::source_health{true, {}};
      },
      {.timeout = 50ms, .cache_for = 1h, .threads = 2});
  th::source_health_map first = check_now(r);
  EXPECT_FALSE(first.at("slow").ok);
  EXPECT_EQ(first.at("slow").error, "no answer within 50 ms");
  EXPECT_TRUE(first.at("fast").ok);
  th::source_health_map second = check_now(r);
  EXPECT_FALSE(second.at("slow").ok);
  EXPECT_EQ(probes.load(), 1) << "the hung check is not started twice";
  // Released, the check ends; a caller waiting for it now gets its result.
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  // Until the probe has stored its result a caller may still time out; poll
  // the outcome, not the time.
  th::source_health_map m;
  for (int i = 0; i < 1000; ++i) {
    m = check_now(r);
    if (m.at("slow").ok) break;
  }
  EXPECT_TRUE(m.at("slow").ok);
  EXPECT_EQ(probes.load(), 1);
}

// A probe that throws reports the source not ready with the exception's message.
TEST(SourceReadiness, ThrowingProbeIsAFailure) {
  th::source_readiness r({"x"}, [](const std::string&) -> th::source_health { throw std::runtime_error("boom"); }, {});
  th::source_health_map m = check_now(r);
  EXPECT_FALSE(m.at("x").ok);
  EXPECT_THAT(m.at("x").error, HasSubstr("boom"));
}

// No sources: the answer comes at once, on the calling thread.
TEST(SourceReadiness, NoSourcesAnswersAtOnce) {
  th::source_readiness r({}, [](const std::string&) { return th::source_health{true, {}}; }, {});
  bool called = false;
  r.check([&](th::source_health_map m) {
    called = true;
    EXPECT_TRUE(m.empty());
  });
  EXPECT_TRUE(called);
}

}  // namespace
