#include "status.h"

namespace tg::ort {

const char* OrtErrorCodeName(OrtErrorCode code) {
  switch (code) {
    case ORT_OK: return "ORT_OK";
    case ORT_FAIL: return "ORT_FAIL";
    case ORT_INVALID_ARGUMENT: return "ORT_INVALID_ARGUMENT";
    case ORT_NO_SUCHFILE: return "ORT_NO_SUCHFILE";
    case ORT_NO_MODEL: return "ORT_NO_MODEL";
    case ORT_ENGINE_ERROR: return "ORT_ENGINE_ERROR";
    case ORT_RUNTIME_EXCEPTION: return "ORT_RUNTIME_EXCEPTION";
    case ORT_INVALID_PROTOBUF: return "ORT_INVALID_PROTOBUF";
    case ORT_MODEL_LOADED: return "ORT_MODEL_LOADED";
    case ORT_NOT_IMPLEMENTED: return "ORT_NOT_IMPLEMENTED";
    case ORT_INVALID_GRAPH: return "ORT_INVALID_GRAPH";
    case ORT_EP_FAIL: return "ORT_EP_FAIL";
  }
  return "ORT_UNKNOWN";
}

void Check(const OrtApi* api, OrtStatus* status, const char* tgCode, const std::string& what) {
  if (!status) return;
  OrtErrorCode code = api->GetErrorCode(status);
  std::string message = what + ": " + api->GetErrorMessage(status);
  api->ReleaseStatus(status);
  throw OrtError(code, message, tgCode);
}

}  // namespace tg::ort
