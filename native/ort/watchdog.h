// Deadlines for async runs: one process-wide thread sleeps until the earliest deadline, then
// terminates that run through its OrtRunOptions and tells its owner (so the caller's promise can
// settle at the deadline, not when ONNX Runtime gets round to stopping). Disarm() guarantees
// that neither the run options nor the owner are touched afterwards, so the caller may release
// them right away.
#pragma once
#include <onnxruntime_c_api.h>

#include <atomic>
#include <cstdint>

namespace tg::ort {

// Called on the watchdog thread, under its lock, when a deadline passes: keep it short and never
// call back into the watchdog.
using DeadlineExpired = void (*)(void* owner);

// Arms a deadline `ms` from now; returns a ticket for Disarm. On expiry `fired` becomes true,
// the run options get the terminate flag, and `onExpired(owner)` runs (when given).
uint64_t ArmDeadline(double ms, OrtRunOptions* runOptions, std::atomic<bool>* fired, DeadlineExpired onExpired = nullptr,
                     void* owner = nullptr);
void DisarmDeadline(uint64_t ticket);

}  // namespace tg::ort
