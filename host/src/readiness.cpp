#include "trellis/host/readiness.hpp"

#include <mutex>
#include <optional>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

namespace trellis::host {
namespace net = boost::asio;

namespace {

// One caller of check(), waiting for the sources that had no fresh result.
struct waiter {
  std::function<void(source_health_map)> done;
  source_health_map results;
  std::size_t remaining = 0;
  bool finished = false;
  net::steady_timer timer;
  waiter(net::io_context& ioc, std::function<void(source_health_map)> d) : done(std::move(d)), timer(ioc) {}
};

struct entry {
  std::optional<source_health> result;
  std::chrono::steady_clock::time_point at;
  bool running = false;
  std::vector<std::shared_ptr<waiter>> waiting;
};

void answer(const std::shared_ptr<waiter>& w) {
  try {
    w->done(std::move(w->results));
  } catch (...) {  // NOLINT(bugprone-empty-catch): the caller's failure is not the checker's
  }
}

}  // namespace

struct source_readiness::impl {
  std::vector<std::string> sources;
  probe check;
  options opts;
  clock now;
  // The timers' thread. Declared before `entries`, which hold timers: those
  // are destroyed first.
  net::io_context ioc;
  net::executor_work_guard<net::io_context::executor_type> guard{ioc.get_executor()};
  std::thread loop;
  net::thread_pool workers;
  std::mutex mutex;
  std::map<std::string, entry> entries;

  impl(std::vector<std::string> s, probe p, options o, clock c)
      : sources(std::move(s)), check(std::move(p)), opts(o), now(std::move(c)), workers(std::max(1u, o.threads)) {
    for (const auto& name : sources) entries[name];
    loop = std::thread([this] { ioc.run(); });
  }

  // A probe finished: keep its result and answer whoever waited for it.
  void finish(const std::string& name, source_health health) {
    std::vector<std::shared_ptr<waiter>> ready;
    {
      std::lock_guard lock(mutex);
      entry& e = entries[name];
      e.result = health;
      e.at = now();
      e.running = false;
      for (auto& w : e.waiting) {
        if (w->finished) continue;
        w->results[name] = health;
        if (--w->remaining == 0) {
          w->finished = true;
          ready.push_back(w);
        }
      }
      e.waiting.clear();
    }
    for (auto& w : ready) {
      net::post(ioc, [w] { w->timer.cancel(); });  // the timer is only touched on its own thread
      answer(w);
    }
  }

  // The timeout passed: the sources still unanswered are reported not ready.
  void expire(const std::shared_ptr<waiter>& w) {
    {
      std::lock_guard lock(mutex);
      if (w->finished) return;
      w->finished = true;
      for (const auto& name : sources) {
        if (w->results.count(name) == 0) {
          w->results[name] = {false, "no answer within " + std::to_string(opts.timeout.count()) + " ms"};
        }
      }
    }
    answer(w);
  }

  void run_probe(const std::string& name) {
    source_health health;
    try {
      health = check(name);
    } catch (const std::exception& e) {
      health = {false, e.what()};
    } catch (...) {
      health = {false, "the health check failed"};
    }
    finish(name, std::move(health));
  }
};

source_readiness::source_readiness(std::vector<std::string> sources, probe check, options opts, clock now)
    : impl_(std::make_shared<impl>(std::move(sources), std::move(check), opts, std::move(now))) {}

source_readiness::~source_readiness() {
  impl_->workers.join();  // running probes finish and answer their waiters
  net::post(impl_->ioc, [i = impl_.get()] {
    std::lock_guard lock(i->mutex);
    for (auto& [name, e] : i->entries) {
      for (auto& w : e.waiting) w->timer.cancel();
    }
  });
  impl_->guard.reset();
  impl_->loop.join();
}

const std::vector<std::string>& source_readiness::sources() const { return impl_->sources; }

void source_readiness::check(std::function<void(source_health_map)> done) {
  impl* i = impl_.get();
  auto w = std::make_shared<waiter>(i->ioc, std::move(done));
  std::vector<std::string> start;
  bool all_cached = false;
  {
    std::lock_guard lock(i->mutex);
    const auto now = i->now();
    for (const auto& name : i->sources) {
      entry& e = i->entries[name];
      if (e.result && now - e.at < i->opts.cache_for) {
        w->results[name] = *e.result;
        continue;
      }
      ++w->remaining;
      e.waiting.push_back(w);
      if (!e.running) {
        e.running = true;
        start.push_back(name);
      }
    }
    all_cached = w->remaining == 0;
    if (all_cached) {
      w->finished = true;
    } else {
      // Armed under the lock: finish() cannot cancel it before it waits.
      w->timer.expires_after(i->opts.timeout);
      w->timer.async_wait([i, w](boost::system::error_code ec) {
        if (!ec) i->expire(w);
      });
    }
  }
  if (all_cached) return answer(w);
  for (auto& name : start) net::post(i->workers, [i, name] { i->run_probe(name); });
}

}  // namespace trellis::host
