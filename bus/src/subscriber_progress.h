#pragma once

// What a subscriber keeps in the store's small state (SmallState meta):
//   subscriber/<bus>/<name>         its progress (Progress, JSON)
//   fifo/<bus>/<name>/<group>       a FIFO subscriber's group: "<state> <position>"
//                                   (busy, done, dead, released; the store
//                                   itself writes done/dead when the
//                                   group's delivery leaves the queue)

#include <cstdint>
#include <optional>
#include <string>

namespace switchyard::bus {

inline constexpr const char* kProgressPrefix = "subscriber/";
inline constexpr const char* kGroupPrefix = "fifo/";

struct Progress {
  // The next log position it reads (FIFO: the first it has not handed to
  // delivery yet; it may have read further).
  uint64_t position = 1;
  uint64_t live_from = 1;  // positions below it were published before the subscriber existed
  bool running = true;
  bool ended = false;  // read past its end point
  uint64_t delivered = 0;
  int64_t created_ms = 0;
};

std::string progress_key(const std::string& bus, const std::string& name);
// fifo/<bus>/<name>/: every group key of the subscriber starts with it.
std::string group_prefix(const std::string& bus, const std::string& name);
std::string encode_progress(const Progress& p);
std::optional<Progress> decode_progress(const std::string& text);

struct GroupRecord {
  std::string state;  // busy | done | dead | released
  uint64_t position = 0;
};
std::string encode_group(const GroupRecord& g);
std::optional<GroupRecord> decode_group(const std::string& text);

}  // namespace switchyard::bus
