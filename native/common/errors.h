// Typed JS errors with stable codes. Every failure that crosses the native boundary goes through
// here, so JS callers can branch on `err.code` instead of parsing messages.
#pragma once
#include <napi.h>

#include <string>

namespace tg {

// Stable codes: keep in sync with lib/errors.ts.
inline constexpr const char* kInvalidArgument = "TG_INVALID_ARGUMENT";
inline constexpr const char* kDetachedBuffer = "TG_DETACHED_BUFFER";
inline constexpr const char* kBufferTooShort = "TG_BUFFER_TOO_SHORT";
inline constexpr const char* kShapeMismatch = "TG_SHAPE_MISMATCH";
inline constexpr const char* kDtypeMismatch = "TG_DTYPE_MISMATCH";
inline constexpr const char* kInvalidBounds = "TG_INVALID_BOUNDS";
inline constexpr const char* kOutOfRange = "TG_OUT_OF_RANGE";
inline constexpr const char* kOrtLoadFailed = "TG_ORT_LOAD_FAILED";
inline constexpr const char* kOrtApiVersion = "TG_ORT_API_VERSION";
inline constexpr const char* kOrtAlreadyLoaded = "TG_ORT_ALREADY_LOADED";
inline constexpr const char* kOrtNotLoaded = "TG_ORT_NOT_LOADED";
inline constexpr const char* kInternal = "TG_INTERNAL";

enum class ErrorKind { kError, kTypeError, kRangeError };

// Throws (as a C++ exception carrying a JS error) an error of the given kind and code.
[[noreturn]] void Throw(Napi::Env env, ErrorKind kind, const char* code, const std::string& message);

[[noreturn]] inline void ThrowType(Napi::Env env, const char* code, const std::string& message) {
  Throw(env, ErrorKind::kTypeError, code, message);
}
[[noreturn]] inline void ThrowRange(Napi::Env env, const char* code, const std::string& message) {
  Throw(env, ErrorKind::kRangeError, code, message);
}

}  // namespace tg
