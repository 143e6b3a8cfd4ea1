// Deadlines for async runs: one process-wide thread sleeps until the earliest deadline and
// terminates that run through its OrtRunOptions. Disarm() guarantees the run options are not
// touched afterwards, so the caller may release them right away.
#pragma once
#include <onnxruntime_c_api.h>

#include <atomic>
#include <cstdint>

namespace tg::ort {

// Arms a deadline `ms` from now; returns a ticket for Disarm. On expiry `fired` becomes true
// and the run options get the terminate flag.
uint64_t ArmDeadline(double ms, OrtRunOptions* runOptions, std::atomic<bool>* fired);
void DisarmDeadline(uint64_t ticket);

}  // namespace tg::ort
