#pragma once

// A replay's stored record (its progress, kept in the store's small state
// and written in the same atomic write as each replayed chunk), and the
// replayed envelope. Every field round-trips (tests/bus/replay_record_test.cc).

#include <string>

#include "switchyard/bus/replay.h"
#include "switchyard/core/status.h"

namespace switchyard::bus {

std::string encode_replay(const ReplayStatus& s);
// kCorruption when `text` is not a replay record.
core::Result<ReplayStatus> decode_replay(const std::string& text);

// The replayed envelope: the stored one with "replay-name" inserted between
// region and resources, where EventBridge puts it. envelope_json() always
// writes those members in that order, and the marker cannot occur inside
// the (escaped) string values before it.
std::string with_replay_name(const std::string& envelope, const std::string& replay);

}  // namespace switchyard::bus
