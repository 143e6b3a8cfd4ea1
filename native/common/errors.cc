#include "errors.h"

namespace tg {

void Throw(Napi::Env env, ErrorKind kind, const char* code, const std::string& message) {
  Napi::Error err;
  switch (kind) {
    case ErrorKind::kTypeError:
      err = Napi::TypeError::New(env, message);
      break;
    case ErrorKind::kRangeError:
      err = Napi::RangeError::New(env, message);
      break;
    default:
      err = Napi::Error::New(env, message);
  }
  err.Set("code", Napi::String::New(env, code));
  throw err;
}

}  // namespace tg
