#include "watchdog.h"

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "runtime.h"

namespace tg::ort {
namespace {

using Clock = std::chrono::steady_clock;

struct Entry {
  Clock::time_point deadline;
  OrtRunOptions* runOptions;
  std::atomic<bool>* fired;
};

// Leaked on purpose: the thread may outlive static destruction at process exit.
struct Watchdog {
  std::mutex mutex;
  std::condition_variable wake;
  std::map<uint64_t, Entry> entries;
  uint64_t next = 1;
  bool started = false;

  void Loop() {
    std::unique_lock<std::mutex> lock(mutex);
    for (;;) {
      if (entries.empty()) {
        wake.wait(lock);
        continue;
      }
      auto first = entries.begin();
      for (auto it = entries.begin(); it != entries.end(); ++it)
        if (it->second.deadline < first->second.deadline) first = it;
      if (Clock::now() < first->second.deadline) {
        wake.wait_until(lock, first->second.deadline);
        continue;
      }
      first->second.fired->store(true);
      if (const OrtApi* api = Api()) {
        if (OrtStatus* st = api->RunOptionsSetTerminate(first->second.runOptions)) api->ReleaseStatus(st);
      }
      entries.erase(first);
    }
  }
};

Watchdog& Instance() {
  static Watchdog* w = new Watchdog();
  return *w;
}

}  // namespace

uint64_t ArmDeadline(double ms, OrtRunOptions* runOptions, std::atomic<bool>* fired) {
  Watchdog& w = Instance();
  std::lock_guard<std::mutex> lock(w.mutex);
  if (!w.started) {
    std::thread([&w] { w.Loop(); }).detach();
    w.started = true;
  }
  // Beyond ~30 years a deadline is no deadline; clamping keeps the clock arithmetic in range.
  constexpr double kMaxMs = 1e12;
  if (!(ms < kMaxMs)) ms = kMaxMs;
  auto deadline = Clock::now() + std::chrono::microseconds(static_cast<int64_t>(ms * 1000.0));
  uint64_t ticket = w.next++;
  w.entries.emplace(ticket, Entry{deadline, runOptions, fired});
  w.wake.notify_one();
  return ticket;
}

void DisarmDeadline(uint64_t ticket) {
  Watchdog& w = Instance();
  std::lock_guard<std::mutex> lock(w.mutex);
  w.entries.erase(ticket);
}

}  // namespace tg::ort
