#include "task_codec.h"

#include <cstdint>
#include <utility>

namespace switchyard::storage {
namespace {

void put_varint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void put_signed(int64_t v, std::string* out) {
  put_varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63), out);
}

void put_string(const std::string& s, std::string* out) {
  put_varint(s.size(), out);
  out->append(s);
}

void put_pairs(const std::vector<std::pair<std::string, std::string>>& pairs, std::string* out) {
  put_varint(pairs.size(), out);
  for (const auto& [k, v] : pairs) {
    put_string(k, out);
    put_string(v, out);
  }
}

// Reads fields in order; the first read past the end marks the record bad
// and every later read returns nothing.
class Reader {
 public:
  explicit Reader(std::string_view data) : p_(data.data()), end_(data.data() + data.size()) {}
  bool ok() const { return ok_; }
  bool at_end() const { return p_ == end_; }

  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && p_ < end_; shift += 7) {
      const auto byte = static_cast<uint8_t>(*p_++);
      v |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return v;
    }
    ok_ = false;
    return 0;
  }
  int64_t signed_varint() {
    const uint64_t v = varint();
    return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1));
  }
  void string(std::string* s) {
    const uint64_t n = varint();
    if (!ok_ || n > static_cast<uint64_t>(end_ - p_)) {
      ok_ = false;
      return;
    }
    s->assign(p_, n);
    p_ += n;
  }
  // A list's count, bounded by the bytes left (each item takes one at least).
  uint64_t count() {
    const uint64_t n = varint();
    if (n > static_cast<uint64_t>(end_ - p_)) ok_ = false;
    return ok_ ? n : 0;
  }
  void pairs(std::vector<std::pair<std::string, std::string>>* out) {
    const uint64_t n = count();
    out->resize(n);
    for (auto& [k, v] : *out) {
      string(&k);
      string(&v);
    }
  }

 private:
  const char* p_;
  const char* end_;
  bool ok_ = true;
};

}  // namespace

void append_binary_task(const core::DeliveryTask& t, std::string* out) {
  out->reserve(out->size() + 64 + t.body.size() + t.id.size() + t.event_id.size() + t.rule_arn.size());
  out->push_back(kTaskRecordV1);
  for (const std::string* s :
       {&t.id, &t.event_id, &t.bus, &t.rule, &t.rule_arn, &t.target, &t.destination, &t.body, &t.content_type})
    put_string(*s, out);
  put_varint(t.path_params.size(), out);
  for (const auto& p : t.path_params) put_string(p, out);
  put_pairs(t.headers, out);
  put_pairs(t.query, out);
  for (const std::string* s : {&t.trace_header, &t.request_id, &t.render_error, &t.render_error_code})
    put_string(*s, out);
  put_varint(t.retry.maximum_retry_attempts, out);
  put_varint(t.retry.maximum_event_age_seconds, out);
  put_varint(t.dead_letter ? 1 : 0, out);
  put_signed(t.ingested_ms, out);
  put_signed(t.age_from_ms, out);
  put_signed(t.due_ms, out);
  put_varint(t.attempts, out);
  put_signed(t.last_status, out);
  put_string(t.last_error, out);
  if (!t.group_key.empty()) {  // later fields: records without them read as before
    put_string(t.group_key, out);
    put_varint(t.group_position, out);
  }
}

core::Result<core::DeliveryTask> decode_binary_task(std::string_view data) {
  if (data.empty() || data[0] != kTaskRecordV1)
    return core::Status::corruption("a stored task has an unknown record version");
  Reader r(data.substr(1));
  core::DeliveryTask t;
  for (std::string* s :
       {&t.id, &t.event_id, &t.bus, &t.rule, &t.rule_arn, &t.target, &t.destination, &t.body, &t.content_type})
    r.string(s);
  t.path_params.resize(r.count());
  for (auto& p : t.path_params) r.string(&p);
  r.pairs(&t.headers);
  r.pairs(&t.query);
  for (std::string* s : {&t.trace_header, &t.request_id, &t.render_error, &t.render_error_code}) r.string(s);
  t.retry.maximum_retry_attempts = static_cast<uint32_t>(r.varint());
  t.retry.maximum_event_age_seconds = static_cast<uint32_t>(r.varint());
  t.dead_letter = r.varint() != 0;
  t.ingested_ms = r.signed_varint();
  t.age_from_ms = r.signed_varint();
  t.due_ms = r.signed_varint();
  t.attempts = static_cast<uint32_t>(r.varint());
  t.last_status = static_cast<int>(r.signed_varint());
  r.string(&t.last_error);
  if (r.ok() && !r.at_end()) {
    r.string(&t.group_key);
    t.group_position = r.varint();
  }
  if (!r.ok() || !r.at_end()) return core::Status::corruption("a stored task is cut short or has trailing bytes");
  return t;
}

}  // namespace switchyard::storage
