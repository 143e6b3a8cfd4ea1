#include "runner.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <thread>


namespace tg::ort {
namespace {

using Clock = std::chrono::steady_clock;

// The spin after a job, from $TG_RUNNER_SPIN_US (0 turns it off), read once.
std::chrono::microseconds SpinBudget() {
  const char* v = std::getenv("TG_RUNNER_SPIN_US");
  if (v == nullptr || *v == '\0') return std::chrono::microseconds(200);
  char* end = nullptr;
  long us = std::strtol(v, &end, 10);
  if (end == v || us < 0) return std::chrono::microseconds(200);
  return std::chrono::microseconds(us > 100'000 ? 100'000 : us);
}

// Leaked on purpose, like the watchdog: the threads outlive static destruction at exit.
struct Runner {
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<std::function<void()>> queue;
  std::atomic<size_t> queued{0};
  std::atomic<int> spinners{0};
  int started = 0;
  const std::chrono::microseconds spin = SpinBudget();

  void Loop() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(mutex);
        wake.wait(lock, [&] { return !queue.empty(); });
        job = std::move(queue.front());
        queue.pop_front();
        queued.fetch_sub(1);
      }
      job();
      job = nullptr;  // the job's captures (a session share, buffers) go now, not at the next job
      SpinForNext();
    }
  }

  // Stays awake for `spin` while nothing is queued, unless another thread already does.
  void SpinForNext() {
    if (spin.count() == 0) return;
    int expected = 0;
    if (!spinners.compare_exchange_strong(expected, 1)) return;
    const Clock::time_point until = Clock::now() + spin;
    int n = 0;
    while (queued.load() == 0) {
      // A yield, not a pause: a spinning thread must never hold a CPU that the thread which will
      // submit the next job (the JS thread) wants.
      std::this_thread::yield();
      if (++n % 8 == 0 && Clock::now() >= until) break;
    }
    // Cleared before the thread looks at the queue under the lock: a job submitted after this
    // store sees no spinner and notifies; one submitted before is in the queue already.
    spinners.store(0);
  }

  void Submit(std::function<void()> job) {
    size_t waiting;
    {
      std::lock_guard<std::mutex> lock(mutex);
      // All threads at first use: sleeping ones cost nothing.
      for (; started < kHotRunnerThreads; ++started) std::thread([this] { Loop(); }).detach();
      queue.push_back(std::move(job));
      waiting = queued.fetch_add(1) + 1;
    }
    // A spinning thread takes a job without a wake-up (the futex call and the sleeping thread's
    // wake-up are the cost this file exists to avoid); jobs beyond it wake a sleeping thread.
    if (waiting > static_cast<size_t>(spinners.load())) wake.notify_one();
  }
};

Runner& Instance() {
  static Runner* r = new Runner();
  return *r;
}

}  // namespace

void SubmitToRunner(std::function<void()> job) {
  Runner& r = Instance();
  r.Submit(std::move(job));
}

}  // namespace tg::ort
