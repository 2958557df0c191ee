// Fuzz target: signature checks on attacker-controlled headers and bodies:
// every webhook scheme and AWS Signature Version 4. The input is split at
// NUL bytes into header values and the body. A forged input never passes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/bus/auth.h"

namespace bus = switchyard::bus;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> parts(1);
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == 0 && parts.size() < 6)
      parts.emplace_back();
    else
      parts.back() += static_cast<char>(data[i]);
  }
  parts.resize(6);
  const std::string& body = parts[5];
  auto header = [&](std::string_view name) -> std::string_view {
    if (name == "X-Hub-Signature-256" || name == "Stripe-Signature" || name == "webhook-signature" ||
        name == "X-Signature" || name == "Authorization")
      return parts[0];
    if (name == "webhook-id" || name == "X-Amz-Date") return parts[1];
    if (name == "webhook-timestamp" || name == "X-Amz-Content-Sha256") return parts[2];
    if (name == "Host") return parts[3];
    return parts[4];
  };
  for (const char* scheme : {"github-sha256", "stripe", "standard-webhooks", "hmac-sha256"}) {
    bus::WebhookVerify v;
    v.scheme = scheme;
    v.secret = std::string(scheme) == "standard-webhooks" ? "whsec_c2VjcmV0LWtleS1mb3ItZnV6emluZw==" : "s3cret";
    v.header = "X-Signature";
    v.prefix = "sha256=";
    v.encoding = body.size() % 2 ? "base64" : "hex";
    if (bus::verify_webhook(v, header, body, 1767225600)) __builtin_trap();  // forged: never valid
  }
  const std::vector<bus::AccessKey> keys{{"AKIDFUZZ", "fuzz-secret"}};
  const auto r = bus::verify_sigv4("POST", "/", parts[4], header, body, keys, 1767225600);
  if (r.kind == bus::SigV4Result::Kind::kValid) __builtin_trap();
  if (r.kind == bus::SigV4Result::Kind::kInvalid && r.message.empty()) __builtin_trap();
  return 0;
}
