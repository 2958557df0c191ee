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
    // An earlier renewal may have been stored while its answer was lost (a
    // leader election): the key then still holds this node's name, at a
    // later revision only this node can have written. Anything else (gone,
    // expired, another holder) means the lease is lost.
    auto current = js_.kv_get(options_.bucket, options_.key);
    if (current && current->value == options_.holder && current->revision > revision_)
      rev = js_.kv_update(options_.bucket, options_.key, options_.holder, current->revision);
  }
  if (rev.status().code() == core::Code::kFailedPrecondition || rev.status().code() == core::Code::kNotFound) {
    held_ = false;
    return core::Status::failed_precondition("lease " + options_.key + " was lost");
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
