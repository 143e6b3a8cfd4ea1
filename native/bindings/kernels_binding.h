// JS entry points of the kernels. Each takes zero-copy views, checks them cheaply (the TypeScript
// wrappers in lib/kernels validate first and give friendlier messages), and never aborts.
#pragma once
#include <napi.h>

namespace tg::bindings {

// Per-environment kernel settings (instance data, so worker threads each have their own).
struct KernelSettings {
  bool simdSupported = false;
  bool simd = false;
};

Napi::Value Scan(const Napi::CallbackInfo& info, const KernelSettings& k);
Napi::Value ComputeScaling(const Napi::CallbackInfo& info, const KernelSettings& k);
Napi::Value ApplyScaling(const Napi::CallbackInfo& info, const KernelSettings& k);
Napi::Value InvertScaling(const Napi::CallbackInfo& info, const KernelSettings& k);
Napi::Value ConvertF64ToF32(const Napi::CallbackInfo& info, const KernelSettings& k);
Napi::Value Impute(const Napi::CallbackInfo& info);
Napi::Value RepairQuantiles(const Napi::CallbackInfo& info);
Napi::Value CheckMean(const Napi::CallbackInfo& info);

}  // namespace tg::bindings
