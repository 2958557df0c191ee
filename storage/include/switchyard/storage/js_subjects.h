#pragma once

// Where cluster mode keeps things in JetStream (../shared/spec/cluster.md
// §3.1, §3.4): the subject token of a name, the subjects of the event,
// work, retry, dead-letter and archive streams, and the partition a
// destination belongs to. Pure functions: every node must compute the same.

#include <cstdint>
#include <string>
#include <string_view>

namespace switchyard::storage::jetstream {

// A name as one subject token: itself when it is made of [A-Za-z0-9_-] only
// (and not empty), else every other byte turned into '_' plus '-' and the
// first 8 hex digits of its SHA-256, so that distinct names stay distinct
// ("a.b" and "a_b" differ). Bus names hold '/', destination and archive
// names '.', which NATS reads as separators.
std::string subject_token(std::string_view name);

std::string event_subject(std::string_view event_id);           // sy.ev.<tok>: one accepted event
std::string work_subject(std::string_view destination);         // sy.wk.<tok>
std::string retry_subject(std::string_view destination);        // sy.rt.<tok>
std::string dead_letter_subject(std::string_view destination);  // sy.dlq.<tok>
// sy.ar.<tok>.<YYYYMMDDHH of the event's time, UTC>: replays walk the hours.
std::string archive_subject(std::string_view archive, int64_t event_time_s);

std::string log_subject(std::string_view bus);  // sy.log.<tok>: a bus's log (its own stream)

// FNV-1a (64 bits) of the destination's name modulo `partitions` (> 0).
uint32_t partition_of(std::string_view destination, uint32_t partitions);

}  // namespace switchyard::storage::jetstream
