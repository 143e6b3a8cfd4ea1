// SHA-256 through the OpenSSL that is already in the process (Node links it in and exports its
// symbols; a Node built against a shared libcrypto has it loaded). Found with dlsym at first use:
// no header, no link-time dependency, and no SHA-256 of our own. When the symbols are missing
// (an embedder without them), Available() is false and callers use node:crypto instead.
#pragma once
#include <cstddef>
#include <cstdint>

namespace tg::audit {

bool Sha256Available();

// out must hold 32 bytes. Requires Sha256Available().
bool Sha256(const uint8_t* data, size_t length, uint8_t* out);

}  // namespace tg::audit
