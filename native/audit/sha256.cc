#include "sha256.h"

#include <dlfcn.h>

#include <mutex>

namespace tg::audit {
namespace {

// The OpenSSL functions we call (stable C ABI). OpenSSL 3 looks the algorithm up on every
// EVP_Digest (about 1 us here); fetching it once with EVP_MD_fetch and reusing a context per
// thread leaves only the hashing. OpenSSL 1.1 has no EVP_MD_fetch: EVP_sha256() then.
using MdFetchFn = void* (*)(void* libctx, const char* algorithm, const char* properties);
using Sha256Fn = const void* (*)();
using CtxNewFn = void* (*)();
using CtxFreeFn = void (*)(void* ctx);
using InitFn = int (*)(void* ctx, const void* type, void* engine);
using UpdateFn = int (*)(void* ctx, const void* data, size_t count);
using FinalFn = int (*)(void* ctx, unsigned char* md, unsigned int* size);

struct OpenSsl {
  const void* md = nullptr;
  CtxNewFn ctxNew = nullptr;
  CtxFreeFn ctxFree = nullptr;
  InitFn init = nullptr;
  UpdateFn update = nullptr;
  FinalFn final = nullptr;
};

template <typename F>
F Symbol(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_DEFAULT, name));
}

const OpenSsl& Resolve() {
  static OpenSsl ssl;
  static std::once_flag once;
  std::call_once(once, [] {
    OpenSsl s;
    s.ctxNew = Symbol<CtxNewFn>("EVP_MD_CTX_new");
    s.ctxFree = Symbol<CtxFreeFn>("EVP_MD_CTX_free");
    s.init = Symbol<InitFn>("EVP_DigestInit_ex");
    s.update = Symbol<UpdateFn>("EVP_DigestUpdate");
    s.final = Symbol<FinalFn>("EVP_DigestFinal_ex");
    if (auto fetch = Symbol<MdFetchFn>("EVP_MD_fetch")) {
      s.md = fetch(nullptr, "SHA256", nullptr);  // kept for the life of the process
    } else if (auto sha256 = Symbol<Sha256Fn>("EVP_sha256")) {
      s.md = sha256();
    }
    if (s.md != nullptr && s.ctxNew && s.ctxFree && s.init && s.update && s.final) ssl = s;
  });
  return ssl;
}

// One context per thread (worker threads hash too), freed when the thread ends.
struct ThreadContext {
  void* ctx = nullptr;
  ~ThreadContext() {
    if (ctx != nullptr) Resolve().ctxFree(ctx);
  }
};

}  // namespace

bool Sha256Available() { return Resolve().md != nullptr; }

bool Sha256(const uint8_t* data, size_t length, uint8_t* out) {
  const OpenSsl& ssl = Resolve();
  if (ssl.md == nullptr) return false;
  thread_local ThreadContext tc;
  if (tc.ctx == nullptr) tc.ctx = ssl.ctxNew();
  if (tc.ctx == nullptr) return false;
  unsigned int size = 0;
  return ssl.init(tc.ctx, ssl.md, nullptr) == 1 && ssl.update(tc.ctx, data, length) == 1 &&
         ssl.final(tc.ctx, out, &size) == 1 && size == 32;
}

}  // namespace tg::audit
