// One ONNX Runtime inference session with a float32 [B, T] -> float32 [B, ...] contract.
// Pure C++ (no Node-API): the binding wraps it. Run() is safe from many threads at once (ONNX
// Runtime's OrtSession::Run is), and sessions are shared process-wide through SessionCache, so
// worker threads that load the same model bytes with the same options share one session.
#pragma once
#include <onnxruntime_c_api.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tg::ort {

enum class Provider { kCpu, kCuda };
enum class ProviderPolicy { kRequire, kPrefer };

struct SessionOptions {
  int intraOpThreads = 1;
  int interOpThreads = 1;
  GraphOptimizationLevel optimization = ORT_ENABLE_ALL;
  bool deterministic = false;
  bool allowSpinning = false;
  Provider provider = Provider::kCpu;
  int deviceId = 0;
  ProviderPolicy policy = ProviderPolicy::kPrefer;

  std::string Key() const;  // for the cache
};

struct TensorMeta {
  std::string name;
  ONNXTensorElementDataType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
  std::vector<int64_t> shape;        // -1 for a symbolic or unknown dimension
  std::vector<std::string> symbols;  // the symbolic names ("" when none)
};

class Session {
 public:
  // Creates a session from model bytes (already verified by the caller). Throws OrtError with
  // TG_MODEL_INVALID (ORT cannot load it) or TG_PROVIDER_UNAVAILABLE (policy require).
  Session(const void* bytes, size_t length, const SessionOptions& options);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const std::vector<TensorMeta>& inputs() const { return inputs_; }
  const std::vector<TensorMeta>& outputs() const { return outputs_; }
  // The provider actually in use, and why it differs from the requested one ("" when it does not).
  const char* providerInUse() const { return providerInUse_ == Provider::kCuda ? "cuda" : "cpu"; }
  const std::string& providerFallbackReason() const { return fallbackReason_; }
  // Async results that reached the JS thread after their deadline had settled the call: discarded.
  void CountLateResult() const { lateResults_.fetch_add(1, std::memory_order_relaxed); }
  uint64_t lateResults() const { return lateResults_.load(std::memory_order_relaxed); }

  // Runs input 0 = data [batch, time] into output 0 = out (outLength floats, shape
  // [batch, outputs()[0].shape[1..]]), both caller-owned: no copy either way. `runOptions` may
  // be null; a run terminated through it throws OrtError with TG_RUN_TIMEOUT.
  void Run(const float* data, int64_t batch, int64_t time, float* out, size_t outLength, OrtRunOptions* runOptions,
           const std::atomic<bool>* timedOut) const;

 private:
  const OrtApi* api_;
  OrtSession* session_ = nullptr;
  OrtMemoryInfo* cpuMemory_ = nullptr;
  std::vector<TensorMeta> inputs_, outputs_;
  Provider providerInUse_ = Provider::kCpu;
  std::string fallbackReason_;
  mutable std::atomic<uint64_t> lateResults_{0};
};

// Process-wide cache: key (model sha256 + options) -> live session. Entries expire when the last
// holder releases the session.
std::shared_ptr<Session> GetOrCreateSession(const std::string& sha256, const void* bytes, size_t length,
                                            const SessionOptions& options, bool* cacheHit);

}  // namespace tg::ort
