#include "session.h"

#include <map>
#include <mutex>
#include <stdexcept>

#include "../common/errors.h"
#include "runtime.h"
#include "status.h"

namespace tg::ort {
namespace {

// Stable codes for session failures (mirrored in lib/errors.ts).
constexpr const char* kModelInvalid = "TG_MODEL_INVALID";
constexpr const char* kProviderUnavailable = "TG_PROVIDER_UNAVAILABLE";
constexpr const char* kRunFailed = "TG_RUN_FAILED";
constexpr const char* kRunTimeout = "TG_RUN_TIMEOUT";

struct OptionsDeleter {
  const OrtApi* api;
  void operator()(OrtSessionOptions* o) const { api->ReleaseSessionOptions(o); }
};
using OptionsPtr = std::unique_ptr<OrtSessionOptions, OptionsDeleter>;

OptionsPtr BaseOptions(const OrtApi* api, const SessionOptions& opt) {
  OrtSessionOptions* raw = nullptr;
  Check(api, api->CreateSessionOptions(&raw), kInternal, "CreateSessionOptions");
  OptionsPtr so(raw, OptionsDeleter{api});
  Check(api, api->SetIntraOpNumThreads(raw, opt.intraOpThreads), kInternal, "SetIntraOpNumThreads");
  Check(api, api->SetInterOpNumThreads(raw, opt.interOpThreads), kInternal, "SetInterOpNumThreads");
  Check(api, api->SetSessionGraphOptimizationLevel(raw, opt.optimization), kInternal, "SetSessionGraphOptimizationLevel");
  Check(api, api->SetSessionExecutionMode(raw, opt.interOpThreads > 1 && !opt.deterministic ? ORT_PARALLEL : ORT_SEQUENTIAL),
        kInternal, "SetSessionExecutionMode");
  // Spinning threads cut wake-up latency but burn the cores a trading engine needs: off by default.
  const char* spin = opt.allowSpinning ? "1" : "0";
  Check(api, api->AddSessionConfigEntry(raw, "session.intra_op.allow_spinning", spin), kInternal, "AddSessionConfigEntry");
  Check(api, api->AddSessionConfigEntry(raw, "session.inter_op.allow_spinning", spin), kInternal, "AddSessionConfigEntry");
  if (opt.deterministic) Check(api, api->SetDeterministicCompute(raw, true), kInternal, "SetDeterministicCompute");
  Check(api, api->SetSessionLogSeverityLevel(raw, ORT_LOGGING_LEVEL_ERROR), kInternal, "SetSessionLogSeverityLevel");
  return so;
}

// Registers the CUDA provider; returns "" or the reason it could not be registered.
std::string AppendCuda(const OrtApi* api, OrtSessionOptions* so, int deviceId) {
  OrtCUDAProviderOptionsV2* cuda = nullptr;
  if (OrtStatus* st = api->CreateCUDAProviderOptions(&cuda)) {
    std::string msg = api->GetErrorMessage(st);
    api->ReleaseStatus(st);
    return "CreateCUDAProviderOptions: " + msg;
  }
  std::string device = std::to_string(deviceId);
  const char* keys[] = {"device_id"};
  const char* values[] = {device.c_str()};
  std::string reason;
  if (OrtStatus* st = api->UpdateCUDAProviderOptions(cuda, keys, values, 1)) {
    reason = std::string("UpdateCUDAProviderOptions: ") + api->GetErrorMessage(st);
    api->ReleaseStatus(st);
  } else if (OrtStatus* st2 = api->SessionOptionsAppendExecutionProvider_CUDA_V2(so, cuda)) {
    reason = std::string("SessionOptionsAppendExecutionProvider_CUDA_V2: ") + api->GetErrorMessage(st2);
    api->ReleaseStatus(st2);
  }
  api->ReleaseCUDAProviderOptions(cuda);
  return reason;
}

TensorMeta ReadMeta(const OrtApi* api, OrtTypeInfo* info, char* name, OrtAllocator* alloc) {
  TensorMeta m;
  m.name = name;
  Check(api, api->AllocatorFree(alloc, name), kInternal, "AllocatorFree");
  ONNXType onnxType;
  Check(api, api->GetOnnxTypeFromTypeInfo(info, &onnxType), kInternal, "GetOnnxTypeFromTypeInfo");
  if (onnxType != ONNX_TYPE_TENSOR) return m;  // type stays UNDEFINED: not a tensor
  const OrtTensorTypeAndShapeInfo* t = nullptr;
  Check(api, api->CastTypeInfoToTensorInfo(info, &t), kInternal, "CastTypeInfoToTensorInfo");
  Check(api, api->GetTensorElementType(t, &m.type), kInternal, "GetTensorElementType");
  size_t rank = 0;
  Check(api, api->GetDimensionsCount(t, &rank), kInternal, "GetDimensionsCount");
  m.shape.resize(rank);
  std::vector<const char*> symbols(rank, nullptr);
  Check(api, api->GetDimensions(t, m.shape.data(), rank), kInternal, "GetDimensions");
  Check(api, api->GetSymbolicDimensions(t, symbols.data(), rank), kInternal, "GetSymbolicDimensions");
  for (size_t i = 0; i < rank; ++i) {
    m.symbols.emplace_back(symbols[i] ? symbols[i] : "");
    if (m.shape[i] <= 0) m.shape[i] = -1;
  }
  return m;
}

// Name, type and shape of every input (or output) of the session.
std::vector<TensorMeta> ReadAllMeta(const OrtApi* api, OrtSession* session, OrtAllocator* alloc, bool outputs) {
  std::vector<TensorMeta> metas;
  size_t n = 0;
  Check(api, outputs ? api->SessionGetOutputCount(session, &n) : api->SessionGetInputCount(session, &n), kInternal,
        "SessionGetCount");
  for (size_t i = 0; i < n; ++i) {
    char* name = nullptr;
    OrtTypeInfo* info = nullptr;
    Check(api, outputs ? api->SessionGetOutputName(session, i, alloc, &name) : api->SessionGetInputName(session, i, alloc, &name),
          kInternal, "SessionGetName");
    Check(api, outputs ? api->SessionGetOutputTypeInfo(session, i, &info) : api->SessionGetInputTypeInfo(session, i, &info),
          kInternal, "SessionGetTypeInfo");
    try {
      metas.push_back(ReadMeta(api, info, name, alloc));
    } catch (...) {
      api->ReleaseTypeInfo(info);  // no leak when a metadata call fails
      throw;
    }
    api->ReleaseTypeInfo(info);
  }
  return metas;
}

}  // namespace

std::string SessionOptions::Key() const {
  return std::to_string(intraOpThreads) + "/" + std::to_string(interOpThreads) + "/" + std::to_string(optimization) +
         "/" + (deterministic ? "d" : "n") + (allowSpinning ? "s" : "q") + "/" +
         (provider == Provider::kCuda ? "cuda" + std::to_string(deviceId) : "cpu") + "/" +
         (policy == ProviderPolicy::kRequire ? "require" : "prefer");
}

Session::Session(const void* bytes, size_t length, const SessionOptions& opt) : api_(Api()) {
  if (!api_) throw OrtError(ORT_FAIL, "ONNX Runtime is not loaded", kOrtNotLoaded);
  OrtEnv* env = Env();
  OptionsPtr so = BaseOptions(api_, opt);
  bool cudaRegistered = false;
  if (opt.provider == Provider::kCuda) {
    std::string reason = AppendCuda(api_, so.get(), opt.deviceId);
    if (reason.empty()) {
      cudaRegistered = true;
    } else if (opt.policy == ProviderPolicy::kRequire) {
      throw OrtError(ORT_EP_FAIL, "the CUDA execution provider is unavailable: " + reason, kProviderUnavailable);
    } else {
      fallbackReason_ = reason;
      so = BaseOptions(api_, opt);  // a failed append may leave the options half-changed
    }
  }
  OrtStatus* st = api_->CreateSessionFromArray(env, bytes, length, so.get(), &session_);
  if (st && cudaRegistered) {
    // CUDA registered but the session could not start on it (no device, driver mismatch...).
    std::string reason = std::string("CreateSession with CUDA: ") + api_->GetErrorMessage(st);
    if (opt.policy == ProviderPolicy::kRequire) {
      OrtErrorCode code = api_->GetErrorCode(st);
      api_->ReleaseStatus(st);
      throw OrtError(code, "the CUDA execution provider is unavailable: " + reason, kProviderUnavailable);
    }
    api_->ReleaseStatus(st);
    fallbackReason_ = reason;
    cudaRegistered = false;
    so = BaseOptions(api_, opt);
    st = api_->CreateSessionFromArray(env, bytes, length, so.get(), &session_);
  }
  Check(api_, st, kModelInvalid, "ONNX Runtime cannot load the model");
  providerInUse_ = cudaRegistered ? Provider::kCuda : Provider::kCpu;
  try {
    OrtAllocator* alloc = nullptr;
    Check(api_, api_->GetAllocatorWithDefaultOptions(&alloc), kInternal, "GetAllocatorWithDefaultOptions");
    inputs_ = ReadAllMeta(api_, session_, alloc, /*outputs=*/false);
    outputs_ = ReadAllMeta(api_, session_, alloc, /*outputs=*/true);
    Check(api_, api_->CreateCpuMemoryInfo(OrtDeviceAllocator, OrtMemTypeDefault, &cpuMemory_), kInternal,
          "CreateCpuMemoryInfo");
  } catch (...) {
    api_->ReleaseSession(session_);
    throw;
  }
}

Session::~Session() {
  if (cpuMemory_) api_->ReleaseMemoryInfo(cpuMemory_);
  if (session_) api_->ReleaseSession(session_);
}

void Session::Run(const float* data, int64_t batch, int64_t time, float* out, size_t outLength,
                  OrtRunOptions* runOptions, const std::atomic<bool>* timedOut) const {
  if (inputs_.empty() || outputs_.empty()) throw OrtError(ORT_INVALID_GRAPH, "the model has no input or no output", kRunFailed);
  const int64_t inShape[2] = {batch, time};
  std::vector<int64_t> outShape = outputs_[0].shape;
  if (outShape.empty()) throw OrtError(ORT_INVALID_GRAPH, "the model's output is a scalar", kRunFailed);
  outShape[0] = batch;
  size_t expected = 1;
  for (int64_t d : outShape) {
    if (d <= 0) throw OrtError(ORT_INVALID_GRAPH, "the model's output has a dynamic dimension besides the batch", kRunFailed);
    expected *= static_cast<size_t>(d);
  }
  if (expected != outLength) {
    throw OrtError(ORT_INVALID_ARGUMENT,
                   "output buffer holds " + std::to_string(outLength) + " floats, the model writes " + std::to_string(expected),
                   kShapeMismatch);
  }
  OrtValue* in = nullptr;
  OrtValue* outValue = nullptr;
  Check(api_, api_->CreateTensorWithDataAsOrtValue(cpuMemory_, const_cast<float*>(data),
                                                  static_cast<size_t>(batch * time) * sizeof(float), inShape, 2,
                                                  ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, &in),
        kRunFailed, "input tensor");
  if (OrtStatus* st = api_->CreateTensorWithDataAsOrtValue(cpuMemory_, out, outLength * sizeof(float), outShape.data(),
                                                           outShape.size(), ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, &outValue)) {
    api_->ReleaseValue(in);
    Check(api_, st, kRunFailed, "output tensor");
  }
  const char* inName = inputs_[0].name.c_str();
  const char* outName = outputs_[0].name.c_str();
  OrtStatus* st = api_->Run(session_, runOptions, &inName, &in, 1, &outName, 1, &outValue);
  api_->ReleaseValue(in);
  api_->ReleaseValue(outValue);
  if (st) {
    bool timeout = timedOut && timedOut->load();
    Check(api_, st, timeout ? kRunTimeout : kRunFailed, timeout ? "the run was cancelled at its deadline" : "the run failed");
  }
}

std::shared_ptr<Session> GetOrCreateSession(const std::string& sha256, const void* bytes, size_t length,
                                            const SessionOptions& options, bool* cacheHit) {
  static std::mutex* mutex = new std::mutex();
  static auto* cache = new std::map<std::string, std::weak_ptr<Session>>();
  std::lock_guard<std::mutex> lock(*mutex);
  const std::string key = sha256 + "|" + options.Key();
  auto it = cache->find(key);
  if (it != cache->end()) {
    if (auto live = it->second.lock()) {
      *cacheHit = true;
      return live;
    }
  }
  *cacheHit = false;
  auto created = std::make_shared<Session>(bytes, length, options);
  (*cache)[key] = created;
  // Drop expired entries so the map does not grow with every model ever loaded.
  for (auto e = cache->begin(); e != cache->end();) e = e->second.expired() ? cache->erase(e) : std::next(e);
  return created;
}

}  // namespace tg::ort
