#pragma once

// Who may put events: webhook signature schemes, bearer tokens and AWS
// Signature Version 4. Pure functions over headers and body; every
// comparison of secrets is constant-time, and no message contains a secret.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/bus/settings.h"
#include "switchyard/core/crypto.h"
#include "switchyard/core/status.h"

namespace switchyard::bus {

using HeaderLookup = std::function<std::string_view(std::string_view name)>;

// OK when the request carries a valid signature, else kUnauthenticated
// saying why not (never with the secret).
core::Status verify_webhook(const WebhookVerify& verify, const HeaderLookup& header, std::string_view body,
                            int64_t now_seconds);

// Returns true when `authorization` is "Bearer <t>" for one of `tokens`.
bool bearer_allowed(std::string_view authorization, const std::vector<std::string>& tokens);

// The outcome of checking a request's SigV4 signature.
struct SigV4Result {
  enum class Kind { kUnsigned, kValid, kInvalid } kind = Kind::kUnsigned;
  std::string access_key_id;  // kValid
  std::string error_type;     // kInvalid: the AWS error __type
  std::string message;        // kInvalid
};

// Verifies an AWS Signature Version 4 Authorization header against the
// known keys. `path` and `query` are the request target's parts.
SigV4Result verify_sigv4(std::string_view method, std::string_view path, std::string_view query,
                         const HeaderLookup& header, std::string_view body, const std::vector<AccessKey>& keys,
                         int64_t now_seconds);

// The building blocks live in core.
using core::base64_decode;
using core::base64_encode;
using core::constant_time_equal;
using core::hmac_sha256;
using core::sha256_hex;
using core::to_hex;

}  // namespace switchyard::bus
