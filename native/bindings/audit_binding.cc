#include "audit_binding.h"

#include <cstring>
#include <string>
#include <vector>

#include "../audit/sha256.h"
#include "../common/errors.h"

namespace tg::bindings {
namespace {

// Copies the UTF-8 bytes of a JS string into `buf` from `at`, growing it when needed; returns the
// byte count. One copy call in the common case: the buffer is kept per thread and not cleared, so
// nothing is zero-filled per call. (A Latin-1 copy would be cheaper but maps characters above
// U+00FF to single bytes, some below 0x80: it cannot tell an ASCII string from a lossy one.)
size_t CopyUtf8(napi_env env, napi_value value, const char* arg, std::vector<char>& buf, size_t at) {
  const size_t room = buf.size() - at;
  size_t length = 0;
  if (napi_get_value_string_utf8(env, value, buf.data() + at, room, &length) != napi_ok) {
    ThrowType(Napi::Env(env), kInvalidArgument, std::string(arg) + " must be a string");
  }
  // Up to 3 bytes short of the room, the string may have been cut before a multi-byte character.
  if (length + 4 >= room) {
    napi_get_value_string_utf8(env, value, nullptr, 0, &length);
    if (buf.size() < at + length + 1) buf.resize(at + length + 1);
    napi_get_value_string_utf8(env, value, buf.data() + at, length + 1, &length);
  }
  return length;
}

}  // namespace

Napi::Value ChainHash(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2) ThrowType(env, kInvalidArgument, "chainHash expects 2 arguments");
  if (!audit::Sha256Available()) return env.Null();
  thread_local std::vector<char> buf(64 * 1024);
  const size_t prev = CopyUtf8(env, info[0], "prevHash", buf, 0);
  const size_t body = CopyUtf8(env, info[1], "body", buf, prev);
  uint8_t digest[32];
  if (!audit::Sha256(reinterpret_cast<const uint8_t*>(buf.data()), prev + body, digest)) {
    ThrowType(env, kInternal, "SHA-256 failed");
  }
  static const char* kHex = "0123456789abcdef";
  char hex[64];
  for (int i = 0; i < 32; ++i) {
    hex[2 * i] = kHex[digest[i] >> 4];
    hex[2 * i + 1] = kHex[digest[i] & 15];
  }
  napi_value result;
  napi_create_string_latin1(env, hex, 64, &result);  // hex digits: Latin-1 is V8's cheapest
  return Napi::Value(env, result);
}

}  // namespace tg::bindings
