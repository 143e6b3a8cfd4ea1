#include "staging.h"

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

#include "../common/errors.h"

namespace tg::bindings {
namespace {

// One block of staging memory; freed when the last share (the ArrayBuffer's, a run's) goes.
struct Block {
  void* data = nullptr;
  size_t bytes = 0;
  ~Block() { std::free(data); }
};

// Blocks by address, for StagingShare. An entry is erased by the ArrayBuffer's finalizer, which
// runs before the block can be freed (the finalizer holds a share until it returns), so an
// address found here is never memory that was freed and reused.
struct Registry {
  std::mutex mutex;
  std::map<const char*, std::weak_ptr<Block>> blocks;
};

Registry& Blocks() {
  static Registry* r = new Registry();  // leaked: finalizers may run during static destruction
  return *r;
}

void Finalize(napi_env, void*, void* hint) {
  std::unique_ptr<std::shared_ptr<Block>> share(static_cast<std::shared_ptr<Block>*>(hint));
  Registry& r = Blocks();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.blocks.erase(static_cast<const char*>((*share)->data));
}

}  // namespace

Napi::Value AllocStaging(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1) ThrowType(env, kInvalidArgument, "allocStaging expects (bytes)");
  const size_t bytes = GetCount(env, info[0], "bytes", 1, size_t{1} << 34);
  auto block = std::make_shared<Block>();
  // Rounded up to the alignment, as aligned_alloc requires.
  block->bytes = bytes;
  block->data = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
  if (block->data == nullptr) Throw(env, ErrorKind::kRangeError, kOutOfRange, "cannot allocate " + std::to_string(bytes) + " bytes of staging memory");
  std::memset(block->data, 0, bytes);
  auto* hint = new std::shared_ptr<Block>(block);
  napi_value ab;
  napi_status st = napi_create_external_arraybuffer(env, block->data, bytes, Finalize, hint, &ab);
  if (st != napi_ok) {
    delete hint;
    if (st == napi_no_external_buffers_allowed) return env.Null();
    Throw(env, ErrorKind::kError, kInternal, "cannot create the staging ArrayBuffer");
  }
  Registry& r = Blocks();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.blocks[static_cast<const char*>(block->data)] = block;
  return Napi::Value(env, ab);
}

std::shared_ptr<void> StagingShare(const View& v) {
  const char* first = static_cast<const char*>(v.data);
  const size_t bytes = v.length * (v.dtype == DType::kFloat32 ? sizeof(float) : sizeof(double));
  Registry& r = Blocks();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto it = r.blocks.upper_bound(first);
  if (it == r.blocks.begin()) return nullptr;
  --it;  // the block starting at or before `first`
  std::shared_ptr<Block> block = it->second.lock();
  if (!block) return nullptr;
  const char* base = static_cast<const char*>(block->data);
  if (first < base || first + bytes > base + block->bytes) return nullptr;
  return block;
}

}  // namespace tg::bindings
