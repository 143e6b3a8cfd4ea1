// Typed JS errors with stable codes. Every failure that crosses the native boundary goes through
// here, so JS callers can branch on `err.code` instead of parsing messages.
#pragma once
#include <napi.h>

#include <new>
#include <stdexcept>
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

// Sets `name` on `obj` as an own data property (enumerable, writable, configurable) without
// running a setter a caller may have planted on Error.prototype or Object.prototype: such a
// setter could swallow an error's `code` or throw from inside our error path.
void DefineOwn(Napi::Env env, Napi::Object obj, const char* name, napi_value value);

// True when `value` is a native Error with an own string property `code` starting with "TG_".
// Calls no getter of the caller's and leaves no exception pending.
bool HasTgCode(Napi::Env env, napi_value value);

// Throws a new error with `code` whose `cause` is `original` (what a Node-API call, or the
// caller's own getter or Proxy trap, threw).
[[noreturn]] void ThrowWithCause(Napi::Env env, ErrorKind kind, const char* code, const std::string& message,
                                 napi_value original);

// The JS value a caught Napi::Error holds, read without running any of the caller's code.
napi_value RawValue(Napi::Env env, const Napi::Error& e);

// obj[key] where obj is the caller's (a Proxy, a throwing getter): what their code throws becomes
// TG_INVALID_ARGUMENT naming `what`, with their error as `cause`.
Napi::Value GetCallerProperty(Napi::Env env, Napi::Object obj, const char* key, const std::string& what);

// The boundary of every export: runs `fn` (its body) so that whatever leaves it carries a stable
// string `code`. Our coded errors pass unchanged; a Node-API failure without a code, or a C++
// exception (std::bad_alloc, std::system_error...), becomes TG_INTERNAL. Without it,
// node-addon-api would turn those into errors with no code at all.
template <typename Fn>
Napi::Value Guard(Napi::Env env, const char* where, Fn&& fn) {
  try {
    return fn();
  } catch (const Napi::Error& e) {
    napi_value value = RawValue(env, e);
    if (HasTgCode(env, value)) throw;
    ThrowWithCause(env, ErrorKind::kError, kInternal, std::string(where) + ": " + e.what(), value);
  } catch (const std::bad_alloc&) {
    Throw(env, ErrorKind::kRangeError, kInternal, std::string(where) + ": out of memory");
  } catch (const std::exception& e) {
    Throw(env, ErrorKind::kError, kInternal, std::string(where) + ": " + e.what());
  } catch (...) {
    Throw(env, ErrorKind::kError, kInternal, std::string(where) + ": an unknown native exception");
  }
}

}  // namespace tg
