#include "switchyard/cluster/lease.h"

#include <utility>

namespace switchyard::cluster {

Lease::Lease(storage::jetstream::JetStream& js, LeaseOptions options, core::Clock& clock)
    : js_(js), options_(std::move(options)), clock_(clock) {}

core::Result<bool> Lease::try_acquire() {
  if (held_) return true;
  const int64_t sent = clock_.mono_ms();
  auto rev = js_.kv_create(options_.bucket, options_.key, options_.holder);
  if (rev.status().code() == core::Code::kFailedPrecondition) return false;  // somebody holds it
  if (!rev) return rev.status();
  held_ = true;
  epoch_ = revision_ = *rev;
  renewed_at_ms_ = sent;
  return true;
}

core::Status Lease::renew() {
  if (!held_) return core::Status::failed_precondition("lease " + options_.key + " is not held");
  const int64_t sent = clock_.mono_ms();
  auto rev = js_.kv_update(options_.bucket, options_.key, options_.holder, revision_);
  if (rev.status().code() == core::Code::kFailedPrecondition) {
    // The key moved since this node's last acknowledged renewal. Only the
    // stream leader's copy decides (a follower may be behind). If it still
    // holds this node's name, nobody else can have taken the lease since
    // (a create needs the key empty, and this node's updates name the
    // revision they replace): an earlier renewal was stored while its answer
    // was lost, or the acknowledged revision was not the stored one (a
    // leader election). Another holder, or no value, means the lease is
    // lost; no answer is tried again at the next renewal while the fence
    // runs out.
    auto current = js_.kv_get_from_leader(options_.bucket, options_.key);
    if (!current && current.status().code() != core::Code::kNotFound) return current.status();
    if (current && current->value == options_.holder)
      rev = js_.kv_update(options_.bucket, options_.key, options_.holder, current->revision);
  }
  if (rev.status().code() == core::Code::kFailedPrecondition || rev.status().code() == core::Code::kNotFound) {
    held_ = false;
    return core::Status::failed_precondition("lease " + options_.key + " was lost: " + rev.status().message());
  }
  if (!rev) return rev.status();
  revision_ = *rev;
  renewed_at_ms_ = sent;
  return core::Status::ok();
}

core::Status Lease::release() {
  if (!held_) return core::Status::ok();
  held_ = false;
  return js_.kv_delete(options_.bucket, options_.key);
}

bool Lease::may_act() const { return held_ && clock_.mono_ms() < fence_at_ms(); }

}  // namespace switchyard::cluster
