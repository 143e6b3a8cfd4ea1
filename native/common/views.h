// Zero-copy views of JS typed arrays: the data pointer already includes the byte offset, so any
// subarray works. Checks are cheap: type, detachment, length.
#pragma once
#include <napi.h>

#include <cstddef>
#include <cstdint>

namespace tg {

enum class DType { kFloat32, kFloat64 };

struct View {
  void* data = nullptr;
  size_t length = 0;  // elements
  DType dtype = DType::kFloat32;

  template <typename T>
  T* as() const { return static_cast<T*>(data); }
};

// Accepts Float32Array or Float64Array (`allowF32`/`allowF64` restrict it); throws TypeError
// TG_INVALID_ARGUMENT naming `arg` otherwise, and TG_DETACHED_BUFFER for a detached buffer.
View GetFloatView(Napi::Env env, napi_value value, const char* arg, bool allowF32 = true,
                  bool allowF64 = true);

// A positive integer argument no larger than `max`.
size_t GetCount(Napi::Env env, napi_value value, const char* arg, size_t min, size_t max);

// A double (NaN rejected unless allowNaN).
double GetNumber(Napi::Env env, napi_value value, const char* arg, bool allowNaN = false);

// `view.length` must split into `rows` equal rows; returns the row length.
size_t RowLength(Napi::Env env, const View& view, size_t rows, const char* arg);

// `view` must hold at least `needed` elements.
void RequireLength(Napi::Env env, const View& view, size_t needed, const char* arg);

const char* DTypeName(DType t);

}  // namespace tg
