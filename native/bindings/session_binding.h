// The JS face of ort::Session: `new NativeSession(bytes, sha256, options)`, runSync, run (a
// Promise from an AsyncWorker that copies its buffers and keeps the session alive), metadata, close.
#pragma once
#include <napi.h>

namespace tg::bindings {

// Defines the class on `exports` and returns its constructor (kept in the addon's instance data).
Napi::Function DefineSessionClass(Napi::Env env);

}  // namespace tg::bindings
