#include "session_binding.h"

#include <atomic>
#include <cmath>
#include <memory>
#include <cstring>
#include <string>
#include <vector>

#include "../common/errors.h"
#include "../common/views.h"
#include "../ort/runtime.h"
#include "../ort/session.h"
#include "../ort/status.h"
#include "../ort/watchdog.h"

namespace tg::bindings {
namespace {

constexpr const char* kSessionClosed = "TG_SESSION_CLOSED";

const char* DTypeString(ONNXTensorElementDataType t) {
  switch (t) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT: return "float32";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE: return "float64";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16: return "float16";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64: return "int64";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32: return "int32";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL: return "bool";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED: return "not-a-tensor";
    default: return "other";
  }
}

Napi::Error MakeOrtError(Napi::Env env, const char* code, const std::string& message, OrtErrorCode ortCode) {
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  err.Set("ortCode", Napi::String::New(env, ort::OrtErrorCodeName(ortCode)));
  return err;
}

[[noreturn]] void ThrowOrt(Napi::Env env, const ort::OrtError& e) {
  throw MakeOrtError(env, e.tgCode(), e.what(), e.ortCode());
}

Napi::Array MetaToJs(Napi::Env env, const std::vector<ort::TensorMeta>& metas) {
  Napi::Array arr = Napi::Array::New(env, metas.size());
  for (size_t i = 0; i < metas.size(); ++i) {
    const ort::TensorMeta& m = metas[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", m.name);
    o.Set("dtype", DTypeString(m.type));
    Napi::Array shape = Napi::Array::New(env, m.shape.size());
    for (size_t d = 0; d < m.shape.size(); ++d) {
      if (m.shape[d] >= 0) shape.Set(d, Napi::Number::New(env, static_cast<double>(m.shape[d])));
      else if (!m.symbols[d].empty()) shape.Set(d, Napi::String::New(env, m.symbols[d]));
      else shape.Set(d, env.Null());
    }
    o.Set("shape", shape);
    arr.Set(i, o);
  }
  return arr;
}

ort::SessionOptions ParseOptions(Napi::Env env, Napi::Value value) {
  ort::SessionOptions opt;
  if (!value.IsObject()) return opt;
  Napi::Object o = value.As<Napi::Object>();
  auto intOpt = [&](const char* key, int min, int max, int fallback) {
    Napi::Value v = o.Get(key);
    if (v.IsUndefined()) return fallback;
    return static_cast<int>(GetCount(env, v, key, static_cast<size_t>(min), static_cast<size_t>(max)));
  };
  auto strOpt = [&](const char* key, const char* fallback) {
    Napi::Value v = o.Get(key);
    if (v.IsUndefined()) return std::string(fallback);
    if (!v.IsString()) ThrowType(env, kInvalidArgument, std::string(key) + " must be a string");
    return v.As<Napi::String>().Utf8Value();
  };
  opt.intraOpThreads = intOpt("intraOpThreads", 0, 1024, 1);
  opt.interOpThreads = intOpt("interOpThreads", 0, 1024, 1);
  opt.deterministic = o.Get("deterministic").ToBoolean().Value();
  opt.allowSpinning = o.Get("allowSpinning").ToBoolean().Value();
  opt.deviceId = intOpt("deviceId", 0, 1024, 0);
  std::string level = strOpt("graphOptimizationLevel", "all");
  if (level == "disabled") opt.optimization = ORT_DISABLE_ALL;
  else if (level == "basic") opt.optimization = ORT_ENABLE_BASIC;
  else if (level == "extended") opt.optimization = ORT_ENABLE_EXTENDED;
  else if (level == "all") opt.optimization = ORT_ENABLE_ALL;
  else ThrowRange(env, kOutOfRange, "graphOptimizationLevel must be disabled, basic, extended or all");
  std::string provider = strOpt("provider", "cpu");
  if (provider == "cpu") opt.provider = ort::Provider::kCpu;
  else if (provider == "cuda") opt.provider = ort::Provider::kCuda;
  else ThrowRange(env, kOutOfRange, "provider must be cpu or cuda");
  std::string policy = strOpt("providerPolicy", "prefer");
  if (policy == "prefer") opt.policy = ort::ProviderPolicy::kPrefer;
  else if (policy == "require") opt.policy = ort::ProviderPolicy::kRequire;
  else ThrowRange(env, kOutOfRange, "providerPolicy must be require or prefer");
  return opt;
}

// What a run needs from its arguments: [batch, time] input and the output buffer.
struct RunArgs {
  View input;
  View output;
  int64_t batch;
  int64_t time;
};

RunArgs ParseRunArgs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3) ThrowType(env, kInvalidArgument, "run expects (input, batch, output)");
  RunArgs a;
  a.input = GetFloatView(env, info[0], "input", true, false);
  size_t batch = GetCount(env, info[1], "batch", 1, size_t{1} << 31);
  size_t time = RowLength(env, a.input, batch, "input");
  if (time == 0) ThrowRange(env, kShapeMismatch, "input has no time steps");
  a.output = GetFloatView(env, info[2], "output", true, false);
  a.batch = static_cast<int64_t>(batch);
  a.time = static_cast<int64_t>(time);
  return a;
}

// An async run works on its own copies of the input and the output: a JS caller can detach,
// transfer or resize an ArrayBuffer at any moment, and no Node-API call can pin a backing store.
// The copies cost two memcpy next to an inference; runSync stays zero-copy.
class RunWorker : public Napi::AsyncWorker {
 public:
  RunWorker(Napi::Env env, std::shared_ptr<ort::Session> session, const RunArgs& args, Napi::Value output,
            double timeoutMs)
      : Napi::AsyncWorker(env, "tirex-guardian:run"),
        deferred_(Napi::Promise::Deferred::New(env)),
        session_(std::move(session)),
        batch_(args.batch),
        time_(args.time),
        input_(args.input.as<float>(), args.input.as<float>() + args.input.length),
        output_(args.output.length) {
    outputRef_ = Napi::Persistent(output.As<Napi::Object>());
    const OrtApi* api = ort::Api();
    ort::Check(api, api->CreateRunOptions(&runOptions_), kInternal, "CreateRunOptions");
    // The deadline covers the whole call, queueing included: a run that starts after it is
    // terminated at once by ONNX Runtime.
    if (timeoutMs > 0) ticket_ = ort::ArmDeadline(timeoutMs, runOptions_, &timedOut_);
  }

  ~RunWorker() override {
    Disarm();
    if (runOptions_) ort::Api()->ReleaseRunOptions(runOptions_);
  }

  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      session_->Run(input_.data(), batch_, time_, output_.data(), output_.size(), runOptions_, &timedOut_);
    } catch (const ort::OrtError& e) {
      code_ = e.tgCode();
      ortCode_ = e.ortCode();
      SetError(e.what());
    } catch (const std::exception& e) {
      code_ = kInternal;
      SetError(e.what());
    }
  }

  // When the environment is going away (a worker thread terminated mid-run) the promise can no
  // longer be settled: Node-API then fails, and that failure must not escape as an exception.
  void OnOK() override {
    Disarm();
    try {
      Napi::Env env = Env();
      View out;
      bool usable = true;
      try {
        out = GetFloatView(env, outputRef_.Value(), "output", true, false);
      } catch (const Napi::Error&) {
        usable = false;
      }
      if (!usable || out.length != output_.size()) {
        deferred_.Reject(MakeOrtError(env, usable ? kShapeMismatch : kDetachedBuffer,
                                      "the output buffer was detached or resized while the run was in flight", ORT_OK)
                             .Value());
        return;
      }
      std::memcpy(out.data, output_.data(), output_.size() * sizeof(float));
      deferred_.Resolve(env.Undefined());
    } catch (const Napi::Error&) {
    }
  }

  void OnError(const Napi::Error& e) override {
    Disarm();
    try {
      deferred_.Reject(MakeOrtError(Env(), code_, e.Message(), ortCode_).Value());
    } catch (const Napi::Error&) {
    }
  }

 private:
  void Disarm() {
    if (ticket_) ort::DisarmDeadline(ticket_);
    ticket_ = 0;
  }

  Napi::Promise::Deferred deferred_;
  std::shared_ptr<ort::Session> session_;
  int64_t batch_, time_;
  std::vector<float> input_, output_;
  Napi::ObjectReference outputRef_;
  OrtRunOptions* runOptions_ = nullptr;
  std::atomic<bool> timedOut_{false};
  uint64_t ticket_ = 0;
  const char* code_ = kInternal;
  OrtErrorCode ortCode_ = ORT_FAIL;
};

class SessionWrap : public Napi::ObjectWrap<SessionWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeSession",
                       {
                           InstanceMethod("runSync", &SessionWrap::RunSync),
                           InstanceMethod("run", &SessionWrap::Run),
                           InstanceMethod("close", &SessionWrap::Close),
                           InstanceAccessor("inputs", &SessionWrap::Inputs, nullptr),
                           InstanceAccessor("outputs", &SessionWrap::Outputs, nullptr),
                           InstanceAccessor("provider", &SessionWrap::Provider, nullptr),
                           InstanceAccessor("providerFallbackReason", &SessionWrap::FallbackReason, nullptr),
                           InstanceAccessor("cacheHit", &SessionWrap::CacheHit, nullptr),
                           InstanceAccessor("closed", &SessionWrap::Closed, nullptr),
                       });
  }

  // new NativeSession(bytes: Uint8Array, sha256: string, options?: object)
  explicit SessionWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SessionWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsTypedArray() || !info[1].IsString()) {
      ThrowType(env, kInvalidArgument, "NativeSession expects (bytes: Uint8Array, sha256: string, options?)");
    }
    Napi::TypedArray bytes = info[0].As<Napi::TypedArray>();
    if (bytes.TypedArrayType() != napi_uint8_array) ThrowType(env, kInvalidArgument, "bytes must be a Uint8Array");
    if (bytes.ArrayBuffer().IsDetached()) ThrowType(env, kDetachedBuffer, "bytes is backed by a detached ArrayBuffer");
    ort::SessionOptions options = ParseOptions(env, info.Length() > 2 ? info[2] : env.Undefined());
    const uint8_t* data = static_cast<const uint8_t*>(bytes.ArrayBuffer().Data()) + bytes.ByteOffset();
    try {
      session_ = ort::GetOrCreateSession(info[1].As<Napi::String>().Utf8Value(), data, bytes.ByteLength(), options,
                                         &cacheHit_);
    } catch (const ort::OrtError& e) {
      ThrowOrt(env, e);
    } catch (const std::runtime_error& e) {
      // From ort::Env(): "notloaded: ..." or "load: ..." (the environment could not be created).
      std::string msg = e.what();
      bool notLoaded = msg.rfind("notloaded:", 0) == 0;
      bool prefixed = notLoaded || msg.rfind("load:", 0) == 0;
      Throw(env, ErrorKind::kError, notLoaded ? kOrtNotLoaded : prefixed ? kOrtLoadFailed : kInternal,
            prefixed ? msg.substr(msg.find(':') + 2) : msg);
    } catch (const std::exception& e) {
      Throw(env, ErrorKind::kError, kInternal, e.what());
    }
  }

 private:
  const std::shared_ptr<ort::Session>& Live(Napi::Env env) {
    if (!session_) Throw(env, ErrorKind::kError, kSessionClosed, "the session is closed");
    return session_;
  }

  // runSync(input, batch, output): fills output in place on this thread.
  Napi::Value RunSync(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const auto& s = Live(env);
    RunArgs a = ParseRunArgs(info);
    try {
      s->Run(a.input.as<float>(), a.batch, a.time, a.output.as<float>(), a.output.length, nullptr, nullptr);
    } catch (const ort::OrtError& e) {
      ThrowOrt(env, e);
    } catch (const std::exception& e) {
      Throw(env, ErrorKind::kError, kInternal, e.what());
    }
    return env.Undefined();
  }

  // run(input, batch, output, timeoutMs?) -> Promise<void>, on the libuv thread pool.
  Napi::Value Run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const auto& s = Live(env);
    RunArgs a = ParseRunArgs(info);
    double timeoutMs = info.Length() > 3 && !info[3].IsUndefined() ? GetNumber(env, info[3], "timeoutMs") : 0;
    if (!(timeoutMs >= 0) || std::isinf(timeoutMs)) ThrowRange(env, kOutOfRange, "timeoutMs must be a finite number >= 0");
    RunWorker* worker = nullptr;
    try {
      worker = new RunWorker(env, s, a, info[2], timeoutMs);
    } catch (const ort::OrtError& e) {
      ThrowOrt(env, e);
    } catch (const std::exception& e) {  // e.g. the watchdog thread could not start
      Throw(env, ErrorKind::kError, kInternal, e.what());
    }
    Napi::Promise promise = worker->Promise();
    worker->Queue();
    return promise;
  }

  // Releases this handle's share of the session; runs already in flight keep theirs.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    session_.reset();
    return info.Env().Undefined();
  }

  Napi::Value Inputs(const Napi::CallbackInfo& info) { return MetaToJs(info.Env(), Live(info.Env())->inputs()); }
  Napi::Value Outputs(const Napi::CallbackInfo& info) { return MetaToJs(info.Env(), Live(info.Env())->outputs()); }
  Napi::Value Provider(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), Live(info.Env())->providerInUse());
  }
  Napi::Value FallbackReason(const Napi::CallbackInfo& info) {
    const std::string& r = Live(info.Env())->providerFallbackReason();
    return r.empty() ? info.Env().Null() : Napi::String::New(info.Env(), r);
  }
  Napi::Value CacheHit(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), cacheHit_); }
  Napi::Value Closed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !session_); }

  std::shared_ptr<ort::Session> session_;
  bool cacheHit_ = false;
};

}  // namespace

Napi::Function DefineSessionClass(Napi::Env env) { return SessionWrap::Define(env); }

}  // namespace tg::bindings
