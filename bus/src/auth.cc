#include "switchyard/bus/auth.h"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <map>

#include "switchyard/core/ascii.h"

namespace switchyard::bus {

using core::base64_decode;
using core::base64_encode;
using core::constant_time_equal;
using core::hmac_sha256;
using core::sha256_hex;
using core::to_hex;

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    const size_t at = s.find(sep, start);
    out.push_back(s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

bool parse_int(std::string_view s, int64_t* v) {
  s = trim(s);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

std::string verify_github(const WebhookVerify& v, const HeaderLookup& header, std::string_view body) {
  const std::string_view sig = trim(header("X-Hub-Signature-256"));
  if (sig.empty()) return "the X-Hub-Signature-256 header is missing";
  if (sig.substr(0, 7) != "sha256=") return "the X-Hub-Signature-256 header is not sha256=<hex>";
  if (!constant_time_equal(sig.substr(7), to_hex(hmac_sha256(v.secret, body))))
    return "the X-Hub-Signature-256 signature does not match";
  return "";
}

std::string verify_stripe(const WebhookVerify& v, const HeaderLookup& header, std::string_view body, int64_t now) {
  const std::string_view sig = header("Stripe-Signature");
  if (sig.empty()) return "the Stripe-Signature header is missing";
  int64_t t = -1;
  std::vector<std::string_view> v1;
  for (std::string_view part : split(sig, ',')) {
    part = trim(part);
    if (part.substr(0, 2) == "t=" && !parse_int(part.substr(2), &t))
      return "the Stripe-Signature timestamp is not a number";
    if (part.substr(0, 3) == "v1=") v1.push_back(part.substr(3));
  }
  if (t < 0 || v1.empty()) return "the Stripe-Signature header has no t= timestamp or no v1= signature";
  if (std::abs(now - t) > v.tolerance_seconds) return "the Stripe-Signature timestamp is outside the tolerance";
  const std::string expected = to_hex(hmac_sha256(v.secret, std::to_string(t) + "." + std::string(body)));
  bool ok = false;
  for (auto s : v1) ok |= constant_time_equal(s, expected);
  return ok ? "" : "no Stripe-Signature v1 signature matches";
}

std::string verify_standard(const WebhookVerify& v, const HeaderLookup& header, std::string_view body, int64_t now) {
  const std::string_view id = header("webhook-id");
  const std::string_view ts = header("webhook-timestamp");
  const std::string_view sig = header("webhook-signature");
  if (id.empty() || ts.empty() || sig.empty())
    return "the webhook-id, webhook-timestamp or webhook-signature header is missing";
  int64_t t;
  if (!parse_int(ts, &t)) return "the webhook-timestamp header is not a number";
  if (std::abs(now - t) > v.tolerance_seconds) return "the webhook-timestamp is outside the tolerance";
  std::string key;
  std::string_view secret = v.secret;
  if (secret.substr(0, 6) == "whsec_") secret.remove_prefix(6);
  if (!base64_decode(secret, &key)) return "the configured secret is not base64 (whsec_...)";
  const std::string expected =
      base64_encode(hmac_sha256(key, std::string(id) + "." + std::string(trim(ts)) + "." + std::string(body)));
  bool ok = false;
  for (auto part : split(sig, ' ')) {
    part = trim(part);
    if (part.substr(0, 3) == "v1,") ok |= constant_time_equal(part.substr(3), expected);
  }
  return ok ? "" : "no webhook-signature v1 signature matches";
}

std::string verify_hmac(const WebhookVerify& v, const HeaderLookup& header, std::string_view body) {
  std::string_view sig = trim(header(v.header));
  if (sig.empty()) return "the " + v.header + " header is missing";
  if (!v.prefix.empty()) {
    if (sig.substr(0, v.prefix.size()) != v.prefix)
      return "the " + v.header + " header does not start with " + v.prefix;
    sig.remove_prefix(v.prefix.size());
  }
  const std::string mac = hmac_sha256(v.secret, body);
  const std::string expected = v.encoding == "base64" ? base64_encode(mac) : to_hex(mac);
  return constant_time_equal(sig, expected) ? "" : "the " + v.header + " signature does not match";
}

}  // namespace

namespace {

std::string why_not(const WebhookVerify& v, const HeaderLookup& header, std::string_view body, int64_t now) {
  if (v.scheme == "github-sha256") return verify_github(v, header, body);
  if (v.scheme == "stripe") return verify_stripe(v, header, body, now);
  if (v.scheme == "standard-webhooks") return verify_standard(v, header, body, now);
  if (v.scheme == "hmac-sha256") return verify_hmac(v, header, body);
  return "unknown verification scheme";
}

}  // namespace

core::Status verify_webhook(const WebhookVerify& v, const HeaderLookup& header, std::string_view body, int64_t now) {
  std::string why = why_not(v, header, body, now);
  if (why.empty()) return core::Status::ok();
  return core::Status::unauthenticated(std::move(why));
}

bool bearer_allowed(std::string_view authorization, const std::vector<std::string>& tokens) {
  authorization = trim(authorization);
  if (authorization.size() < 7) return false;
  if (!core::iequals(authorization.substr(0, 7), "bearer ")) return false;
  const std::string_view token = trim(authorization.substr(7));
  bool ok = false;
  for (const auto& t : tokens) ok |= constant_time_equal(token, t);  // no early exit
  return ok;
}

namespace {

// AWS's URI encoding: unreserved characters kept, everything else %XX.
std::string uri_encode(std::string_view s, bool keep_slash) { return core::percent_encode(s, keep_slash); }

std::string canonical_query(std::string_view query) {
  if (query.empty()) return "";
  std::vector<std::pair<std::string, std::string>> params;
  for (auto part : split(query, '&')) {
    if (part.empty()) continue;
    const auto eq = part.find('=');
    params.emplace_back(std::string(part.substr(0, eq)),
                        eq == std::string_view::npos ? "" : std::string(part.substr(eq + 1)));
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += '&';
    out += k + "=" + v;
  }
  return out;
}

// Parses "AWS4-HMAC-SHA256 Credential=.../..., SignedHeaders=a;b, Signature=hex".
bool parse_authorization(std::string_view auth, std::map<std::string, std::string>* fields) {
  auth = trim(auth);
  constexpr std::string_view kAlgo = "AWS4-HMAC-SHA256 ";
  if (auth.substr(0, kAlgo.size()) != kAlgo) return false;
  for (auto part : split(auth.substr(kAlgo.size()), ',')) {
    part = trim(part);
    const auto eq = part.find('=');
    if (eq == std::string_view::npos) return false;
    (*fields)[std::string(part.substr(0, eq))] = std::string(part.substr(eq + 1));
  }
  return fields->count("Credential") && fields->count("SignedHeaders") && fields->count("Signature");
}

int64_t parse_amz_date(std::string_view d) {
  // 20250301T101530Z
  if (d.size() != 16 || d[8] != 'T' || d[15] != 'Z') return -1;
  std::tm tm{};
  const std::string s(d);
  if (!strptime(s.c_str(), "%Y%m%dT%H%M%SZ", &tm)) return -1;
  return static_cast<int64_t>(timegm(&tm));
}

}  // namespace

SigV4Result verify_sigv4(std::string_view method, std::string_view path, std::string_view query,
                         const HeaderLookup& header, std::string_view body, const std::vector<AccessKey>& keys,
                         int64_t now) {
  SigV4Result r;
  const std::string_view auth = header("Authorization");
  if (auth.empty()) return r;
  r.kind = SigV4Result::Kind::kInvalid;
  std::map<std::string, std::string> f;
  if (!parse_authorization(auth, &f)) {
    r.error_type = "IncompleteSignatureException";
    r.message = "The Authorization header is not an AWS Signature Version 4 header.";
    return r;
  }
  const auto scope = split(f["Credential"], '/');  // id/date/region/service/aws4_request
  if (scope.size() != 5 || scope[4] != "aws4_request") {
    r.error_type = "IncompleteSignatureException";
    r.message = "The Credential of the Authorization header is malformed.";
    return r;
  }
  const auto key = std::find_if(keys.begin(), keys.end(), [&](const AccessKey& k) { return k.id == scope[0]; });
  if (key == keys.end()) {
    r.error_type = "UnrecognizedClientException";
    r.message = "The security token included in the request is invalid.";
    return r;
  }
  const std::string_view amz_date = header("X-Amz-Date");
  const int64_t signed_at = parse_amz_date(trim(amz_date));
  if (signed_at < 0 || std::string_view(amz_date).substr(0, 8) != scope[1]) {
    r.error_type = "IncompleteSignatureException";
    r.message = "The X-Amz-Date header is missing or does not match the credential scope.";
    return r;
  }
  if (std::abs(now - signed_at) > 15 * 60) {
    r.error_type = "InvalidSignatureException";
    r.message = "Signature expired: the request was signed more than 15 minutes from the server's time.";
    return r;
  }
  std::string canonical =
      std::string(method) + "\n" + uri_encode(path.empty() ? "/" : path, true) + "\n" + canonical_query(query) + "\n";
  for (auto name : split(f["SignedHeaders"], ';')) {
    std::string value(trim(header(name)));
    // Sequential spaces in a value fold to one.
    std::string folded;
    for (char c : value)
      if (!(c == ' ' && !folded.empty() && folded.back() == ' ')) folded += c;
    canonical += std::string(name) + ":" + folded + "\n";
  }
  // The signature covers the body itself: the hash is always computed here,
  // and a client's X-Amz-Content-Sha256 must agree with it (a captured
  // request resent with another body and the old hash is refused).
  const std::string body_sha = sha256_hex(body);
  const std::string_view content_sha = trim(header("X-Amz-Content-Sha256"));
  if (!content_sha.empty() && !constant_time_equal(content_sha, body_sha)) {
    r.error_type = "InvalidSignatureException";
    r.message = "The provided 'x-amz-content-sha256' header does not match what was computed.";
    return r;
  }
  canonical += "\n" + f["SignedHeaders"] + "\n" + body_sha;
  const std::string scope_text =
      std::string(scope[1]) + "/" + std::string(scope[2]) + "/" + std::string(scope[3]) + "/aws4_request";
  const std::string to_sign =
      "AWS4-HMAC-SHA256\n" + std::string(trim(amz_date)) + "\n" + scope_text + "\n" + sha256_hex(canonical);
  std::string k = hmac_sha256("AWS4" + key->secret, scope[1]);
  k = hmac_sha256(k, scope[2]);
  k = hmac_sha256(k, scope[3]);
  k = hmac_sha256(k, "aws4_request");
  if (!constant_time_equal(to_hex(hmac_sha256(k, to_sign)), f["Signature"])) {
    r.error_type = "InvalidSignatureException";
    r.message = "The request signature we calculated does not match the signature you provided.";
    return r;
  }
  r.kind = SigV4Result::Kind::kValid;
  r.access_key_id = key->id;
  return r;
}

}  // namespace switchyard::bus
