#include "switchyard/storage/jetstream.h"

#include <chrono>
#include <cstring>
#include <map>
#include <thread>
#include <utility>

#include "jetstream_handles.h"

namespace switchyard::storage::jetstream {

using core::Status;

Status failure(const std::string& what, natsStatus s, jsErrCode jerr) {
  std::string message = what + ": " + natsStatus_GetText(s);
  if (jerr != 0) message += " (JetStream error " + std::to_string(static_cast<int>(jerr)) + ")";
  if (jerr == JSStreamNotFoundErr) return Status::not_found(message);
  // What a cluster answers while it forms or elects (the meta leader does
  // not know every server yet, no leader): the same request succeeds later.
  if (jerr == JSClusterIncompleteErr || jerr == JSClusterNoPeersErr || jerr == JSClusterNotAvailErr ||
      jerr == JSClusterNotLeaderErr)
    return Status::unavailable(message);
  if (s == NATS_TIMEOUT || s == NATS_NO_RESPONDERS || s == NATS_CONNECTION_CLOSED || s == NATS_NO_SERVER ||
      s == NATS_CONNECTION_DISCONNECTED)
    return Status::unavailable(message);
  return Status::internal(message);
}

// kvStore_Create and kvStore_Update answer NATS_ERR for every error
// JetStream returns; only "wrong last sequence" (10071) says the key moved.
// Anything else (no leader yet, a catch-up in progress) is a failure to
// try again, never a verdict on who holds the key.
bool key_moved(natsStatus s) {
  if (s != NATS_ERR) return false;
  const char* text = nats_GetLastError(nullptr);
  return text != nullptr && std::strstr(text, "wrong last sequence") != nullptr;
}

Status kv_failure(const std::string& what, natsStatus s) {
  if (s != NATS_ERR) return failure(what, s);
  const char* text = nats_GetLastError(nullptr);
  return Status::unavailable(what + ": " + (text != nullptr ? text : natsStatus_GetText(s)));
}

bool retryable(natsStatus s) {
  return s == NATS_TIMEOUT || s == NATS_NO_RESPONDERS || s == NATS_CONNECTION_DISCONNECTED ||
         s == NATS_NOT_YET_CONNECTED || s == NATS_CONNECTION_CLOSED;
}

JetStream::JetStream(std::unique_ptr<Handles> h) : h_(std::move(h)) {}
JetStream::~JetStream() = default;

core::Result<std::unique_ptr<JetStream>> JetStream::connect(const ConnectOptions& o) {
  if (o.urls.empty()) return Status::invalid_argument("no NATS server URL is configured");
  natsOptions* opts = nullptr;
  if (natsStatus s = natsOptions_Create(&opts); s != NATS_OK) return failure("cannot set up a NATS connection", s);
  std::vector<const char*> servers;
  for (const auto& u : o.urls) servers.push_back(u.c_str());
  natsOptions_SetServers(opts, servers.data(), static_cast<int>(servers.size()));
  if (!o.user.empty()) natsOptions_SetUserInfo(opts, o.user.c_str(), o.password.c_str());
  if (!o.token.empty()) natsOptions_SetToken(opts, o.token.c_str());
  if (!o.name.empty()) natsOptions_SetName(opts, o.name.c_str());
  natsOptions_SetTimeout(opts, o.timeout_ms);
  natsOptions_SetMaxReconnect(opts, -1);  // a cluster node reconnects for as long as it runs
  natsOptions_SetReconnectWait(opts, 250);
  // A request sent before a disconnect fails at once instead of waiting in
  // the reconnect buffer to be flushed later.
  natsOptions_SetFailRequestsOnDisconnect(opts, true);
  auto h = std::make_unique<Handles>();
  h->timeout_ms = o.timeout_ms;
  const natsStatus s = natsConnection_Connect(&h->nc, opts);
  natsOptions_Destroy(opts);
  if (s != NATS_OK) return Status::unavailable(std::string("cannot connect to NATS: ") + natsStatus_GetText(s));
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = o.timeout_ms;
  if (natsStatus js = natsConnection_JetStream(&h->js, h->nc, &jo); js != NATS_OK)
    return failure("cannot open JetStream", js);
  return std::unique_ptr<JetStream>(new JetStream(std::move(h)));
}

Status JetStream::ensure_stream(const StreamSpec& spec, bool update) {
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  std::vector<const char*> subjects;
  for (const auto& s : spec.subjects) subjects.push_back(s.c_str());
  cfg.Name = spec.name.c_str();
  cfg.Subjects = subjects.data();
  cfg.SubjectsLen = static_cast<int>(subjects.size());
  cfg.Replicas = spec.replicas;
  cfg.Retention = spec.work_queue ? js_WorkQueuePolicy : js_LimitsPolicy;
  cfg.Storage = js_FileStorage;
  cfg.MaxBytes = spec.max_bytes;
  cfg.Discard = js_DiscardNew;
  cfg.MaxAge = spec.max_age_ms * kNanosPerMs;
  cfg.Duplicates = spec.duplicates_ms * kNanosPerMs;
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_AddStream(&si, h_->js, &cfg, nullptr, &jerr);
  if (s != NATS_OK && jerr == JSStreamNameExistErr) {
    if (!update) return Status::ok();
    s = js_UpdateStream(&si, h_->js, &cfg, nullptr, &jerr);
  }
  jsStreamInfo_Destroy(si);
  if (s != NATS_OK) return failure("cannot create stream " + spec.name, s, jerr);
  return Status::ok();
}

core::Result<uint64_t> JetStream::stream_messages(const std::string& stream) {
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  if (natsStatus s = js_GetStreamInfo(&si, h_->js, stream.c_str(), nullptr, &jerr); s != NATS_OK)
    return failure("cannot read stream " + stream, s, jerr);
  const uint64_t n = si->State.Msgs;
  jsStreamInfo_Destroy(si);
  return n;
}

core::Result<StreamState> JetStream::stream_state(const std::string& stream) {
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  if (natsStatus s = js_GetStreamInfo(&si, h_->js, stream.c_str(), nullptr, &jerr); s != NATS_OK)
    return failure("cannot read stream " + stream, s, jerr);
  const StreamState state{.messages = si->State.Msgs,
                          .bytes = si->State.Bytes,
                          .max_age_ms = si->Config != nullptr ? si->Config->MaxAge / kNanosPerMs : 0,
                          .first_sequence = si->State.FirstSeq,
                          .last_sequence = si->State.LastSeq};
  jsStreamInfo_Destroy(si);
  return state;
}

core::Result<bool> JetStream::stream_exists(const std::string& stream) {
  auto size = stream_state(stream);
  if (size) return true;
  if (size.status().code() == core::Code::kNotFound) return false;
  return size.status();
}

core::Result<std::string> JetStream::stream_leader(const std::string& stream) {
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  if (natsStatus s = js_GetStreamInfo(&si, h_->js, stream.c_str(), nullptr, &jerr); s != NATS_OK)
    return failure("cannot read stream " + stream, s, jerr);
  std::string leader = si->Cluster != nullptr && si->Cluster->Leader != nullptr ? si->Cluster->Leader : "";
  jsStreamInfo_Destroy(si);
  if (leader.empty()) return Status::unavailable("stream " + stream + " has no leader now");
  return leader;
}

core::Result<Published> JetStream::publish(const std::string& subject, std::string_view data, const std::string& msg_id,
                                           int64_t timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  constexpr auto kResend = std::chrono::milliseconds(250);
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = msg_id.c_str();
    po.MaxWait = std::max<int64_t>(1, std::min<int64_t>(left, 2000));
    jsPubAck* ack = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    const natsStatus s =
        js_Publish(&ack, h_->js, subject.c_str(), data.data(), static_cast<int>(data.size()), &po, &jerr);
    if (s == NATS_OK) {
      Published p{ack->Sequence, ack->Duplicate};
      jsPubAck_Destroy(ack);
      return p;
    }
    if (!retryable(s)) {
      if (jerr == JSStreamStoreFailedErr || jerr == JSStreamMessageExceedsMaximumErr)
        return Status::resource_exhausted("stream refused the message on " + subject + ": " + natsStatus_GetText(s));
      return Status::failed_precondition("stream refused the message on " + subject + ": " + natsStatus_GetText(s) +
                                         " (JetStream error " + std::to_string(static_cast<int>(jerr)) + ")");
    }
    if (std::chrono::steady_clock::now() + kResend >= deadline)
      return Status::unavailable("no acknowledgement from JetStream for " + subject + " within " +
                                 std::to_string(timeout_ms) + " ms: " + natsStatus_GetText(s));
    std::this_thread::sleep_for(kResend);
  }
}

Status JetStream::ensure_bucket(const std::string& bucket, int replicas, int64_t ttl_ms, int history) {
  kvConfig cfg;
  kvConfig_Init(&cfg);
  cfg.Bucket = bucket.c_str();
  cfg.Replicas = replicas;
  cfg.TTL = ttl_ms * kNanosPerMs;  // nats.c takes nanoseconds here
  cfg.History = static_cast<uint8_t>(history);
  kvStore* kv = nullptr;
  natsStatus s = js_CreateKeyValue(&kv, h_->js, &cfg);
  if (s != NATS_OK) s = js_KeyValue(&kv, h_->js, bucket.c_str());  // it exists already
  if (s != NATS_OK) return failure("cannot create key-value bucket " + bucket, s);
  core::MutexLock lock(h_->mu);
  if (auto [it, added] = h_->buckets.emplace(bucket, kv); !added) kvStore_Destroy(kv);
  return Status::ok();
}

core::Result<uint64_t> JetStream::kv_create(const std::string& bucket, const std::string& key, std::string_view value) {
  auto kv = h_->bucket(bucket);
  if (!kv) return kv.status();
  uint64_t rev = 0;
  const natsStatus s = kvStore_Create(&rev, *kv, key.c_str(), value.data(), static_cast<int>(value.size()));
  if (s == NATS_OK) return rev;
  if (key_moved(s)) return Status::failed_precondition(bucket + "/" + key + " exists");
  return kv_failure("cannot create " + bucket + "/" + key, s);
}

core::Result<uint64_t> JetStream::kv_update(const std::string& bucket, const std::string& key, std::string_view value,
                                            uint64_t last_revision) {
  auto kv = h_->bucket(bucket);
  if (!kv) return kv.status();
  uint64_t rev = 0;
  const natsStatus s =
      kvStore_Update(&rev, *kv, key.c_str(), value.data(), static_cast<int>(value.size()), last_revision);
  if (s == NATS_OK) return rev;
  if (key_moved(s))
    return Status::failed_precondition(bucket + "/" + key + " is no longer at revision " +
                                       std::to_string(last_revision));
  return kv_failure("cannot update " + bucket + "/" + key, s);
}

core::Result<KvEntry> JetStream::kv_get(const std::string& bucket, const std::string& key) {
  auto kv = h_->bucket(bucket);
  if (!kv) return kv.status();
  kvEntry* e = nullptr;
  const natsStatus s = kvStore_Get(&e, *kv, key.c_str());
  if (s == NATS_NOT_FOUND) return Status::not_found(bucket + "/" + key + " has no value");
  if (s != NATS_OK) return failure("cannot read " + bucket + "/" + key, s);
  KvEntry out{std::string(static_cast<const char*>(kvEntry_Value(e)), static_cast<size_t>(kvEntry_ValueLen(e))),
              kvEntry_Revision(e)};
  kvEntry_Destroy(e);
  return out;
}

core::Result<KvEntry> JetStream::kv_get_from_leader(const std::string& bucket, const std::string& key) {
  const std::string stream = "KV_" + bucket;
  const std::string subject = "$KV." + bucket + "." + key;
  natsMsg* msg = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  const natsStatus s = js_GetLastMsg(&msg, h_->js, stream.c_str(), subject.c_str(), nullptr, &jerr);
  if (s == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr)
    return Status::not_found(bucket + "/" + key + " has no value");
  if (s != NATS_OK) return failure("cannot read " + bucket + "/" + key + " from the stream leader", s, jerr);
  const char* op = nullptr;
  const bool removed = natsMsgHeader_Get(msg, "KV-Operation", &op) == NATS_OK && op != nullptr &&
                       (std::strcmp(op, "DEL") == 0 || std::strcmp(op, "PURGE") == 0);
  KvEntry out{std::string(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg))),
              natsMsg_GetSequence(msg)};
  natsMsg_Destroy(msg);
  if (removed) return Status::not_found(bucket + "/" + key + " has no value");
  return out;
}

core::Result<uint64_t> JetStream::kv_put(const std::string& bucket, const std::string& key, std::string_view value) {
  auto kv = h_->bucket(bucket);
  if (!kv) return kv.status();
  uint64_t rev = 0;
  if (natsStatus s = kvStore_Put(&rev, *kv, key.c_str(), value.data(), static_cast<int>(value.size())); s != NATS_OK)
    return failure("cannot write " + bucket + "/" + key, s);
  return rev;
}

Status JetStream::kv_delete(const std::string& bucket, const std::string& key) {
  auto kv = h_->bucket(bucket);
  if (!kv) return kv.status();
  if (natsStatus s = kvStore_Delete(*kv, key.c_str()); s != NATS_OK)
    return failure("cannot delete " + bucket + "/" + key, s);
  return Status::ok();
}

}  // namespace switchyard::storage::jetstream
