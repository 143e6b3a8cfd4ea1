#include "async_run.h"

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "../common/errors.h"
#include "../ort/runner.h"
#include "../ort/runtime.h"
#include "../ort/status.h"
#include "../ort/watchdog.h"
#include "staging.h"

namespace tg::bindings {

// What the environment's teardown knows of a job in flight: Stop() asks it to end early (it
// still finishes normally).
struct TrackedJob {
  virtual ~TrackedJob() = default;
  virtual void Stop() {}
};

Napi::Error MakeOrtError(Napi::Env env, const char* code, const std::string& message, OrtErrorCode ortCode) {
  Napi::Error err = Napi::Error::New(env, message);
  DefineOwn(env, err.Value(), "code", Napi::String::New(env, code));
  DefineOwn(env, err.Value(), "ortCode", Napi::String::New(env, ort::OrtErrorCodeName(ortCode)));
  return err;
}

namespace {

// The promise of one async run. Two parties may settle it, both on the JS thread: the run's
// outcome, and the deadline signal when the watchdog sees the deadline pass. Whichever comes
// first wins; the other is discarded (a late result is counted, never served).
struct RunPromise {
  RunPromise(Napi::Env env, double timeoutMs) : deferred(Napi::Promise::Deferred::New(env)), timeoutMs(timeoutMs) {}
  Napi::Promise::Deferred deferred;
  double timeoutMs;
  bool settled = false;

  // Settled by the deadline itself, before ONNX Runtime reports anything: no ortCode.
  void RejectTimeout(Napi::Env env) {
    settled = true;
    Napi::Error err = Napi::Error::New(env, "the deadline of " + std::to_string(timeoutMs) +
                                                " ms passed: the run is being terminated and any later result is discarded");
    DefineOwn(env, err.Value(), "code", Napi::String::New(env, "TG_RUN_TIMEOUT"));
    deferred.Reject(err.Value());
  }
};

// Runs on the JS thread when the watchdog signalled a deadline (data: a heap copy of the shared
// promise, freed here; env is null when the environment is being torn down).
void SettleAtDeadline(Napi::Env env, Napi::Function, EnvRuns*, std::shared_ptr<RunPromise>* data) {
  std::unique_ptr<std::shared_ptr<RunPromise>> owned(data);
  if (env == nullptr || (*data)->settled) return;
  try {
    (*data)->RejectTimeout(env);
  } catch (const Napi::Error&) {  // the environment is going away: nobody is waiting
  }
}

}  // namespace

// One per environment, shared by every run with a deadline (a thread-safe function per run cost
// its creation and release on the JS thread, about a fifth of a service request's time here).
// Never keeps the event loop alive itself: a run with a deadline is in flight, and its outcome's
// function is referenced until that outcome is delivered, which is after the deadline's.
using DeadlineSignal = Napi::TypedThreadSafeFunction<EnvRuns, std::shared_ptr<RunPromise>, SettleAtDeadline>;

namespace {

// The native half of a run: all the runner thread touches. Shared by the runner's job and the
// JS half; freed when both are done with it.
struct RunCore : TrackedJob {
  std::shared_ptr<ort::Session> session;
  int64_t batch = 0, time = 0;
  const float* input = nullptr;
  float* output = nullptr;
  size_t outputLength = 0;
  // Staging blocks used in place (held until the run is over), or the copies.
  std::shared_ptr<void> inputShare, outputShare;
  std::vector<float> inputCopy;
  std::unique_ptr<float[]> outputCopy;  // not zeroed: the model writes every element
  bool outputInPlace = false;  // the model writes the caller's output buffer itself
  OrtRunOptions* runOptions = nullptr;
  std::atomic<bool> timedOut{false};
  uint64_t ticket = 0;
  std::shared_ptr<RunPromise> promise;
  // The environment's deadline signal (see DeadlineSignal); null without a deadline.
  DeadlineSignal* signal = nullptr;
  // The outcome, written by the runner thread before it hands the run to the JS thread.
  const char* code = nullptr;  // null: the run succeeded
  OrtErrorCode ortCode = ORT_OK;
  std::string message;

  ~RunCore() override {
    if (runOptions) ort::Api()->ReleaseRunOptions(runOptions);
  }

  // The environment is going away: ONNX Runtime stops the run at its next check.
  void Stop() override {
    const OrtApi* api = ort::Api();
    if (api && runOptions) {
      if (OrtStatus* st = api->RunOptionsSetTerminate(runOptions)) api->ReleaseStatus(st);
    }
  }

  void Execute() {
    try {
      session->Run(input, batch, time, output, outputLength, runOptions, &timedOut);
    } catch (const ort::OrtError& e) {
      code = e.tgCode();
      ortCode = e.ortCode();
      message = e.what();
    } catch (const std::exception& e) {
      code = kInternal;
      ortCode = ORT_FAIL;
      message = e.what();
    }
    // After this the watchdog never touches the run (its options, this core) again.
    if (ticket) ort::DisarmDeadline(ticket);
    ticket = 0;
  }

  // Watchdog thread, under its lock (so never after the disarm above): hand the deadline over.
  static void DeadlinePassed(void* self) {
    RunCore* c = static_cast<RunCore*>(self);
    auto* copy = new std::shared_ptr<RunPromise>(c->promise);
    if (c->signal->NonBlockingCall(copy) != napi_ok) delete copy;
  }
};

// The JS half: lives and dies on the JS thread.
struct RunJs {
  std::shared_ptr<RunCore> core;
  Napi::ObjectReference outputRef;
};

void OnRunDone(Napi::Env env, Napi::Function, EnvRuns* runs, RunJs* js);

}  // namespace

class EnvRuns {
 public:
  using Done = Napi::TypedThreadSafeFunction<EnvRuns, RunJs, OnRunDone>;

  // The thread-safe function and the teardown hook, at the first run of this environment. The
  // hook is added after the function, so it runs before the function's own teardown: runs still
  // in flight are terminated and awaited while their outcome can still be queued.
  void Start(Napi::Env env) {
    if (started_) return;
    done_ = Done::New(env, "tirex-guardian:run", 0, 1, this);
    done_.Unref(env);
    deadline_ = DeadlineSignal::New(env, "tirex-guardian:deadline", 0, 1, this);
    deadline_.Unref(env);
    if (napi_add_env_cleanup_hook(env, &EnvRuns::Teardown, this) != napi_ok) {
      done_.Release();
      deadline_.Release();
      ThrowType(env, kInternal, "cannot register the async runs' teardown hook");
    }
    started_ = true;
  }

  // The deadline signal of this environment's runs (valid once Start ran, until the teardown
  // has waited for every run: a run disarms its deadline before it is finished).
  DeadlineSignal* deadlineSignal() { return &deadline_; }

  // JS thread: a job is about to be queued. Throws if the environment is going away.
  void Track(Napi::Env env, TrackedJob* c) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closing_) Throw(env, ErrorKind::kError, kInternal, "the environment is shutting down");
    running_.insert(c);
  }

  // JS thread: an async run is about to be queued (its outcome keeps the event loop alive).
  void TrackRun(Napi::Env env, RunCore* c) {
    Track(env, c);
    if (inFlightJs_++ == 0) done_.Ref(env);
  }

  // JS thread: the run never reached the runner.
  void UntrackRun(Napi::Env env, RunCore* c) {
    Finished(c);
    if (--inFlightJs_ == 0) done_.Unref(env);
  }

  // Runner thread: hands the run's JS half to the JS thread, then forgets the run. The last
  // thing the runner does with this object.
  void Post(RunCore* c, RunJs* js) {
    // With the hook above, the function is never closing here (the hook waits for this run).
    if (done_.NonBlockingCall(js) != napi_ok) {
      // Not reachable in practice; the JS half cannot be freed off its thread: it is leaked.
    }
    Finished(c);
  }

  // JS thread, from OnRunDone.
  void Delivered(Napi::Env env) {
    if (--inFlightJs_ == 0) done_.Unref(env);
  }

  ~EnvRuns() = default;

  void Finished(TrackedJob* c) {
    std::lock_guard<std::mutex> lock(mutex_);
    running_.erase(c);
    if (running_.empty()) idle_.notify_all();
  }

 private:
  // The environment is going away (a worker thread terminated, the process exiting): every job
  // in flight is told to stop, and the thread waits until none touches this object any more.
  static void Teardown(void* arg) {
    EnvRuns* self = static_cast<EnvRuns*>(arg);
    std::unique_lock<std::mutex> lock(self->mutex_);
    self->closing_ = true;
    for (TrackedJob* c : self->running_) c->Stop();
    self->idle_.wait(lock, [&] { return self->running_.empty(); });
    lock.unlock();
    self->done_.Release();
    self->deadline_.Release();
  }

  Done done_;
  DeadlineSignal deadline_;
  bool started_ = false;
  size_t inFlightJs_ = 0;  // JS thread only
  std::mutex mutex_;
  std::condition_variable idle_;
  std::set<TrackedJob*> running_;
  bool closing_ = false;
};

std::unique_ptr<EnvRuns, void (*)(EnvRuns*)> NewEnvRuns() {
  return {new EnvRuns(), [](EnvRuns* r) { delete r; }};
}

namespace {

// The run is over (or was abandoned at its deadline): settle what is left to settle.
void Settle(Napi::Env env, RunJs& js) {
  RunCore& c = *js.core;
  if (c.promise->settled || c.timedOut.load()) {
    // After the deadline: the promise is (or is now) a timeout; the outcome is dropped and counted.
    c.session->CountLateResult();
    if (!c.promise->settled) c.promise->RejectTimeout(env);
    return;
  }
  c.promise->settled = true;
  if (c.code != nullptr) {
    c.promise->deferred.Reject(MakeOrtError(env, c.code, c.message, c.ortCode).Value());
    return;
  }
  View out;
  bool usable = true;
  try {
    out = GetFloatView(env, js.outputRef.Value(), "output", true, false);
  } catch (const Napi::Error&) {
    usable = false;
  }
  if (!usable || out.length != c.outputLength || (c.outputInPlace && out.data != c.output)) {
    c.promise->deferred.Reject(MakeOrtError(env, usable ? kShapeMismatch : kDetachedBuffer,
                                            "the output buffer was detached or resized while the run was in flight", ORT_OK)
                                   .Value());
    return;
  }
  // In place (staging, or the caller's promise): the model wrote the output itself. Otherwise
  // one copy back.
  if (!c.outputInPlace) std::memcpy(out.data, c.output, c.outputLength * sizeof(float));
  c.promise->deferred.Resolve(env.Undefined());
}

void OnRunDone(Napi::Env env, Napi::Function, EnvRuns* runs, RunJs* js) {
  std::unique_ptr<RunJs> owned(js);
  if (env == nullptr) {
    // The environment is being torn down: no JS may be touched, the reference goes with it.
    js->outputRef.SuppressDestruct();
    return;
  }
  runs->Delivered(env);
  try {
    Settle(env, *js);
  } catch (const Napi::Error&) {  // the environment is going away: nobody is waiting
  }
}

}  // namespace

Napi::Promise StartAsyncRun(Napi::Env env, EnvRuns* runs, const std::shared_ptr<ort::Session>& session,
                            const RunArgs& a, Napi::Value output, double timeoutMs, bool inPlace) {
  runs->Start(env);
  auto core = std::make_shared<RunCore>();
  core->session = session;
  core->batch = a.batch;
  core->time = a.time;
  core->outputLength = a.output.length;
  core->promise = std::make_shared<RunPromise>(env, timeoutMs);
  // In place when the memory is the addon's own; else copies (see async_run.h).
  core->inputShare = StagingShare(a.input);
  if (core->inputShare) {
    core->input = a.input.as<float>();
  } else {
    core->inputCopy.assign(a.input.as<float>(), a.input.as<float>() + a.input.length);
    core->input = core->inputCopy.data();
  }
  core->outputShare = StagingShare(a.output);
  if (core->outputShare || inPlace) {
    core->output = a.output.as<float>();
    core->outputInPlace = true;
  } else {
    core->outputCopy.reset(new float[a.output.length]);
    core->output = core->outputCopy.get();
  }
  const OrtApi* api = ort::Api();
  ort::Check(api, api->CreateRunOptions(&core->runOptions), kInternal, "CreateRunOptions");
  auto js = std::make_unique<RunJs>();
  js->core = core;
  js->outputRef = Napi::Persistent(output.As<Napi::Object>());
  Napi::Promise promise = core->promise->deferred.Promise();
  runs->TrackRun(env, core.get());
  try {
    // The deadline covers the whole call, queueing included: a run that starts after it is
    // terminated at once by ONNX Runtime.
    if (timeoutMs > 0) {
      core->signal = runs->deadlineSignal();
      core->ticket = ort::ArmDeadline(timeoutMs, core->runOptions, &core->timedOut, &RunCore::DeadlinePassed, core.get());
    }
    RunJs* jsHalf = js.get();
    ort::SubmitToRunner([core, jsHalf, runs]() {
      core->Execute();
      runs->Post(core.get(), jsHalf);
    });
    js.release();  // owned by the queued run now, freed by OnRunDone
  } catch (...) {
    if (core->ticket) ort::DisarmDeadline(core->ticket);
    core->ticket = 0;
    runs->UntrackRun(env, core.get());
    throw;
  }
  return promise;
}

}  // namespace tg::bindings
