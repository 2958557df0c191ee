// Fuzz target: the matcher's event scanner against a matcher that uses every
// operator, arrays of objects and dotted keys, on arbitrary event bytes.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "switchyard/rules/matcher.h"

namespace {
std::shared_ptr<const switchyard::rules::Matcher> make() {
  switchyard::rules::MatcherBuilder b;
  std::string error;
  for (const char* p : {
           R"({"source":["a","b"],"detail":{"n":[{"numeric":[">",0,"<=",5]}]}})",
           R"({"detail":{"s":[{"prefix":"x"},{"suffix":{"equals-ignore-case":"Y"}},{"wildcard":"a*b*c"}]}})",
           R"({"detail":{"arr":{"k":["v"],"m":[{"exists":true}]}}})",
           R"({"detail":{"ip":[{"cidr":"10.0.0.0/8"},{"cidr":"2001:db8::/32"}]}})",
           R"({"detail":{"x":[{"anything-but":{"wildcard":["*a*","b*"]}},{"exists":false}]}})",
           R"({"detail":{"e":[{"equals-ignore-case":"stra\u00dfe"}],"n":[null,true,false,1e2]}})",
           R"({"$or":[{"a.b":["1"]},{"c":{"d":[{"anything-but":[1,2]}]}}]})",
       })
    (void)b.add(p);
  return b.build();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto matcher = make();
  std::vector<uint32_t> ids;
  const auto st = matcher->match(std::string_view(reinterpret_cast<const char*>(data), size), ids);
  if (!st && st.message().empty()) __builtin_trap();  // every refusal must say why
  return 0;
}
