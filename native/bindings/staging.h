// Memory the addon owns and lends to JS as ArrayBuffers ("staging"): an async run whose input or
// output lives there holds a share of it, so the run reads and writes it in place (no copy) and
// the memory outlives anything JS does meanwhile (drop it, detach it, transfer it). Any other
// memory is copied by the async run, as before.
#pragma once
#include <napi.h>

#include <memory>

#include "../common/views.h"

namespace tg::bindings {

// allocStaging(bytes) -> ArrayBuffer over addon-owned, zeroed, 64-byte aligned memory; or null
// where the runtime forbids external buffers (the caller then uses plain memory).
Napi::Value AllocStaging(const Napi::CallbackInfo& info);

// A share of the staging block that holds all of `v`'s elements, or null when `v` is not
// staging memory. Thread-safe (any environment's JS thread).
std::shared_ptr<void> StagingShare(const View& v);

}  // namespace tg::bindings
