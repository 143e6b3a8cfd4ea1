#include "kernels_binding.h"

#include <cmath>
#include <string>

#include "../common/errors.h"
#include "../common/views.h"
#include "../kernels/assess.h"
#include "../kernels/forecast_check.h"
#include "../kernels/impute.h"
#include "../kernels/quantiles.h"
#include "../kernels/recent.h"
#include "../kernels/scan.h"
#include "../kernels/transform.h"

namespace tg::bindings {
namespace {

constexpr size_t kMaxRows = size_t{1} << 32;

void RequireArgs(const Napi::CallbackInfo& info, size_t count, const char* fn) {
  if (info.Length() < count) {
    ThrowType(info.Env(), kInvalidArgument,
              std::string(fn) + " expects " + std::to_string(count) + " arguments, got " +
                  std::to_string(info.Length()));
  }
}

void RequireSameDType(Napi::Env env, const View& a, const View& b, const char* argA, const char* argB) {
  if (a.dtype != b.dtype) {
    ThrowType(env, kDtypeMismatch,
              std::string(argB) + " is a " + DTypeName(b.dtype) + " but " + argA + " is a " + DTypeName(a.dtype));
  }
}

// Rows count and row length of a [rows, cols] view.
struct Shape {
  size_t rows;
  size_t cols;
};
Shape GetShape(const Napi::CallbackInfo& info, const View& v, size_t rowsArg, const char* arg) {
  size_t rows = GetCount(info.Env(), info[rowsArg], "rows", 1, kMaxRows);
  return {rows, RowLength(info.Env(), v, rows, arg)};
}

// An integer field of an io buffer, checked like GetCount checks an argument.
size_t IoCount(Napi::Env env, double d, const char* field, size_t min, size_t max) {
  if (!(d >= static_cast<double>(min) && d <= static_cast<double>(max)) || d != std::floor(d)) {
    ThrowRange(env, kOutOfRange,
               std::string("io.") + field + " must be an integer in [" + std::to_string(min) + ", " +
                   std::to_string(max) + "]");
  }
  return static_cast<size_t>(d);
}

// The eight counts of a forecast check, in the order lib/kernels/forecast-check.ts names them.
void WriteReport(const kernels::ForecastCheck& c, double* out) {
  const size_t fields[8] = {c.crossedSteps, c.nonFiniteValues, c.nonFiniteSteps, c.implausibleSteps,
                            c.clampedSteps, c.implausibleBands, c.absurdSteps, c.unanchoredRows};
  for (size_t i = 0; i < 8; ++i) out[i] = static_cast<double>(fields[i]);
}

}  // namespace

namespace {

// A scan-shaped call (data, rows, lo, hi, out), its arguments checked once: `row(x, n, bounds, o)`
// runs for every row, float or double, with `o` at that row's `stride` doubles of `out`.
template <typename RowFn>
Napi::Value ForEachScanRow(const Napi::CallbackInfo& info, const char* fn, size_t stride, RowFn row) {
  Napi::Env env = info.Env();
  RequireArgs(info, 5, fn);
  View data = GetFloatView(env, info[0], "data");
  Shape shape = GetShape(info, data, 1, "data");
  kernels::Bounds b{GetNumber(env, info[2], "lo"), GetNumber(env, info[3], "hi")};
  if (!(b.lo <= b.hi)) ThrowRange(env, kInvalidBounds, "lo must be <= hi (got lo=" + std::to_string(b.lo) + ", hi=" + std::to_string(b.hi) + ")");
  View out = GetFloatView(env, info[4], "out", false, true);
  RequireLength(env, out, shape.rows * stride, "out");
  double* o = out.as<double>();
  for (size_t r = 0; r < shape.rows; ++r, o += stride) {
    if (data.dtype == DType::kFloat32) {
      row(data.as<float>() + r * shape.cols, shape.cols, b, o);
    } else {
      row(data.as<double>() + r * shape.cols, shape.cols, b, o);
    }
  }
  return env.Undefined();
}

}  // namespace

// scan(data, rows, lo, hi, out): out gets kScanStride doubles per row.
Napi::Value Scan(const Napi::CallbackInfo& info, const KernelSettings& k) {
  return ForEachScanRow(info, "scan", kernels::kScanStride,
                        [&](const auto* x, size_t n, kernels::Bounds b, double* o) { kernels::ScanRow(x, n, b, o, k.simd); });
}

// assessSeries(data, rows, lo, hi, out): the input shield's one call per batch. out gets
// kAssessStride doubles per row: the scan's fields, then spike, level shift, last finite value and
// sigma of the recent points (lib/kernels/assess.ts names them).
using kernels::AssessRow;

Napi::Value AssessSeries(const Napi::CallbackInfo& info, const KernelSettings& k) {
  return ForEachScanRow(info, "assessSeries", kAssessStride,
                        [&](const auto* x, size_t n, kernels::Bounds b, double* o) { AssessRow(x, n, b, o, k.simd); });
}

// assessSpans(data, spans, lo, hi, out): the same assessment for rows that are spans of one
// buffer (a ragged batch's rows inside its padded tensor, say): spans holds [start, length] per
// row, each inside data; out gets kAssessStride doubles per span. One call for the whole batch.
Napi::Value AssessSpans(const Napi::CallbackInfo& info, const KernelSettings& k) {
  Napi::Env env = info.Env();
  RequireArgs(info, 5, "assessSpans");
  View data = GetFloatView(env, info[0], "data");
  View spans = GetFloatView(env, info[1], "spans", false, true);
  if (spans.length == 0 || spans.length % 2 != 0) ThrowRange(env, kShapeMismatch, "spans must hold [start, length] pairs");
  const size_t rows = spans.length / 2;
  kernels::Bounds b{GetNumber(env, info[2], "lo"), GetNumber(env, info[3], "hi")};
  if (!(b.lo <= b.hi)) ThrowRange(env, kInvalidBounds, "lo must be <= hi (got lo=" + std::to_string(b.lo) + ", hi=" + std::to_string(b.hi) + ")");
  View out = GetFloatView(env, info[4], "out", false, true);
  RequireLength(env, out, rows * kAssessStride, "out");
  const double* sp = spans.as<double>();
  // Every span checked before any row is read: a bad one throws with nothing written.
  for (size_t r = 0; r < rows; ++r) {
    const double start = sp[2 * r], length = sp[2 * r + 1];
    const double limit = static_cast<double>(data.length);
    if (!(start >= 0 && length >= 0 && start == std::floor(start) && length == std::floor(length) && start + length <= limit)) {
      ThrowRange(env, kOutOfRange, "span " + std::to_string(r) + " is not inside data (" + std::to_string(data.length) + " elements)");
    }
  }
  double* o = out.as<double>();
  for (size_t r = 0; r < rows; ++r, o += kAssessStride) {
    const size_t start = static_cast<size_t>(sp[2 * r]), n = static_cast<size_t>(sp[2 * r + 1]);
    if (data.dtype == DType::kFloat32) AssessRow(data.as<float>() + start, n, b, o, k.simd);
    else AssessRow(data.as<double>() + start, n, b, o, k.simd);
  }
  return env.Undefined();
}

// computeScaling(data, rows, locScale): locScale gets [loc, scale] per row.
Napi::Value ComputeScaling(const Napi::CallbackInfo& info, const KernelSettings& k) {
  Napi::Env env = info.Env();
  RequireArgs(info, 3, "computeScaling");
  View data = GetFloatView(env, info[0], "data");
  Shape shape = GetShape(info, data, 1, "data");
  View out = GetFloatView(env, info[2], "locScale", false, true);
  RequireLength(env, out, shape.rows * 2, "locScale");
  const kernels::Bounds all{-INFINITY, INFINITY};
  double stats[kernels::kScanStride];
  for (size_t r = 0; r < shape.rows; ++r) {
    if (data.dtype == DType::kFloat32) {
      kernels::ScanRow(data.as<float>() + r * shape.cols, shape.cols, all, stats, k.simd);
    } else {
      kernels::ScanRow(data.as<double>() + r * shape.cols, shape.cols, all, stats, k.simd);
    }
    kernels::ScalingFromScan(stats, out.as<double>() + 2 * r, out.as<double>() + 2 * r + 1);
  }
  return env.Undefined();
}

namespace {

template <bool kInverse>
Napi::Value ScalingTransform(const Napi::CallbackInfo& info, const KernelSettings& k, const char* fn) {
  Napi::Env env = info.Env();
  RequireArgs(info, 4, fn);
  View src = GetFloatView(env, info[0], "src");
  Shape shape = GetShape(info, src, 1, "src");
  View ls = GetFloatView(env, info[2], "locScale", false, true);
  RequireLength(env, ls, shape.rows * 2, "locScale");
  View dst = GetFloatView(env, info[3], "dst");
  RequireSameDType(env, src, dst, "src", "dst");
  RequireLength(env, dst, src.length, "dst");
  const double* p = ls.as<double>();
  for (size_t r = 0; r < shape.rows; ++r) {
    double loc = p[2 * r], scale = p[2 * r + 1];
    if (!std::isfinite(loc) || !std::isfinite(scale) || scale == 0) {
      ThrowRange(env, kOutOfRange,
                 "locScale row " + std::to_string(r) + " must hold a finite loc and a finite non-zero scale");
    }
  }
  for (size_t r = 0; r < shape.rows; ++r) {
    double loc = p[2 * r], scale = p[2 * r + 1];
    size_t off = r * shape.cols;
    if (src.dtype == DType::kFloat32) {
      if (kInverse) kernels::InvertScaling(src.as<float>() + off, dst.as<float>() + off, shape.cols, loc, scale, k.simd);
      else kernels::ApplyScaling(src.as<float>() + off, dst.as<float>() + off, shape.cols, loc, scale, k.simd);
    } else {
      if (kInverse) kernels::InvertScaling(src.as<double>() + off, dst.as<double>() + off, shape.cols, loc, scale, k.simd);
      else kernels::ApplyScaling(src.as<double>() + off, dst.as<double>() + off, shape.cols, loc, scale, k.simd);
    }
  }
  return env.Undefined();
}

}  // namespace

// applyScaling(src, rows, locScale, dst) and invertScaling(src, rows, locScale, dst).
Napi::Value ApplyScaling(const Napi::CallbackInfo& info, const KernelSettings& k) {
  return ScalingTransform<false>(info, k, "applyScaling");
}
Napi::Value InvertScaling(const Napi::CallbackInfo& info, const KernelSettings& k) {
  return ScalingTransform<true>(info, k, "invertScaling");
}

// convertF64ToF32(src, rows, dst, report): report gets per row
// [maxAbsError, scale, maxRelError, overflowCount], the scale being TiRex's (see ScalingFromScan).
Napi::Value ConvertF64ToF32(const Napi::CallbackInfo& info, const KernelSettings& k) {
  Napi::Env env = info.Env();
  RequireArgs(info, 4, "convertF64ToF32");
  View src = GetFloatView(env, info[0], "src", false, true);
  Shape shape = GetShape(info, src, 1, "src");
  View dst = GetFloatView(env, info[2], "dst", true, false);
  RequireLength(env, dst, src.length, "dst");
  View report = GetFloatView(env, info[3], "report", false, true);
  RequireLength(env, report, shape.rows * 4, "report");
  const kernels::Bounds all{-INFINITY, INFINITY};
  double stats[kernels::kScanStride];
  for (size_t r = 0; r < shape.rows; ++r) {
    const double* s = src.as<double>() + r * shape.cols;
    kernels::ScanRow(s, shape.cols, all, stats, k.simd);
    double loc = 0, scale = 1;
    kernels::ScalingFromScan(stats, &loc, &scale);
    kernels::ConvertResult cr = kernels::ConvertF64ToF32(s, dst.as<float>() + r * shape.cols, shape.cols, k.simd);
    double* o = report.as<double>() + 4 * r;
    o[0] = cr.maxAbsError;
    o[1] = scale;
    o[2] = cr.maxAbsError / scale;
    o[3] = cr.overflow;
  }
  return env.Undefined();
}

// impute(src, rows, method, dst) -> { filled, emptyRows }
Napi::Value Impute(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireArgs(info, 4, "impute");
  View src = GetFloatView(env, info[0], "src");
  Shape shape = GetShape(info, src, 1, "src");
  size_t method = GetCount(env, info[2], "method", 0, 1);
  View dst = GetFloatView(env, info[3], "dst");
  RequireSameDType(env, src, dst, "src", "dst");
  RequireLength(env, dst, src.length, "dst");
  size_t filled = 0, empty = 0;
  auto m = static_cast<kernels::ImputeMethod>(method);
  for (size_t r = 0; r < shape.rows; ++r) {
    size_t off = r * shape.cols;
    kernels::ImputeResult ir = src.dtype == DType::kFloat32
                                   ? kernels::ImputeRow(src.as<float>() + off, dst.as<float>() + off, shape.cols, m)
                                   : kernels::ImputeRow(src.as<double>() + off, dst.as<double>() + off, shape.cols, m);
    filled += ir.filled;
    empty += ir.empty ? 1 : 0;
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("filled", Napi::Number::New(env, static_cast<double>(filled)));
  result.Set("emptyRows", Napi::Number::New(env, static_cast<double>(empty)));
  return result;
}

// repairQuantiles(q, steps, levels, report): report gets [crossedSteps, nonFiniteValues, nonFiniteSteps].
Napi::Value RepairQuantiles(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireArgs(info, 4, "repairQuantiles");
  View q = GetFloatView(env, info[0], "quantiles", true, false);
  size_t steps = GetCount(env, info[1], "steps", 0, kMaxRows);
  size_t levels = GetCount(env, info[2], "levels", 1, 1024);
  if (q.length != steps * levels) {
    ThrowRange(env, kShapeMismatch,
               "quantiles has " + std::to_string(q.length) + " elements, expected steps*levels=" +
                   std::to_string(steps * levels));
  }
  View report = GetFloatView(env, info[3], "report", false, true);
  RequireLength(env, report, 3, "report");
  kernels::QuantileRepair r = kernels::RepairQuantiles(q.as<float>(), steps, levels);
  double* o = report.as<double>();
  o[0] = static_cast<double>(r.crossedSteps);
  o[1] = static_cast<double>(r.nonFiniteValues);
  o[2] = static_cast<double>(r.nonFiniteSteps);
  return env.Undefined();
}

// checkMean(mean, quantiles, steps, levels, medianIndex, maxDeviation, replace) -> flagged steps
Napi::Value CheckMean(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireArgs(info, 7, "checkMean");
  View mean = GetFloatView(env, info[0], "mean", true, false);
  View q = GetFloatView(env, info[1], "quantiles", true, false);
  size_t steps = GetCount(env, info[2], "steps", 0, kMaxRows);
  size_t levels = GetCount(env, info[3], "levels", 1, 1024);
  size_t median = GetCount(env, info[4], "medianIndex", 0, levels - 1);
  double maxDeviation = GetNumber(env, info[5], "maxDeviation");
  if (!(maxDeviation >= 0)) ThrowRange(env, kOutOfRange, "maxDeviation must be >= 0");
  if (mean.length != steps) {
    ThrowRange(env, kShapeMismatch,
               "mean has " + std::to_string(mean.length) + " elements, expected steps=" + std::to_string(steps));
  }
  if (q.length != steps * levels) {
    ThrowRange(env, kShapeMismatch,
               "quantiles has " + std::to_string(q.length) + " elements, expected steps*levels=" +
                   std::to_string(steps * levels));
  }
  bool replace = info[6].ToBoolean().Value();
  size_t flagged = kernels::CheckMean(mean.as<float>(), q.as<float>(), steps, levels, median, maxDeviation, replace);
  return Napi::Number::New(env, static_cast<double>(flagged));
}

// checkForecast(q, mean, io): the output shield's pass (kernels/forecast_check.h). Scalars,
// report and anchors travel in one Float64Array `io` (fields in lib/kernels/forecast-check.ts):
// each typed-array argument costs about 100 ns of Node-API work, more than the kernel itself.
// mean may be null.
Napi::Value CheckForecast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireArgs(info, 3, "checkForecast");
  View q = GetFloatView(env, info[0], "quantiles", true, false);
  View io = GetFloatView(env, info[2], "io", false, true);
  RequireLength(env, io, kForecastIoHeader, "io");
  double* p = io.as<double>();
  const size_t batch = IoCount(env, p[0], "batch", 1, kMaxRows);
  const size_t horizon = IoCount(env, p[1], "horizon", 1, kMaxRows);
  const size_t levels = IoCount(env, p[2], "levels", 1, 1024);
  const size_t median = IoCount(env, p[3], "medianIndex", 0, levels - 1);
  const double kSigmas = p[4];
  if (!(kSigmas > 0) || !std::isfinite(kSigmas)) ThrowRange(env, kOutOfRange, "k must be finite and > 0");
  const bool clamp = p[5] != 0;
  // Products checked by division: no size_t overflow can pass the length checks.
  if (q.length / levels / horizon != batch || q.length % (levels * horizon) != 0) {
    ThrowRange(env, kShapeMismatch,
               "quantiles has " + std::to_string(q.length) + " elements, expected batch*horizon*levels=" +
                   std::to_string(batch) + "*" + std::to_string(horizon) + "*" + std::to_string(levels));
  }
  if ((io.length - kForecastIoHeader) / kernels::kAnchorStride < batch) {
    ThrowRange(env, kBufferTooShort,
               "io holds " + std::to_string(io.length) + " elements, needs " +
                   std::to_string(kForecastIoHeader + batch * kernels::kAnchorStride));
  }
  float* mean = nullptr;
  if (!info[1].IsNull()) {
    View m = GetFloatView(env, info[1], "mean", true, false);
    if (m.length != batch * horizon) {
      ThrowRange(env, kShapeMismatch,
                 "mean has " + std::to_string(m.length) + " elements, expected batch*horizon=" +
                     std::to_string(batch * horizon));
    }
    mean = m.as<float>();
  }
  kernels::ForecastCheck c = kernels::CheckForecast(q.as<float>(), batch, horizon, levels, median,
                                                    p + kForecastIoHeader, kSigmas, clamp, mean);
  WriteReport(c, p + kForecastIoReport);
  return env.Undefined();
}

// checkForecastRows(q, mean, io): the same pass for a batch judged series by series, in one call.
// io: the header of checkForecast (k unused), then kForecastRowStride doubles per series:
// [last, sigma, min, max, k, report x 8]. Each series is checked on its own (kernels::CheckForecast
// with batch 1): a non-finite series stops only its own checks and gets no mean, and each gets
// its own k (a cautioned series a tighter bound). The header's report gets the sums.
Napi::Value CheckForecastRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireArgs(info, 3, "checkForecastRows");
  View q = GetFloatView(env, info[0], "quantiles", true, false);
  View io = GetFloatView(env, info[2], "io", false, true);
  RequireLength(env, io, kForecastIoHeader, "io");
  double* p = io.as<double>();
  const size_t batch = IoCount(env, p[0], "batch", 1, kMaxRows);
  const size_t horizon = IoCount(env, p[1], "horizon", 1, kMaxRows);
  const size_t levels = IoCount(env, p[2], "levels", 1, 1024);
  const size_t median = IoCount(env, p[3], "medianIndex", 0, levels - 1);
  const bool clamp = p[5] != 0;
  if (q.length / levels / horizon != batch || q.length % (levels * horizon) != 0) {
    ThrowRange(env, kShapeMismatch,
               "quantiles has " + std::to_string(q.length) + " elements, expected batch*horizon*levels=" +
                   std::to_string(batch) + "*" + std::to_string(horizon) + "*" + std::to_string(levels));
  }
  if ((io.length - kForecastIoHeader) / kForecastRowStride < batch) {
    ThrowRange(env, kBufferTooShort,
               "io holds " + std::to_string(io.length) + " elements, needs " +
                   std::to_string(kForecastIoHeader + batch * kForecastRowStride));
  }
  double* rows = p + kForecastIoHeader;
  for (size_t b = 0; b < batch; ++b) {
    const double kSigmas = rows[b * kForecastRowStride + 4];
    if (!(kSigmas > 0) || !std::isfinite(kSigmas)) ThrowRange(env, kOutOfRange, "k of series " + std::to_string(b) + " must be finite and > 0");
  }
  float* mean = nullptr;
  if (!info[1].IsNull()) {
    View m = GetFloatView(env, info[1], "mean", true, false);
    if (m.length != batch * horizon) {
      ThrowRange(env, kShapeMismatch,
                 "mean has " + std::to_string(m.length) + " elements, expected batch*horizon=" +
                     std::to_string(batch * horizon));
    }
    mean = m.as<float>();
  }
  kernels::ForecastCheck total;
  for (size_t b = 0; b < batch; ++b) {
    double* row = rows + b * kForecastRowStride;
    const kernels::ForecastCheck c =
        kernels::CheckForecast(q.as<float>() + b * horizon * levels, 1, horizon, levels, median, row, row[4], clamp,
                               mean == nullptr ? nullptr : mean + b * horizon);
    WriteReport(c, row + 5);
    total.crossedSteps += c.crossedSteps;
    total.nonFiniteValues += c.nonFiniteValues;
    total.nonFiniteSteps += c.nonFiniteSteps;
    total.implausibleSteps += c.implausibleSteps;
    total.clampedSteps += c.clampedSteps;
    total.implausibleBands += c.implausibleBands;
    total.absurdSteps += c.absurdSteps;
    total.unanchoredRows += c.unanchoredRows;
  }
  WriteReport(total, p + kForecastIoReport);
  return env.Undefined();
}

}  // namespace tg::bindings
