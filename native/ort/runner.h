// The threads async runs execute on, instead of libuv's pool. Why: on a machine whose idle CPUs
// sleep deeply (a VM's halted vCPUs), waking a sleeping pool thread costs tens of microseconds
// per run, as much as a small model's whole run (BENCHMARKS.md, the guarded forecast at batch
// sizes). After a job the
// thread that ran it stays awake for a short spin (TG_RUNNER_SPIN_US, default 200 us) and picks
// up the next job at once; then it sleeps. At most one thread spins at a time, so an idle
// process costs nothing, and a busy one one core at most between runs.
#pragma once
#include <functional>

namespace tg::ort {

// Queues `job` on the process-wide runner threads (started on first use, kHotRunnerThreads of
// them). Jobs run in order of submission, concurrently up to the thread count. Never throws
// except for std::bad_alloc and a thread that cannot start (std::system_error).
void SubmitToRunner(std::function<void()> job);

inline constexpr int kHotRunnerThreads = 4;

}  // namespace tg::ort
