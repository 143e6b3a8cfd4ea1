#include "runtime.h"

#include <dlfcn.h>

#include <mutex>
#include <stdexcept>

namespace tg::ort {
namespace {

std::mutex gMutex;
const OrtApi* gApi = nullptr;
OrtEnv* gEnv = nullptr;  // never released: sessions may be alive until process exit
RuntimeInfo gInfo;

std::vector<std::string> Providers(const OrtApi* api) {
  std::vector<std::string> out;
  char** names = nullptr;
  int count = 0;
  if (OrtStatus* st = api->GetAvailableProviders(&names, &count)) {
    std::string msg = api->GetErrorMessage(st);
    api->ReleaseStatus(st);
    throw std::runtime_error("api: GetAvailableProviders failed: " + msg);
  }
  for (int i = 0; i < count; ++i) out.emplace_back(names[i]);
  if (OrtStatus* st = api->ReleaseAvailableProviders(names, count)) api->ReleaseStatus(st);
  return out;
}

}  // namespace

RuntimeInfo Load(const std::string& path) {
  std::lock_guard<std::mutex> lock(gMutex);
  if (gApi) {
    if (path != gInfo.path) {
      throw std::runtime_error("already: ONNX Runtime is already loaded from " + gInfo.path +
                               "; a process can use only one copy");
    }
    return gInfo;
  }
  // RTLD_LOCAL keeps its symbols to itself; the handle is never closed (sessions may outlive
  // any single addon instance, and unloading ONNX Runtime is not supported by it).
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* err = dlerror();
    throw std::runtime_error(std::string("load: cannot open ") + path + ": " + (err ? err : "unknown error"));
  }
  using GetApiBaseFn = const OrtApiBase* (*)();
  auto getApiBase = reinterpret_cast<GetApiBaseFn>(dlsym(handle, "OrtGetApiBase"));
  if (!getApiBase) {
    dlclose(handle);
    throw std::runtime_error("load: " + path + " does not export OrtGetApiBase: not an ONNX Runtime library");
  }
  const OrtApiBase* base = getApiBase();
  const char* version = base->GetVersionString();
  const OrtApi* api = base->GetApi(ORT_API_VERSION);
  if (!api) {
    dlclose(handle);
    throw std::runtime_error(std::string("api: ") + path + " is ONNX Runtime " + (version ? version : "?") +
                             ", older than the C API version " + std::to_string(ORT_API_VERSION) +
                             " this addon was built against");
  }
  RuntimeInfo info;
  info.path = path;
  info.version = version ? version : "";
  info.apiVersion = ORT_API_VERSION;
  info.providers = Providers(api);
  gApi = api;
  gInfo = info;
  return info;
}

const OrtApi* Api() {
  std::lock_guard<std::mutex> lock(gMutex);
  return gApi;
}

OrtEnv* Env() {
  std::lock_guard<std::mutex> lock(gMutex);
  if (!gApi) throw std::runtime_error("notloaded: ONNX Runtime is not loaded");
  if (!gEnv) {
    if (OrtStatus* st = gApi->CreateEnv(ORT_LOGGING_LEVEL_ERROR, "tirex-guardian", &gEnv)) {
      std::string msg = gApi->GetErrorMessage(st);
      gApi->ReleaseStatus(st);
      throw std::runtime_error("load: cannot create the ONNX Runtime environment: " + msg);
    }
  }
  return gEnv;
}

bool Loaded(RuntimeInfo* info) {
  std::lock_guard<std::mutex> lock(gMutex);
  if (gApi && info) *info = gInfo;
  return gApi != nullptr;
}

}  // namespace tg::ort
