// The JS face of ort::Session: `new NativeSession(bytes, sha256, options)`, runSync, run (a
// Promise, async_run.h), metadata, close.
#pragma once
#include <napi.h>

#include "async_run.h"

namespace tg::bindings {

// Defines the class on `exports` and returns its constructor (kept in the addon's instance data).
Napi::Function DefineSessionClass(Napi::Env env, EnvRuns* runs);

}  // namespace tg::bindings
