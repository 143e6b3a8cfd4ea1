// JS entry points of the kernels. Each takes zero-copy views, checks them cheaply (the TypeScript
// wrappers in lib/kernels validate first and give friendlier messages), and never aborts.
#pragma once
#include <napi.h>

#include <cstddef>

namespace tg::bindings {

// Per-environment kernel settings (instance data, so worker threads each have their own).
struct KernelSettings {
  bool simdSupported = false;
  bool simd = false;
};

// Doubles per row written by assessSeries: the scan's kScanStride, then the recent signals.
inline constexpr size_t kAssessStride = 20;
static_assert(kAssessStride == 16 + 4, "lib/kernels/assess.ts: ASSESS_STRIDE");
// checkForecast's io buffer: [batch, horizon, levels, medianIndex, k, clamp, -, -], the report
// (8 counts) from kForecastIoReport, then kAnchorStride anchors per series.
inline constexpr size_t kForecastIoReport = 8;
inline constexpr size_t kForecastIoHeader = 16;
// checkForecastRows' io: the header, then per series [last, sigma, min, max, k, report x 8].
inline constexpr size_t kForecastRowStride = 13;

Napi::Value Scan(const Napi::CallbackInfo& info, const KernelSettings& k);
Napi::Value AssessSeries(const Napi::CallbackInfo& info, const KernelSettings& k);
Napi::Value AssessSpans(const Napi::CallbackInfo& info, const KernelSettings& k);
Napi::Value ComputeScaling(const Napi::CallbackInfo& info, const KernelSettings& k);
Napi::Value ApplyScaling(const Napi::CallbackInfo& info, const KernelSettings& k);
Napi::Value InvertScaling(const Napi::CallbackInfo& info, const KernelSettings& k);
Napi::Value ConvertF64ToF32(const Napi::CallbackInfo& info, const KernelSettings& k);
Napi::Value Impute(const Napi::CallbackInfo& info);
Napi::Value RepairQuantiles(const Napi::CallbackInfo& info);
Napi::Value CheckMean(const Napi::CallbackInfo& info);
Napi::Value CheckForecast(const Napi::CallbackInfo& info);
Napi::Value CheckForecastRows(const Napi::CallbackInfo& info);

}  // namespace tg::bindings
