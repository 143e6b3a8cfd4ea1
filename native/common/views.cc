#include "views.h"

#include <cmath>
#include <string>

#include "errors.h"

namespace tg {

const char* DTypeName(DType t) { return t == DType::kFloat32 ? "Float32Array" : "Float64Array"; }

namespace {
[[noreturn]] void ThrowNotFloat(Napi::Env env, const char* arg, bool allowF32, bool allowF64) {
  const char* expected = allowF32 && allowF64 ? "a Float32Array or Float64Array"
                         : allowF32           ? "a Float32Array"
                                              : "a Float64Array";
  ThrowType(env, kInvalidArgument, std::string(arg) + " must be " + expected);
}
}  // namespace

View GetFloatView(Napi::Env env, napi_value value, const char* arg, bool allowF32, bool allowF64) {
  // napi_get_typedarray_info fails on anything that is not a typed array: no separate type check.
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  napi_value buffer;
  size_t offset = 0;
  if (napi_get_typedarray_info(env, value, &type, &length, &data, &buffer, &offset) != napi_ok) {
    ThrowNotFloat(env, arg, allowF32, allowF64);
  }
  View v;
  if (type == napi_float32_array && allowF32) {
    v.dtype = DType::kFloat32;
  } else if (type == napi_float64_array && allowF64) {
    v.dtype = DType::kFloat64;
  } else {
    ThrowNotFloat(env, arg, allowF32, allowF64);
  }
  // A view of a SharedArrayBuffer is accepted, zero-copy like any other: a SharedArrayBuffer is
  // never detached and never shrinks, so the pointer stays valid for the call. Another thread
  // writing it meanwhile gives this call torn values, never memory outside the buffer. (Async
  // runs copy their input; model bytes, whose hash must hold, are refused: session_binding.cc.)
  bool plain = false;
  napi_is_arraybuffer(env, buffer, &plain);
  bool detached = false;
  if (plain) napi_is_detached_arraybuffer(env, buffer, &detached);
  if (detached) ThrowType(env, kDetachedBuffer, std::string(arg) + " is backed by a detached ArrayBuffer");
  v.data = data;
  v.length = length;
  return v;
}

double GetNumber(Napi::Env env, napi_value value, const char* arg, bool allowNaN) {
  double d = 0;
  if (napi_get_value_double(env, value, &d) != napi_ok) {
    ThrowType(env, kInvalidArgument, std::string(arg) + " must be a number");
  }
  if (!allowNaN && std::isnan(d)) ThrowRange(env, kOutOfRange, std::string(arg) + " must not be NaN");
  return d;
}

size_t GetCount(Napi::Env env, napi_value value, const char* arg, size_t min, size_t max) {
  double d = GetNumber(env, value, arg, true);
  if (!(d >= static_cast<double>(min) && d <= static_cast<double>(max)) || d != std::floor(d)) {
    ThrowRange(env, kOutOfRange,
               std::string(arg) + " must be an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return static_cast<size_t>(d);
}

size_t RowLength(Napi::Env env, const View& view, size_t rows, const char* arg) {
  if (view.length % rows != 0) {
    ThrowRange(env, kShapeMismatch,
               std::string(arg) + " has " + std::to_string(view.length) + " elements, not a multiple of rows=" +
                   std::to_string(rows));
  }
  return view.length / rows;
}

void RequireLength(Napi::Env env, const View& view, size_t needed, const char* arg) {
  if (view.length < needed) {
    ThrowRange(env, kBufferTooShort,
               std::string(arg) + " holds " + std::to_string(view.length) + " elements, needs " +
                   std::to_string(needed));
  }
}

}  // namespace tg
