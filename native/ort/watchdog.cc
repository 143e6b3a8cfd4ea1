#include "watchdog.h"

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#ifdef __linux__
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "runtime.h"

namespace tg::ort {
namespace {

#ifdef __linux__
// Asks the kernel to wake this thread promptly. The default 50 us timer slack lets wake-ups fire
// late on purpose: none is asked for. And on Linux >= 6.12 (EEVDF) a short slice request (100 us,
// the smallest allowed; unprivileged, at the thread's own nice value) gives a waking thread an
// early virtual deadline, so it preempts a busy model run instead of waiting for its slice to
// end (measured with both cores busy: p90 of the wake-up after the deadline 1.2 ms -> 0.2 ms).
// Best effort: older kernels refuse or ignore it, and nothing depends on it.
void RequestPromptWakeups() {
  prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
  struct SchedAttr {
    uint32_t size, policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime, deadline, period;
  } attr{};
  attr.size = sizeof(attr);
  attr.policy = 0;  // SCHED_OTHER
  errno = 0;
  int nice = getpriority(PRIO_PROCESS, 0);
  attr.nice = errno == 0 ? nice : 0;
  attr.runtime = 100'000;  // ns: the requested slice
#ifdef SYS_sched_setattr
  syscall(SYS_sched_setattr, 0, &attr, 0);
#endif
}
#else
void RequestPromptWakeups() {}
#endif

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
  // When the thread wakes on its own next (under the lock): a deadline armed at or after it needs
  // no wake-up (the futex call a notify costs the arming thread, on every run otherwise). Past
  // (min) while the thread is awake: it looks at the map again before it waits.
  Clock::time_point wakesAt = Clock::time_point::min();
  // A thread with deadlines armed lately still wakes this often, so that deadlines further away
  // than this never cost a notify (a service's deadlines of a second, say); nearer ones do. After
  // kRestAfter with nothing armed it sleeps until notified (a quiet process pays no wake-ups).
  static constexpr std::chrono::milliseconds kIdleTick{50};
  static constexpr std::chrono::milliseconds kRestAfter{1000};
  Clock::time_point lastArmed{};

  void Loop() {
    RequestPromptWakeups();
    std::unique_lock<std::mutex> lock(mutex);
    for (;;) {
      const Clock::time_point now = Clock::now();
      if (entries.empty() && now - lastArmed > kRestAfter) {
        wakesAt = Clock::time_point::max();
        wake.wait(lock);
        wakesAt = Clock::time_point::min();
        continue;
      }
      Clock::time_point target = now + kIdleTick;
      auto first = entries.end();
      for (auto it = entries.begin(); it != entries.end(); ++it)
        if (first == entries.end() || it->second.deadline < first->second.deadline) first = it;
      // A copy, never a reference into the map: the wait releases the lock, and a run that
      // finishes meanwhile erases its entry (DisarmDeadline). Every wait below works on locals.
      if (first != entries.end() && first->second.deadline < target) target = first->second.deadline;
      if (now < target) {
        wakesAt = target;
        wake.wait_until(lock, target);
        wakesAt = Clock::time_point::min();
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
  const Clock::time_point armedAt = Clock::now();
  auto deadline = armedAt + std::chrono::nanoseconds(static_cast<int64_t>(ms * 1e6));
  uint64_t ticket = w.next++;
  w.entries.emplace(ticket, Entry{deadline, runOptions, fired, onExpired, owner});
  w.lastArmed = armedAt;
  if (deadline < w.wakesAt) w.wake.notify_one();
  return ticket;
}

void DisarmDeadline(uint64_t ticket) {
  Watchdog& w = Instance();
  std::lock_guard<std::mutex> lock(w.mutex);
  w.entries.erase(ticket);
}

}  // namespace tg::ort
