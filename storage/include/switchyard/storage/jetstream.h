#pragma once

// A small C++ face on NATS JetStream (libnats 3.4, Debian's), for cluster
// mode's store: one connection, streams, publishes acknowledged by a quorum
// and key-value buckets with compare-and-set. Everything answers a Status;
// nothing of a credential reaches a message. Thread-safe as nats.c is:
// one JetStream may be used from several threads.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/core/status.h"

namespace switchyard::storage::jetstream {

struct ConnectOptions {
  std::vector<std::string> urls{};  // nats://host:port, tried in turn
  std::string user{};               // optional, with password
  std::string password{};
  std::string token{};        // optional
  std::string name{};         // the connection's name (the node id)
  int64_t timeout_ms = 2000;  // connecting, and each JetStream API request
};

struct StreamSpec {
  std::string name{};
  std::vector<std::string> subjects{};
  int replicas = 3;
  bool work_queue = false;         // else limits retention
  int64_t max_bytes = -1;          // with discard-new: a full stream refuses publishes
  int64_t max_age_ms = 0;          // 0: kept until removed
  int64_t duplicates_ms = 120000;  // how long a Nats-Msg-Id is remembered
};

struct StreamState {
  uint64_t messages = 0;
  uint64_t bytes = 0;
  int64_t max_age_ms = 0;
  uint64_t first_sequence = 0;  // of the oldest message held (last + 1 when it holds none)
  uint64_t last_sequence = 0;   // of the newest message ever stored (0: none yet)
};

struct Published {
  uint64_t sequence = 0;
  bool duplicate = false;  // the Msg-Id was stored before: this publish stored nothing
};

struct KvEntry {
  std::string value;
  uint64_t revision = 0;
};

// A durable pull consumer with explicit acks (cluster.md §3.1).
struct ConsumerSpec {
  std::string stream{};
  std::string durable{};
  std::string filter_subject{};
  int replicas = 3;
  int64_t ack_wait_ms = 15000;  // an unacknowledged message comes back after this
  int64_t max_ack_pending = 10000;
};

// A message fetched from a consumer. Acknowledging it (or not) is its
// holder's: a message dropped unacknowledged is delivered again after the
// consumer's ack wait. Move-only; any thread may acknowledge it.
class Message {
 public:
  Message() = default;
  explicit Message(void* msg);  // takes a natsMsg*
  Message(Message&& other) noexcept;
  Message& operator=(Message&& other) noexcept;
  ~Message();

  std::string_view data() const;
  std::string subject() const;
  uint64_t stream_sequence() const { return stream_sequence_; }
  uint64_t num_delivered() const { return num_delivered_; }  // 1 the first time
  uint64_t num_pending() const { return num_pending_; }      // messages the consumer has after this one
  explicit operator bool() const { return msg_ != nullptr; }

  void ack();                      // removes it from a work-queue stream
  void nak(int64_t delay_ms = 0);  // delivered again after the delay
  void in_progress();              // restarts its ack wait

 private:
  void* msg_ = nullptr;
  uint64_t stream_sequence_ = 0;
  uint64_t num_delivered_ = 0;
  uint64_t num_pending_ = 0;
};

// A bound pull subscription to a durable consumer.
class PullConsumer {
 public:
  explicit PullConsumer(void* sub) : sub_(sub) {}
  ~PullConsumer();
  PullConsumer(const PullConsumer&) = delete;
  PullConsumer& operator=(const PullConsumer&) = delete;

  // Up to `max` messages, waiting at most `wait_ms` for the first; none
  // when nothing is there (not an error).
  core::Result<std::vector<Message>> fetch(int max, int64_t wait_ms);

 private:
  void* sub_;
};

class JetStream {
 public:
  // kUnavailable when no server of `urls` answers.
  static core::Result<std::unique_ptr<JetStream>> connect(const ConnectOptions& options);
  ~JetStream();
  JetStream(const JetStream&) = delete;
  JetStream& operator=(const JetStream&) = delete;

  // Creates the stream, or updates it to `spec` when it exists (or, with
  // `update` false, leaves it as it is).
  core::Status ensure_stream(const StreamSpec& spec, bool update = true);
  // Messages the stream holds now.
  core::Result<uint64_t> stream_messages(const std::string& stream);
  // The server that leads the stream's replicas now (its server_name);
  // kUnavailable while there is none.
  core::Result<std::string> stream_leader(const std::string& stream);

  // Publishes `data` with Nats-Msg-Id `msg_id` and waits for the stream's
  // acknowledgement, which comes once a quorum of its replicas stored it.
  // While none comes (a leader election, a lost connection) the same
  // message is sent again every 250 ms, so it is stored at most once,
  // until `timeout_ms` passed: then kUnavailable ("not acknowledged", which
  // is not "not stored"; "no responders", which an election answers, is
  // also what a subject no stream takes gets). A refusal by the stream
  // (full, a message too large) is kResourceExhausted or
  // kFailedPrecondition at once.
  core::Result<Published> publish(const std::string& subject, std::string_view data, const std::string& msg_id,
                                  int64_t timeout_ms);

  // Creates the durable consumer, or leaves it as it is when it exists.
  core::Status ensure_consumer(const ConsumerSpec& spec);
  // Messages the consumer has not delivered yet.
  core::Result<uint64_t> consumer_pending(const std::string& stream, const std::string& durable);
  // Binds to an existing durable consumer (creating nothing).
  core::Result<std::unique_ptr<PullConsumer>> bind(const std::string& stream, const std::string& durable,
                                                   const std::string& filter_subject);
  // Every message of `subject` in `stream` (from the stream sequence
  // `start_sequence` on, when it is not 0), oldest first, through a
  // short-lived consumer that acknowledges nothing; `fn` returns false to
  // stop. Messages published while it reads may or may not be seen.
  core::Status read_subject(const std::string& stream, const std::string& subject,
                            const std::function<bool(Message&)>& fn, uint64_t start_sequence = 0);
  // What the stream holds now, and its age limit; kNotFound when it does
  // not exist.
  core::Result<StreamState> stream_state(const std::string& stream);
  // Whether the stream exists (kUnavailable when that cannot be told).
  core::Result<bool> stream_exists(const std::string& stream);
  core::Status delete_message(const std::string& stream, uint64_t sequence);
  // The data of the newest message of `subject`; kNotFound when it has none.
  core::Result<std::string> last_message(const std::string& stream, const std::string& subject);
  // How many messages each subject matching `filter` holds now.
  core::Result<std::map<std::string, uint64_t>> subject_counts(const std::string& stream, const std::string& filter);
  // The sequence of the first message of `subject` stored at or after
  // `time_ms` (wall clock); 0 when there is none.
  core::Result<uint64_t> first_sequence_since(const std::string& stream, const std::string& subject, int64_t time_ms);
  // Deletes every message before `sequence`.
  core::Status purge_before(const std::string& stream, uint64_t sequence);
  // Deletes every message of `subject`; returns how many there were.
  core::Result<uint64_t> purge_subject(const std::string& stream, const std::string& subject);
  // Whether the connection to a server is up now.
  bool connected() const;
  // The largest message the servers take.
  int64_t max_payload() const;

  // A key-value bucket (created when missing). `ttl_ms` 0: entries stay.
  core::Status ensure_bucket(const std::string& bucket, int replicas, int64_t ttl_ms = 0, int history = 1);
  // The new revision; kFailedPrecondition when the key exists. Other
  // JetStream refusals (no leader yet) are kUnavailable.
  core::Result<uint64_t> kv_create(const std::string& bucket, const std::string& key, std::string_view value);
  // The new revision; kFailedPrecondition when the key's revision is no
  // longer `last_revision` (somebody else wrote it).
  core::Result<uint64_t> kv_update(const std::string& bucket, const std::string& key, std::string_view value,
                                   uint64_t last_revision);
  // kNotFound when the key has no value. Any replica may answer (direct
  // get), so a follower that is behind can return an older revision.
  core::Result<KvEntry> kv_get(const std::string& bucket, const std::string& key);
  // The same, answered by the stream's leader: the newest acknowledged
  // revision, for decisions (a lease) that must not act on a stale copy.
  core::Result<KvEntry> kv_get_from_leader(const std::string& bucket, const std::string& key);
  // Writes the key whatever it holds; the new revision.
  core::Result<uint64_t> kv_put(const std::string& bucket, const std::string& key, std::string_view value);
  // Leaves a delete marker: the key has no value, and kv_create takes it.
  core::Status kv_delete(const std::string& bucket, const std::string& key);
  // The keys that have a value now.
  core::Result<std::vector<std::string>> kv_keys(const std::string& bucket);

 private:
  struct Handles;
  explicit JetStream(std::unique_ptr<Handles> h);
  std::unique_ptr<Handles> h_;
};

}  // namespace switchyard::storage::jetstream
