// Module entry: registers the kernels and the runtime loader. Per-environment settings live in
// the Addon instance (Node-API instance data), so each worker thread gets its own.
#include <napi.h>

#include <stdexcept>
#include <string>

#include "bindings/audit_binding.h"
#include "bindings/kernels_binding.h"
#include "bindings/session_binding.h"
#include "bindings/staging.h"
#include "common/errors.h"
#include "kernels/cpu.h"
#include "ort/runtime.h"

namespace tg {
namespace {

Napi::Object RuntimeInfoToJs(Napi::Env env, const ort::RuntimeInfo& info) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("path", info.path);
  o.Set("version", info.version);
  o.Set("apiVersion", Napi::Number::New(env, info.apiVersion));
  Napi::Array providers = Napi::Array::New(env, info.providers.size());
  for (size_t i = 0; i < info.providers.size(); ++i) providers.Set(i, info.providers[i]);
  o.Set("providers", providers);
  return o;
}

class Addon : public Napi::Addon<Addon> {
 public:
  using Method = Napi::Value (Addon::*)(const Napi::CallbackInfo&);

  Addon(Napi::Env env, Napi::Object exports) {
    settings_.simdSupported = kernels::CpuHasAvx2Fma();
    settings_.simd = settings_.simdSupported;
    DefineAddon(exports, {
        InstanceMethod("scan", &Addon::Guarded<&Addon::Scan>),
        InstanceMethod("assessSeries", &Addon::Guarded<&Addon::AssessSeries>),
        InstanceMethod("assessSpans", &Addon::Guarded<&Addon::AssessSpans>),
        InstanceMethod("computeScaling", &Addon::Guarded<&Addon::ComputeScaling>),
        InstanceMethod("applyScaling", &Addon::Guarded<&Addon::ApplyScaling>),
        InstanceMethod("invertScaling", &Addon::Guarded<&Addon::InvertScaling>),
        InstanceMethod("convertF64ToF32", &Addon::Guarded<&Addon::ConvertF64ToF32>),
        InstanceMethod("impute", &Addon::Guarded<&Addon::Impute>),
        InstanceMethod("repairQuantiles", &Addon::Guarded<&Addon::RepairQuantiles>),
        InstanceMethod("checkMean", &Addon::Guarded<&Addon::CheckMean>),
        InstanceMethod("checkForecast", &Addon::Guarded<&Addon::CheckForecast>),
        InstanceMethod("checkForecastRows", &Addon::Guarded<&Addon::CheckForecastRows>),
        InstanceMethod("allocStaging", &Addon::Guarded<&Addon::AllocStaging>),
        InstanceMethod("chainHash", &Addon::Guarded<&Addon::ChainHash>),
        InstanceMethod("cpuFeatures", &Addon::Guarded<&Addon::CpuFeatures>),
        InstanceMethod("setSimd", &Addon::Guarded<&Addon::SetSimd>),
        InstanceMethod("loadRuntime", &Addon::Guarded<&Addon::LoadRuntime>),
        InstanceMethod("runtimeInfo", &Addon::Guarded<&Addon::RuntimeInfo>),
    });
    exports.Set("ortApiVersion", Napi::Number::New(env, ORT_API_VERSION));
    exports.Set("NativeSession", bindings::DefineSessionClass(env, runs_.get()));
  }

 private:
  // Every export runs inside the boundary: whatever it throws carries a TG_ code.
  template <Method M>
  Napi::Value Guarded(const Napi::CallbackInfo& info) {
    return Guard(info.Env(), "tirex-guardian addon", [&] { return (this->*M)(info); });
  }

  Napi::Value Scan(const Napi::CallbackInfo& i) { return bindings::Scan(i, settings_); }
  Napi::Value AssessSeries(const Napi::CallbackInfo& i) { return bindings::AssessSeries(i, settings_); }
  Napi::Value AssessSpans(const Napi::CallbackInfo& i) { return bindings::AssessSpans(i, settings_); }
  Napi::Value ComputeScaling(const Napi::CallbackInfo& i) { return bindings::ComputeScaling(i, settings_); }
  Napi::Value ApplyScaling(const Napi::CallbackInfo& i) { return bindings::ApplyScaling(i, settings_); }
  Napi::Value InvertScaling(const Napi::CallbackInfo& i) { return bindings::InvertScaling(i, settings_); }
  Napi::Value ConvertF64ToF32(const Napi::CallbackInfo& i) { return bindings::ConvertF64ToF32(i, settings_); }
  Napi::Value Impute(const Napi::CallbackInfo& i) { return bindings::Impute(i); }
  Napi::Value RepairQuantiles(const Napi::CallbackInfo& i) { return bindings::RepairQuantiles(i); }
  Napi::Value CheckMean(const Napi::CallbackInfo& i) { return bindings::CheckMean(i); }
  Napi::Value CheckForecast(const Napi::CallbackInfo& i) { return bindings::CheckForecast(i); }
  Napi::Value CheckForecastRows(const Napi::CallbackInfo& i) { return bindings::CheckForecastRows(i); }
  Napi::Value ChainHash(const Napi::CallbackInfo& i) { return bindings::ChainHash(i); }
  Napi::Value AllocStaging(const Napi::CallbackInfo& i) { return bindings::AllocStaging(i); }

  Napi::Value CpuFeatures(const Napi::CallbackInfo& info) {
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("avx2", Napi::Boolean::New(info.Env(), settings_.simdSupported));
    o.Set("simd", Napi::Boolean::New(info.Env(), settings_.simd));
    return o;
  }

  // setSimd(enabled) -> previous setting. Enabling is refused on a CPU without AVX2/FMA.
  Napi::Value SetSimd(const Napi::CallbackInfo& info) {
    bool previous = settings_.simd;
    bool wanted = info.Length() > 0 && info[0].ToBoolean().Value();
    if (wanted && !settings_.simdSupported) {
      ThrowRange(info.Env(), kOutOfRange, "this CPU lacks AVX2/FMA: the SIMD kernels cannot be enabled");
    }
    settings_.simd = wanted;
    return Napi::Boolean::New(info.Env(), previous);
  }

  Napi::Value LoadRuntime(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsString()) ThrowType(env, kInvalidArgument, "path must be a string");
    try {
      return RuntimeInfoToJs(env, ort::Load(info[0].As<Napi::String>().Utf8Value()));
    } catch (const std::runtime_error& e) {
      std::string msg = e.what();
      // Only a library older than our API version is TG_ORT_API_VERSION; other "api:" failures
      // (the provider list) mean the library is unusable.
      const char* code = msg.rfind("api: ", 0) == 0 && msg.find("older than") != std::string::npos ? kOrtApiVersion
                         : msg.rfind("already:", 0) == 0                                          ? kOrtAlreadyLoaded
                                                                                                  : kOrtLoadFailed;
      Throw(env, ErrorKind::kError, code, msg.substr(msg.find(':') + 2));
    }
  }

  Napi::Value RuntimeInfo(const Napi::CallbackInfo& info) {
    ort::RuntimeInfo ri;
    if (!ort::Loaded(&ri)) return info.Env().Null();
    return RuntimeInfoToJs(info.Env(), ri);
  }

  bindings::KernelSettings settings_;
  // Async runs of this environment (its teardown hook waits for those in flight).
  std::unique_ptr<bindings::EnvRuns, void (*)(bindings::EnvRuns*)> runs_ = bindings::NewEnvRuns();
};

}  // namespace
}  // namespace tg

// NODE_API_ADDON pastes the name into an identifier, so it needs an unqualified one.
using TirexGuardianAddon = tg::Addon;
NODE_API_ADDON(TirexGuardianAddon)
