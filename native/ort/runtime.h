// The ONNX Runtime library, opened at run time from a path the JS loader resolves (the copy that
// onnxruntime-node ships, or ORT_LIB_DIR). Opening it at run time rather than linking it keeps
// one addon binary usable with a CPU or a GPU build of the same library, and lets the loader
// say exactly which file failed. The library and its OrtApi are process-wide (ONNX Runtime allows
// one environment per process), so this state is a guarded singleton, not per-addon-instance.
#pragma once
#include <onnxruntime_c_api.h>

#include <string>
#include <vector>

namespace tg::ort {

struct RuntimeInfo {
  std::string path;
  std::string version;
  unsigned apiVersion = 0;
  std::vector<std::string> providers;
};

// Loads the library at `path` once. Throws std::runtime_error whose message starts with one of
// "load:", "api:", "already:" (mapped to stable JS codes by the binding).
RuntimeInfo Load(const std::string& path);

// The loaded runtime, or nullptr.
const OrtApi* Api();
// The process's one OrtEnv, created on first use (throws std::runtime_error "load:" when the
// runtime is not loaded or the environment cannot be created).
OrtEnv* Env();
bool Loaded(RuntimeInfo* info);

}  // namespace tg::ort
