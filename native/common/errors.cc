#include "errors.h"

namespace tg {

namespace {

Napi::Error MakeError(Napi::Env env, ErrorKind kind, const std::string& message) {
  switch (kind) {
    case ErrorKind::kTypeError:
      return Napi::TypeError::New(env, message);
    case ErrorKind::kRangeError:
      return Napi::RangeError::New(env, message);
    default:
      return Napi::Error::New(env, message);
  }
}

}  // namespace

void DefineOwn(Napi::Env env, Napi::Object obj, const char* name, napi_value value) {
  napi_property_descriptor d = {name, nullptr, nullptr, nullptr, nullptr, value, napi_default_jsproperty, nullptr};
  if (napi_define_properties(env, obj, 1, &d) != napi_ok) {
    // Only when the environment is going away; leave nothing pending for the next call.
    napi_value ignored;
    napi_get_and_clear_last_exception(env, &ignored);
  }
}

void Throw(Napi::Env env, ErrorKind kind, const char* code, const std::string& message) {
  Napi::Error err = MakeError(env, kind, message);
  DefineOwn(env, err.Value(), "code", Napi::String::New(env, code));
  throw err;
}

bool HasTgCode(Napi::Env env, napi_value value) {
  bool isError = false, own = false;
  if (napi_is_error(env, value, &isError) != napi_ok || !isError) return false;
  // An own property only: a `code` inherited from a polluted prototype is not the error's.
  if (napi_has_own_property(env, value, Napi::String::New(env, "code"), &own) != napi_ok || !own) return false;
  napi_value code;
  if (napi_get_named_property(env, value, "code", &code) != napi_ok) {
    napi_value ignored;  // a getter threw: not one of ours
    napi_get_and_clear_last_exception(env, &ignored);
    return false;
  }
  char buf[4] = {0};
  size_t length = 0;
  if (napi_get_value_string_utf8(env, code, buf, sizeof buf, &length) != napi_ok) return false;
  return length == 3 && buf[0] == 'T' && buf[1] == 'G' && buf[2] == '_';
}

void ThrowWithCause(Napi::Env env, ErrorKind kind, const char* code, const std::string& message,
                    napi_value original) {
  Napi::Error err = MakeError(env, kind, message);
  DefineOwn(env, err.Value(), "code", Napi::String::New(env, code));
  if (original != nullptr) DefineOwn(env, err.Value(), "cause", original);
  throw err;
}

napi_value RawValue(Napi::Env env, const Napi::Error& e) {
  // Not e.Value(): it probes the value with `has`, which runs a Proxy's trap.
  napi_value value = nullptr;
  const napi_ref ref = e;
  if (ref == nullptr || napi_get_reference_value(env, ref, &value) != napi_ok) return nullptr;
  return value;
}

Napi::Value GetCallerProperty(Napi::Env env, Napi::Object obj, const char* key, const std::string& what) {
  napi_value value;
  if (napi_get_named_property(env, obj, key, &value) == napi_ok) return Napi::Value(env, value);
  napi_value thrown = nullptr;
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) napi_get_and_clear_last_exception(env, &thrown);
  ThrowWithCause(env, ErrorKind::kTypeError, kInvalidArgument, what + " could not be read: its getter or Proxy threw",
                 thrown);
}

}  // namespace tg
