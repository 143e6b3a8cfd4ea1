// Async model runs: `session.run(input, batch, output, timeoutMs)` -> Promise. The run executes on
// the addon's runner threads (ort/runner.h); its outcome comes back to the JS thread through one
// thread-safe function per environment, and settles the promise there. Inputs and outputs that
// live in staging memory (staging.h) are used in place, with a share of their block held by the
// run; any other memory is copied (a JS caller can detach, transfer or resize an ArrayBuffer at
// any moment, and no Node-API call can pin a backing store). With a timeout, the promise settles
// at the deadline (TG_RUN_TIMEOUT) even while ONNX Runtime is still stopping the run; a result
// that arrives later is discarded and counted.
#pragma once
#include <napi.h>

#include <cstdint>
#include <memory>
#include <string>

#include "../common/views.h"
#include "../ort/session.h"

namespace tg::bindings {

// What a run needs from its arguments: [batch, time] input and the output buffer.
struct RunArgs {
  View input;
  View output;
  int64_t batch;
  int64_t time;
};

// Per-environment state of async runs (owned by the addon's instance data): the thread-safe
// function that carries outcomes to this environment's JS thread, and the runs in flight, which
// the environment's teardown terminates and waits for before anything they touch goes away.
class EnvRuns;

// Creates the per-environment state (call once per environment, keep it until teardown).
std::unique_ptr<EnvRuns, void (*)(EnvRuns*)> NewEnvRuns();


// An Error with `code` (a TG_ code) and `ortCode` (ONNX Runtime's name for its status code).
Napi::Error MakeOrtError(Napi::Env env, const char* code, const std::string& message, OrtErrorCode ortCode);

// `inPlace`: the caller owns the output alone until the run ends (it stays referenced here, and
// nothing detaches it): the model writes it directly. Otherwise into a copy, written back.
Napi::Promise StartAsyncRun(Napi::Env env, EnvRuns* runs, const std::shared_ptr<ort::Session>& session,
                            const RunArgs& args, Napi::Value output, double timeoutMs, bool inPlace);

}  // namespace tg::bindings
