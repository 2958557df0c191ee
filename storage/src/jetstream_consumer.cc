// The consuming half of the JetStream client: durable pull consumers,
// fetched messages and their acknowledgements, reading one subject from
// the start, per-subject counts, deleting and purging, key listings.

#include <chrono>
#include <functional>
#include <utility>

#include "jetstream_handles.h"

namespace switchyard::storage::jetstream {

using core::Status;

namespace {

natsMsg* as_msg(void* m) { return static_cast<natsMsg*>(m); }
natsSubscription* as_sub(void* s) { return static_cast<natsSubscription*>(s); }

}  // namespace

Message::Message(void* msg) : msg_(msg) {
  jsMsgMetaData* meta = nullptr;
  if (natsMsg_GetMetaData(&meta, as_msg(msg_)) == NATS_OK) {
    stream_sequence_ = meta->Sequence.Stream;
    num_delivered_ = meta->NumDelivered;
    num_pending_ = meta->NumPending;
    jsMsgMetaData_Destroy(meta);
  }
}

Message::Message(Message&& other) noexcept
    : msg_(std::exchange(other.msg_, nullptr)),
      stream_sequence_(other.stream_sequence_),
      num_delivered_(other.num_delivered_),
      num_pending_(other.num_pending_) {}

Message& Message::operator=(Message&& other) noexcept {
  if (this != &other) {
    natsMsg_Destroy(as_msg(msg_));
    msg_ = std::exchange(other.msg_, nullptr);
    stream_sequence_ = other.stream_sequence_;
    num_delivered_ = other.num_delivered_;
    num_pending_ = other.num_pending_;
  }
  return *this;
}

Message::~Message() { natsMsg_Destroy(as_msg(msg_)); }

std::string_view Message::data() const {
  if (msg_ == nullptr) return {};
  return {natsMsg_GetData(as_msg(msg_)), static_cast<size_t>(natsMsg_GetDataLength(as_msg(msg_)))};
}

std::string Message::subject() const { return msg_ == nullptr ? "" : natsMsg_GetSubject(as_msg(msg_)); }

// Acknowledgements are fire-and-forget: a lost one only brings the message
// back after the ack wait, which at-least-once delivery allows.
void Message::ack() {
  if (msg_ != nullptr) natsMsg_Ack(as_msg(msg_), nullptr);
}
void Message::nak(int64_t delay_ms) {
  if (msg_ != nullptr) natsMsg_NakWithDelay(as_msg(msg_), delay_ms, nullptr);
}
void Message::in_progress() {
  if (msg_ != nullptr) natsMsg_InProgress(as_msg(msg_), nullptr);
}

PullConsumer::~PullConsumer() { natsSubscription_Destroy(as_sub(sub_)); }

core::Result<std::vector<Message>> PullConsumer::fetch(int max, int64_t wait_ms) {
  natsMsgList list{};
  const natsStatus s = natsSubscription_Fetch(&list, as_sub(sub_), max, std::max<int64_t>(wait_ms, 1), nullptr);
  std::vector<Message> out;
  if (s == NATS_TIMEOUT) return out;  // nothing there
  if (s != NATS_OK) return failure("cannot fetch from a consumer", s);
  out.reserve(static_cast<size_t>(list.Count));
  for (int i = 0; i < list.Count; ++i) {
    out.emplace_back(list.Msgs[i]);
    list.Msgs[i] = nullptr;  // the Message owns it now
  }
  natsMsgList_Destroy(&list);
  return out;
}

Status JetStream::ensure_consumer(const ConsumerSpec& spec) {
  jsConsumerConfig cfg;
  jsConsumerConfig_Init(&cfg);
  cfg.Durable = spec.durable.c_str();
  cfg.FilterSubject = spec.filter_subject.c_str();
  cfg.AckPolicy = js_AckExplicit;
  cfg.AckWait = spec.ack_wait_ms * kNanosPerMs;
  cfg.MaxAckPending = spec.max_ack_pending;
  cfg.MaxDeliver = -1;
  cfg.Replicas = spec.replicas;
  cfg.DeliverPolicy = js_DeliverAll;
  jsConsumerInfo* ci = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetConsumerInfo(&ci, h_->js, spec.stream.c_str(), spec.durable.c_str(), nullptr, &jerr);
  if (s == NATS_NOT_FOUND || (s != NATS_OK && jerr == JSConsumerNotFoundErr))
    s = js_AddConsumer(&ci, h_->js, spec.stream.c_str(), &cfg, nullptr, &jerr);
  jsConsumerInfo_Destroy(ci);
  if (s != NATS_OK) return failure("cannot create consumer " + spec.durable + " on " + spec.stream, s, jerr);
  return Status::ok();
}

core::Result<uint64_t> JetStream::consumer_pending(const std::string& stream, const std::string& durable) {
  jsConsumerInfo* ci = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  if (natsStatus s = js_GetConsumerInfo(&ci, h_->js, stream.c_str(), durable.c_str(), nullptr, &jerr); s != NATS_OK)
    return failure("cannot read consumer " + durable, s, jerr);
  const uint64_t n = ci->NumPending;
  jsConsumerInfo_Destroy(ci);
  return n;
}

core::Result<std::unique_ptr<PullConsumer>> JetStream::bind(const std::string& stream, const std::string& durable,
                                                            const std::string& filter_subject) {
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = stream.c_str();
  so.Consumer = durable.c_str();
  natsSubscription* sub = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  const natsStatus s = js_PullSubscribe(&sub, h_->js, filter_subject.c_str(), durable.c_str(), nullptr, &so, &jerr);
  if (s != NATS_OK) return failure("cannot bind to consumer " + durable + " on " + stream, s, jerr);
  return std::make_unique<PullConsumer>(sub);
}

namespace {

// A short-lived consumer of `subject` that acknowledges nothing, set up by
// `configure` (where it starts); the server drops it 30 s after its last
// use if this node dies mid-read.
core::Result<natsSubscription*> reader(jsCtx* js, const std::string& stream, const std::string& subject,
                                       const std::function<void(jsConsumerConfig&)>& configure) {
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = stream.c_str();
  so.Config.AckPolicy = js_AckNone;
  configure(so.Config);
  so.Config.InactiveThreshold = 30000 * kNanosPerMs;
  so.Config.Replicas = 1;
  so.Config.MemoryStorage = true;
  natsSubscription* sub = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  if (natsStatus s = js_PullSubscribe(&sub, js, subject.c_str(), nullptr, nullptr, &so, &jerr); s != NATS_OK)
    return failure("cannot read " + subject + " from " + stream, s, jerr);
  return sub;
}

// How many messages the reader had to deliver when it was made. An empty
// fetch only says none came within its wait, which a busy server can
// exceed: readers keep fetching until they have seen this many.
core::Result<uint64_t> pending_at_start(natsSubscription* sub) {
  jsConsumerInfo* ci = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  if (natsStatus s = natsSubscription_GetConsumerInfo(&ci, sub, nullptr, &jerr); s != NATS_OK)
    return failure("cannot read a reader's pending count", s, jerr);
  const uint64_t n = ci->NumPending;
  jsConsumerInfo_Destroy(ci);
  return n;
}

constexpr int64_t kReadPatienceMs = 10000;  // a reader that has messages waits this long for them

}  // namespace

Status JetStream::read_subject(const std::string& stream, const std::string& subject,
                               const std::function<bool(Message&)>& fn, uint64_t start_sequence) {
  auto sub = reader(h_->js, stream, subject, [start_sequence](jsConsumerConfig& c) {
    c.DeliverPolicy = start_sequence > 0 ? js_DeliverByStartSequence : js_DeliverAll;
    c.OptStartSeq = start_sequence;
  });
  if (!sub) return sub.status();
  PullConsumer consumer(*sub);
  auto expected = pending_at_start(*sub);
  if (!expected) {
    natsSubscription_Unsubscribe(*sub);
    return expected.status();
  }
  uint64_t seen = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kReadPatienceMs);
  for (;;) {
    auto batch = consumer.fetch(256, 250);
    if (!batch) return batch.status();
    if (batch->empty()) {
      if (seen >= *expected) break;
      if (std::chrono::steady_clock::now() < deadline) continue;
      natsSubscription_Unsubscribe(*sub);
      return Status::unavailable("reading " + subject + " from " + stream + ": " + std::to_string(seen) + " of " +
                                 std::to_string(*expected) + " messages came");
    }
    seen += batch->size();
    bool last = false;  // the consumer had nothing after it when it was sent
    for (auto& m : *batch) {
      last = m.num_pending() == 0;
      if (!fn(m)) {
        natsSubscription_Unsubscribe(*sub);
        return Status::ok();
      }
    }
    if (last) break;
  }
  natsSubscription_Unsubscribe(*sub);  // deletes the ephemeral consumer
  return Status::ok();
}

core::Result<uint64_t> JetStream::first_sequence_since(const std::string& stream, const std::string& subject,
                                                       int64_t time_ms) {
  auto sub = reader(h_->js, stream, subject, [time_ms](jsConsumerConfig& c) {
    c.DeliverPolicy = js_DeliverByStartTime;
    c.OptStartTime = time_ms * kNanosPerMs;
  });
  if (!sub) return sub.status();
  PullConsumer consumer(*sub);
  auto expected = pending_at_start(*sub);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kReadPatienceMs);
  core::Result<uint64_t> found = uint64_t{0};
  if (!expected) {
    found = expected.status();
  } else if (*expected > 0) {  // there is one: wait for it
    for (;;) {
      auto batch = consumer.fetch(1, 250);
      if (!batch) {
        found = batch.status();
        break;
      }
      if (!batch->empty()) {
        found = batch->front().stream_sequence();
        break;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        found = Status::unavailable("the first message of " + subject + " since a time did not come");
        break;
      }
    }
  }
  natsSubscription_Unsubscribe(*sub);
  return found;
}

Status JetStream::purge_before(const std::string& stream, uint64_t sequence) {
  jsOptions o;
  jsOptions_Init(&o);
  o.Stream.Purge.Sequence = sequence;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  if (natsStatus s = js_PurgeStream(h_->js, stream.c_str(), &o, &jerr); s != NATS_OK)
    return failure("cannot purge " + stream + " before " + std::to_string(sequence), s, jerr);
  return Status::ok();
}

Status JetStream::delete_message(const std::string& stream, uint64_t sequence) {
  jsErrCode jerr = static_cast<jsErrCode>(0);
  const natsStatus s = js_DeleteMsg(h_->js, stream.c_str(), sequence, nullptr, &jerr);
  if (s == NATS_OK || s == NATS_NOT_FOUND || jerr == JSSequenceNotFoundErr) return Status::ok();  // gone already
  return failure("cannot delete message " + std::to_string(sequence) + " of " + stream, s, jerr);
}

core::Result<std::string> JetStream::last_message(const std::string& stream, const std::string& subject) {
  natsMsg* msg = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  const natsStatus s = js_GetLastMsg(&msg, h_->js, stream.c_str(), subject.c_str(), nullptr, &jerr);
  if (s == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr) return Status::not_found("no message on " + subject);
  if (s != NATS_OK) return failure("cannot read " + subject + " from " + stream, s, jerr);
  std::string data(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg)));
  natsMsg_Destroy(msg);
  return data;
}

core::Result<std::map<std::string, uint64_t>> JetStream::subject_counts(const std::string& stream,
                                                                        const std::string& filter) {
  jsOptions o;
  jsOptions_Init(&o);
  o.Stream.Info.SubjectsFilter = filter.c_str();
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  if (natsStatus s = js_GetStreamInfo(&si, h_->js, stream.c_str(), &o, &jerr); s != NATS_OK)
    return failure("cannot read stream " + stream, s, jerr);
  std::map<std::string, uint64_t> out;
  if (si->State.Subjects != nullptr)
    for (int i = 0; i < si->State.Subjects->Count; ++i)
      out[si->State.Subjects->List[i].Subject] = si->State.Subjects->List[i].Msgs;
  jsStreamInfo_Destroy(si);
  return out;
}

core::Result<uint64_t> JetStream::purge_subject(const std::string& stream, const std::string& subject) {
  auto before = subject_counts(stream, subject);
  if (!before) return before.status();
  jsOptions o;
  jsOptions_Init(&o);
  o.Stream.Purge.Subject = subject.c_str();
  jsErrCode jerr = static_cast<jsErrCode>(0);
  if (natsStatus s = js_PurgeStream(h_->js, stream.c_str(), &o, &jerr); s != NATS_OK)
    return failure("cannot purge " + subject + " from " + stream, s, jerr);
  uint64_t n = 0;
  for (const auto& [_, count] : *before) n += count;
  return n;
}

bool JetStream::connected() const { return natsConnection_Status(h_->nc) == NATS_CONN_STATUS_CONNECTED; }

int64_t JetStream::max_payload() const { return natsConnection_GetMaxPayload(h_->nc); }

core::Result<std::vector<std::string>> JetStream::kv_keys(const std::string& bucket) {
  auto kv = h_->bucket(bucket);
  if (!kv) return kv.status();
  kvKeysList list{};
  // With no timeout the listing waits for the end of the bucket's current
  // entries, which may never be signalled when entries expire meanwhile
  // (the node records' TTL): seen as a membership thread stuck for good.
  kvWatchOptions o;
  kvWatchOptions_Init(&o);
  o.Timeout = h_->timeout_ms;
  const natsStatus s = kvStore_Keys(&list, *kv, &o);
  std::vector<std::string> out;
  if (s == NATS_NOT_FOUND) return out;
  if (s != NATS_OK) return failure("cannot list the keys of " + bucket, s);
  for (int i = 0; i < list.Count; ++i) out.emplace_back(list.Keys[i]);
  kvKeysList_Destroy(&list);
  return out;
}

}  // namespace switchyard::storage::jetstream
