#pragma once

#include <cstddef>
#include <string_view>

namespace switchyard::core {

// One set of nesting limits for every route and the matcher, so that what is
// accepted can also be matched, archived and transformed:
//  - a request body may nest at most kMaxBodyDepth levels (EventBridge
//    refuses deeper requests); it is checked on the raw bytes before any
//    parser or serializer that recurses touches them;
//  - an event's `detail` may nest at most kMaxDetailDepth levels
//    (eventbridge.md §1: deeper is MalformedDetail);
//  - the envelope around it adds one level: kMaxEventDepth, the depth the
//    matcher, the transformer and the stores must handle.
inline constexpr int kMaxBodyDepth = 1100;
inline constexpr int kMaxDetailDepth = 1000;
inline constexpr int kMaxEventDepth = kMaxDetailDepth + 1;

// The deepest nesting of `{`/`[` in `text`, outside strings, found in one
// pass without recursion and without validating the JSON. It stops counting
// once `limit` is passed and returns limit + 1 then.
int json_nesting_depth(std::string_view text, int limit);

}  // namespace switchyard::core
