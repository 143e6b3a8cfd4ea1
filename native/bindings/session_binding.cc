#include "session_binding.h"

#include <atomic>
#include <cmath>
#include <memory>
#include <cstring>
#include <iterator>
#include <string>
#include <vector>

#include "../common/errors.h"
#include "../common/views.h"
#include "../ort/runtime.h"
#include "../ort/session.h"
#include "../ort/status.h"
#include "async_run.h"

namespace tg::bindings {
namespace {

constexpr const char* kSessionClosed = "TG_SESSION_CLOSED";

// Marks the JS objects that are constructed NativeSessions (napi_type_tag_object): only those are
// accepted as `this` by the methods and getters.
constexpr napi_type_tag kSessionTag = {0x6b1f0c2e9d4a7358ULL, 0xa3e59d1c07b84f26ULL};

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
  // The caller's object: each option read once, and a throwing getter or Proxy trap is theirs.
  auto get = [&](const char* key) { return GetCallerProperty(env, o, key, std::string("options.") + key); };
  auto intOpt = [&](const char* key, int min, int max, int fallback) {
    Napi::Value v = get(key);
    if (v.IsUndefined()) return fallback;
    return static_cast<int>(GetCount(env, v, key, static_cast<size_t>(min), static_cast<size_t>(max)));
  };
  auto strOpt = [&](const char* key, const char* fallback) {
    Napi::Value v = get(key);
    if (v.IsUndefined()) return std::string(fallback);
    if (!v.IsString()) ThrowType(env, kInvalidArgument, std::string(key) + " must be a string");
    return v.As<Napi::String>().Utf8Value();
  };
  opt.intraOpThreads = intOpt("intraOpThreads", 0, 1024, 1);
  opt.interOpThreads = intOpt("interOpThreads", 0, 1024, 1);
  opt.deterministic = get("deterministic").ToBoolean().Value();
  opt.allowSpinning = get("allowSpinning").ToBoolean().Value();
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

class SessionWrap : public Napi::ObjectWrap<SessionWrap> {
 public:
  // The methods and getters are defined on the prototype as plain functions, not through
  // DefineClass: V8 gives class members a receiver signature and throws its own "Illegal
  // invocation" TypeError, without a code, before any of our code runs. Call<> checks the
  // receiver itself (Receiver) and runs the member inside the boundary.
  static Napi::Function Define(Napi::Env env, EnvRuns* runs) {
    Napi::Function cls = DefineClass(env, "NativeSession", {}, runs);
    const napi_property_descriptor members[] = {
        Method("runSync", &Call<&SessionWrap::RunSync>),
        Method("run", &Call<&SessionWrap::Run>),
        Method("close", &Call<&SessionWrap::Close>),
        Getter("inputs", &Call<&SessionWrap::Inputs>),
        Getter("outputs", &Call<&SessionWrap::Outputs>),
        Getter("provider", &Call<&SessionWrap::Provider>),
        Getter("providerFallbackReason", &Call<&SessionWrap::FallbackReason>),
        Getter("cacheHit", &Call<&SessionWrap::CacheHit>),
        Getter("closed", &Call<&SessionWrap::Closed>),
        Getter("lateResults", &Call<&SessionWrap::LateResults>),
    };
    napi_value proto;
    NAPI_THROW_IF_FAILED(env, napi_get_named_property(env, cls, "prototype", &proto), Napi::Function());
    NAPI_THROW_IF_FAILED(env, napi_define_properties(env, proto, std::size(members), members), Napi::Function());
    return cls;
  }

  // new NativeSession(bytes: Uint8Array, sha256: string, options?: object)
  explicit SessionWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SessionWrap>(info) {
    Guard(info.Env(), "NativeSession", [&] {
      runs_ = static_cast<EnvRuns*>(info.Data());
      Init(info);
      // Tagged once fully constructed: Receiver accepts nothing else.
      if (napi_type_tag_object(info.Env(), info.This(), &kSessionTag) != napi_ok) {
        Throw(info.Env(), ErrorKind::kError, kInternal, "cannot tag the NativeSession object");
      }
      return info.Env().Undefined();
    });
  }

  // The receiver of every method and getter: refused, with a code, unless it is a constructed
  // NativeSession (not a plain object, the prototype, a Proxy, a primitive), where napi_unwrap
  // would fail without a code or, for an object another addon wrapped, hand us its pointer.
  // Type tags are private: no Proxy trap runs.
  static SessionWrap* Receiver(Napi::Env env, napi_value receiver) {
    bool tagged = false;
    if (napi_check_object_type_tag(env, receiver, &kSessionTag, &tagged) != napi_ok || !tagged) {
      ThrowType(env, kInvalidArgument, "a NativeSession method or getter was called on something that is not a NativeSession");
    }
    SessionWrap* self = Napi::ObjectWrap<SessionWrap>::Unwrap(Napi::Object(env, receiver));
    if (self == nullptr) ThrowType(env, kInvalidArgument, "this NativeSession was never constructed");
    return self;
  }

  // NativeSession(...) without new (node-addon-api's default throws a TypeError without a code).
  static Napi::Value OnCalledAsFunction(const Napi::CallbackInfo& info) {
    ThrowType(info.Env(), kInvalidArgument, "NativeSession is a class: call it with new");
  }

 private:
  using Member = Napi::Value (SessionWrap::*)(const Napi::CallbackInfo&);

  // Every method and getter: the receiver checked, the member run inside the boundary (whatever
  // it throws carries a TG_ code), the error thrown into JS.
  template <Member M>
  static napi_value Call(napi_env env, napi_callback_info cbinfo) {
    try {
      return Guard(Napi::Env(env), "NativeSession", [&]() -> Napi::Value {
        Napi::CallbackInfo info(env, cbinfo);
        return (Receiver(info.Env(), info.This())->*M)(info);
      });
    } catch (const Napi::Error& e) {
      e.ThrowAsJavaScriptException();
      return nullptr;
    }
  }
  static napi_property_descriptor Method(const char* name, napi_callback fn) {
    return {name, nullptr, fn, nullptr, nullptr, nullptr, napi_default, nullptr};
  }
  static napi_property_descriptor Getter(const char* name, napi_callback fn) {
    return {name, nullptr, nullptr, fn, nullptr, nullptr, napi_default, nullptr};
  }

  void Init(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsTypedArray() || !info[1].IsString()) {
      ThrowType(env, kInvalidArgument, "NativeSession expects (bytes: Uint8Array, sha256: string, options?)");
    }
    napi_typedarray_type type;
    size_t length = 0;
    void* raw = nullptr;
    napi_value buffer;
    size_t offset = 0;
    if (napi_get_typedarray_info(env, info[0], &type, &length, &raw, &buffer, &offset) != napi_ok ||
        type != napi_uint8_array) {
      ThrowType(env, kInvalidArgument, "bytes must be a Uint8Array");
    }
    // Refused, not copied: the caller checked the bytes' sha256 (ModelSession does) before this
    // call, and another thread may change a SharedArrayBuffer after that check and while ONNX
    // Runtime parses it. A copy made here would come too late to close that window.
    bool plain = false;
    napi_is_arraybuffer(env, buffer, &plain);
    if (!plain) {
      ThrowType(env, kInvalidArgument,
                "bytes must not be backed by a SharedArrayBuffer: copy the verified model into an ArrayBuffer");
    }
    bool detached = false;
    napi_is_detached_arraybuffer(env, buffer, &detached);
    if (detached) ThrowType(env, kDetachedBuffer, "bytes is backed by a detached ArrayBuffer");
    ort::SessionOptions options = ParseOptions(env, info.Length() > 2 ? info[2] : env.Undefined());
    // `raw` already points at the first element (Node-API adds the byte offset).
    const uint8_t* data = static_cast<const uint8_t*>(raw);
    try {
      session_ = ort::GetOrCreateSession(info[1].As<Napi::String>().Utf8Value(), data, length, options, &cacheHit_);
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

  // run(input, batch, output, timeoutMs?, inPlace?) -> Promise<void>, on the runner threads
  // (async_run.h).
  Napi::Value Run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const auto& s = Live(env);
    RunArgs a = ParseRunArgs(info);
    double timeoutMs = info.Length() > 3 && !info[3].IsUndefined() ? GetNumber(env, info[3], "timeoutMs") : 0;
    if (!(timeoutMs >= 0) || std::isinf(timeoutMs)) ThrowRange(env, kOutOfRange, "timeoutMs must be a finite number >= 0");
    // The caller's promise that it owns the output alone until the run ends (lib/model/session.ts,
    // RUN_IN_PLACE): then the run writes it directly.
    const bool inPlace = info.Length() > 4 && info[4].IsBoolean() && info[4].As<Napi::Boolean>().Value();
    try {
      return StartAsyncRun(env, runs_, s, a, info[2], timeoutMs, inPlace);
    } catch (const ort::OrtError& e) {
      ThrowOrt(env, e);
    } catch (const Napi::Error&) {
      throw;
    } catch (const std::exception& e) {  // e.g. a runner or the watchdog thread could not start
      Throw(env, ErrorKind::kError, kInternal, e.what());
    }
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
  // Async results discarded because their deadline had passed (process-wide for the shared session).
  Napi::Value LateResults(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(Live(info.Env())->lateResults()));
  }

  std::shared_ptr<ort::Session> session_;
  bool cacheHit_ = false;
  EnvRuns* runs_ = nullptr;
};

}  // namespace

Napi::Function DefineSessionClass(Napi::Env env, EnvRuns* runs) { return SessionWrap::Define(env, runs); }

}  // namespace tg::bindings
