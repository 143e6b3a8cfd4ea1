#include "watchdog.h"

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "runtime.h"

namespace tg::ort {
namespace {

using Clock = std::chrono::steady_clock;

struct Entry {
  Clock::time_point deadline;
  OrtRunOptions* runOptions;
  std::atomic<bool>* fired;
  DeadlineExpired onExpired;
  void* owner;
};

// Leaked on purpose: the thread may outlive static destruction at process exit (the addon is
// linked -z nodelete, so its code stays mapped for it too).
struct Watchdog {
  std::mutex mutex;
  std::condition_variable wake;
  std::map<uint64_t, Entry> entries;
  uint64_t next = 1;
  bool started = false;

  void Loop() {
#ifdef __linux__
    // The default 50 us timer slack lets the kernel fire our wake-ups late on purpose; a
    // deadline is the caller's promise, so ask for none (measured: about 50 us less overshoot).
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
#endif
    std::unique_lock<std::mutex> lock(mutex);
    for (;;) {
      if (entries.empty()) {
        wake.wait(lock);
        continue;
      }
      auto first = entries.begin();
      for (auto it = entries.begin(); it != entries.end(); ++it)
        if (it->second.deadline < first->second.deadline) first = it;
      // A copy, never a reference into the map: the wait releases the lock, and a run that
      // finishes meanwhile erases its entry (DisarmDeadline). Every wait below works on locals.
      const Clock::time_point deadline = first->second.deadline;
      if (Clock::now() < deadline) {
        wake.wait_until(lock, deadline);
        continue;  // the map may have changed: look again
      }
      Entry e = first->second;
      entries.erase(first);
      e.fired->store(true);
      if (const OrtApi* api = Api()) {
        if (OrtStatus* st = api->RunOptionsSetTerminate(e.runOptions)) api->ReleaseStatus(st);
      }
      if (e.onExpired) e.onExpired(e.owner);
    }
  }
};

Watchdog& Instance() {
  static Watchdog* w = new Watchdog();
  return *w;
}

}  // namespace

uint64_t ArmDeadline(double ms, OrtRunOptions* runOptions, std::atomic<bool>* fired, DeadlineExpired onExpired,
                     void* owner) {
  Watchdog& w = Instance();
  std::lock_guard<std::mutex> lock(w.mutex);
  if (!w.started) {
    std::thread([&w] { w.Loop(); }).detach();
    w.started = true;
  }
  // Beyond ~30 years a deadline is no deadline; clamping keeps the clock arithmetic in range.
  constexpr double kMaxMs = 1e12;
  if (!(ms < kMaxMs)) ms = kMaxMs;
  auto deadline = Clock::now() + std::chrono::nanoseconds(static_cast<int64_t>(ms * 1e6));
  uint64_t ticket = w.next++;
  w.entries.emplace(ticket, Entry{deadline, runOptions, fired, onExpired, owner});
  w.wake.notify_one();
  return ticket;
}

void DisarmDeadline(uint64_t ticket) {
  Watchdog& w = Instance();
  std::lock_guard<std::mutex> lock(w.mutex);
  w.entries.erase(ticket);
}

}  // namespace tg::ort
