#include "switchyard/storage/js_subjects.h"

#include <ctime>

#include "switchyard/core/crypto.h"

namespace switchyard::storage::jetstream {
namespace {

bool token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

}  // namespace

std::string subject_token(std::string_view name) {
  bool plain = !name.empty();
  for (const char c : name) plain = plain && token_char(c);
  if (plain) return std::string(name);
  std::string out;
  out.reserve(name.size() + 9);
  for (const char c : name) out += token_char(c) ? c : '_';
  out += '-';
  out += core::sha256_hex(name).substr(0, 8);
  return out;
}

std::string event_subject(std::string_view event_id) { return "sy.ev." + subject_token(event_id); }
std::string work_subject(std::string_view destination) { return "sy.wk." + subject_token(destination); }
std::string retry_subject(std::string_view destination) { return "sy.rt." + subject_token(destination); }
std::string dead_letter_subject(std::string_view destination) { return "sy.dlq." + subject_token(destination); }

std::string archive_subject(std::string_view archive, int64_t event_time_s) {
  const std::time_t t = static_cast<std::time_t>(event_time_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char hour[16];
  std::strftime(hour, sizeof hour, "%Y%m%d%H", &tm);
  return "sy.ar." + subject_token(archive) + "." + hour;
}

std::string log_subject(std::string_view bus) { return "sy.log." + subject_token(bus); }

uint32_t partition_of(std::string_view destination, uint32_t partitions) {
  uint64_t h = 14695981039346656037ull;  // FNV-1a offset basis
  for (const char c : destination) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;  // FNV prime
  }
  return static_cast<uint32_t>(h % (partitions == 0 ? 1 : partitions));
}

}  // namespace switchyard::storage::jetstream
