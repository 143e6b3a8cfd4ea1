// ONNX Runtime statuses as C++ exceptions that keep ORT's own error code, so the binding can
// hand it to JS (`err.ortCode`) next to our stable code.
#pragma once
#include <onnxruntime_c_api.h>

#include <stdexcept>
#include <string>

namespace tg::ort {

class OrtError : public std::runtime_error {
 public:
  OrtError(OrtErrorCode code, const std::string& message, const char* tgCode)
      : std::runtime_error(message), code_(code), tgCode_(tgCode) {}
  OrtErrorCode ortCode() const { return code_; }
  // The stable TG_* code the failure maps to (set by the operation that failed).
  const char* tgCode() const { return tgCode_; }

 private:
  OrtErrorCode code_;
  const char* tgCode_;
};

const char* OrtErrorCodeName(OrtErrorCode code);

// Throws OrtError(tgCode) when `status` is an error; releases the status either way.
void Check(const OrtApi* api, OrtStatus* status, const char* tgCode, const std::string& what);

}  // namespace tg::ort
