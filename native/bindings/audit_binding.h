// JS entry points of the audit trail's native helpers.
#pragma once
#include <napi.h>

namespace tg::bindings {

// chainHash(prevHash, body) -> sha256_hex(prevHash + body), both strings hashed as UTF-8;
// null when no SHA-256 is available in the process (the caller uses node:crypto).
Napi::Value ChainHash(const Napi::CallbackInfo& info);

}  // namespace tg::bindings
