#pragma once

// The fast lane: plain HTTP/1.1 over keep-alive connections on Boost.Beast,
// one io_context on one thread. curl's general machinery (protocols,
// proxies, TLS) costs more than the bytes it moves on a busy destination;
// this lane does only what a plain http:// delivery needs:
//   - one write per request (head and body together), Host and Accept: */*
//     added as curl adds them; a header with an empty value is not sent
//     ("Expect:" removes a header in curl's convention);
//   - a response read by Beast's parser (chunked, Content-Length or to
//     close), the first keep_response_bytes of its body kept, the rest read
//     and dropped; Retry-After kept;
//   - at most max_connections connections (idle ones of another host are
//     closed to make room; past that, calls wait their turn);
//   - the call's timeout over the whole exchange (waiting, connecting,
//     writing, reading): TransportFailure::kTimeout;
//   - a request on a kept-alive connection that the server closed before
//     answering a byte is sent once more on a new connection, as curl does.

#include <cstdint>
#include <memory>

#include "lane.h"

namespace switchyard::destinations {

class Http1Lane final : public Lane {
 public:
  Http1Lane(uint32_t max_connections, int64_t request_timeout_ms, Sink sink);
  ~Http1Lane() override;
  Http1Lane(const Http1Lane&) = delete;
  Http1Lane& operator=(const Http1Lane&) = delete;

  void post(std::vector<std::pair<uint64_t, HttpCall>>&& calls) override;
  void abandon_all() override;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace switchyard::destinations
