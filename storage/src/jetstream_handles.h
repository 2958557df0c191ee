#pragma once

// What jetstream.cc and jetstream_consumer.cc share: nats.c's handles and
// how a nats.c failure becomes a Status.

#include <nats/nats.h>

#include <map>
#include <string>

#include "switchyard/core/mutex.h"
#include "switchyard/core/status.h"
#include "switchyard/storage/jetstream.h"

namespace switchyard::storage::jetstream {

inline constexpr int64_t kNanosPerMs = 1000000;

// What failed, with nats.c's words for it (they never hold a credential).
core::Status failure(const std::string& what, natsStatus s, jsErrCode jerr = static_cast<jsErrCode>(0));
bool retryable(natsStatus s);

struct JetStream::Handles {
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  int64_t timeout_ms = 2000;  // ConnectOptions::timeout_ms: every request, and listing a bucket's keys
  core::Mutex mu;
  std::map<std::string, kvStore*> buckets SY_GUARDED_BY(mu);

  ~Handles() {
    {
      core::MutexLock lock(mu);
      for (auto& [name, kv] : buckets) kvStore_Destroy(kv);
    }
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
  }

  core::Result<kvStore*> bucket(const std::string& name) {
    core::MutexLock lock(mu);
    if (auto it = buckets.find(name); it != buckets.end()) return it->second;
    kvStore* kv = nullptr;
    if (natsStatus s = js_KeyValue(&kv, js, name.c_str()); s != NATS_OK)
      return failure("cannot open key-value bucket " + name, s);
    buckets[name] = kv;
    return kv;
  }
};

}  // namespace switchyard::storage::jetstream
