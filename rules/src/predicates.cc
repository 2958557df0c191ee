#include "predicates.h"

#include "switchyard/core/ascii.h"

#include <arpa/inet.h>
#include <locale.h>
#include <wctype.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <set>
#include <unordered_set>

#include "json_tree.h"

namespace switchyard::rules::internal {

// ---------------------------------------------------------------- numbers

namespace {

// A decimal as (negative, significant digits without leading/trailing zeros,
// exponent of the first digit). Zero is ("", 0) whatever its sign.
struct Decimal {
  bool negative = false;
  std::string digits;
  long exponent = 0;
  bool operator==(const Decimal& o) const {
    return digits == o.digits && (digits.empty() || (negative == o.negative && exponent == o.exponent));
  }
};

bool to_decimal(std::string_view s, Decimal* d) {
  size_t i = 0;
  d->negative = false;
  d->digits.clear();
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) d->negative = s[i++] == '-';
  long point = -1;
  long count = 0;
  long first_nonzero = -1;
  for (; i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.'); ++i) {
    if (s[i] == '.') {
      point = count;
      continue;
    }
    if (s[i] != '0' && first_nonzero < 0) first_nonzero = count;
    if (first_nonzero >= 0) d->digits += s[i];
    ++count;
  }
  if (point < 0) point = count;
  long exp = 0;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    auto [p, ec] = std::from_chars(s.data() + i, s.data() + s.size(), exp);
    if (ec != std::errc()) {
      // from_chars does not take a leading '+'
      if (i < s.size() && s[i] == '+') std::from_chars(s.data() + i + 1, s.data() + s.size(), exp);
    }
  }
  while (!d->digits.empty() && d->digits.back() == '0') d->digits.pop_back();
  d->exponent = first_nonzero < 0 ? 0 : point - first_nonzero - 1 + exp;
  return true;
}

// The decimal text Java's Double.toString gives for a finite v (JDK 19 and
// later, what event-ruler runs on): the shortest decimal that rounds to v,
// except when that has one significant digit: Java then takes, among the
// decimals of one or two digits that round to v, the one closest to v. Only
// the widest rounding intervals (subnormals) hold a closer two-digit one:
// 5e-324 is written 4.9E-324.
std::string java_double_text(double v) {
  char buf[64];
  const auto shortest_end = std::to_chars(buf, buf + sizeof buf, v).ptr;
  std::string best(buf, shortest_end);
  Decimal d;
  to_decimal(best, &d);
  if (d.digits.size() != 1) return best;
  const double mag = std::fabs(v);
  // The nearest two-digit decimal, "d.de±x", and its two neighbours.
  const auto two_end = std::to_chars(buf, buf + sizeof buf, mag, std::chars_format::scientific, 1).ptr;
  const std::string two(buf, two_end);
  const int m = (two[0] - '0') * 10 + (two[2] - '0');
  const int e = std::atoi(two.c_str() + two.find('e') + 1) - 1;
  const long double x = mag;
  long double best_distance = std::fabs(std::strtold(best.c_str() + (v < 0), nullptr) - x);
  for (int k = m - 1; k <= m + 1; ++k) {
    if (k <= 0) continue;
    const std::string candidate = std::to_string(k) + "e" + std::to_string(e);
    double value = 0;
    std::from_chars(candidate.data(), candidate.data() + candidate.size(), value);
    if (value != mag) continue;  // does not round to v
    const long double distance = std::fabs(std::strtold(candidate.c_str(), nullptr) - x);
    if (distance < best_distance) {
      best_distance = distance;
      best = (v < 0 ? "-" : "") + candidate;
    }
  }
  return best;
}

}  // namespace

Number parse_number(std::string_view text) {
  Number n;
  const char* begin = text.data();
  if (!text.empty() && text[0] == '+') ++begin;
  auto [ptr, ec] = std::from_chars(begin, text.data() + text.size(), n.value);
  if (ec != std::errc() || !std::isfinite(n.value)) return n;  // out of range: not comparable
  // Fast path: at most 15 significant digits always round-trip exactly.
  size_t significant = 0;
  bool leading = true, exponent = false;
  for (char c : text) {
    if (c == 'e' || c == 'E') {
      exponent = true;
      break;
    }
    if (c >= '1' && c <= '9') leading = false;
    if (!leading && c >= '0' && c <= '9') ++significant;
  }
  const double mag = std::fabs(n.value);
  if (significant <= 15 && !exponent && (mag == 0 || mag >= 1e-300)) {
    n.comparable = true;
    return n;
  }
  Decimal a, b;
  to_decimal(text, &a);
  to_decimal(java_double_text(n.value), &b);
  n.comparable = a == b;
  return n;
}

uint64_t number_key(double v) {
  if (v == 0) v = 0;  // folds -0
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return bits;
}

// ---------------------------------------------------------------- wildcards

bool Wildcard::parse(std::string_view text, std::string* error) {
  tokens_.clear();
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '*') {
      if (i + 1 < text.size() && text[i + 1] == '*') {
        // event-ruler counts positions in the value with its opening quote.
        *error = "Consecutive wildcard characters at pos " + std::to_string(i + 1);
        return false;
      }
      tokens_.push_back(-1);
    } else if (c == '\\') {
      if (i + 1 < text.size() && (text[i + 1] == '*' || text[i + 1] == '\\')) {
        tokens_.push_back(static_cast<unsigned char>(text[++i]));
        continue;
      }
      *error = "Invalid escape character at pos " + std::to_string(i + 1);
      return false;
    } else {
      tokens_.push_back(static_cast<unsigned char>(c));
    }
  }
  return true;
}

bool Wildcard::matches(std::string_view v) const {
  const size_t m = tokens_.size(), n = v.size();
  size_t p = 0, i = 0, star = SIZE_MAX, mark = 0;
  while (i < n) {
    if (p < m && tokens_[p] >= 0 && tokens_[p] == static_cast<unsigned char>(v[i])) {
      ++p;
      ++i;
    } else if (p < m && tokens_[p] < 0) {
      star = p++;
      mark = i;
    } else if (star != SIZE_MAX) {
      p = star + 1;
      i = ++mark;
    } else {
      return false;
    }
  }
  while (p < m && tokens_[p] < 0) ++p;
  return p == m;
}

// event-ruler's MachineComplexityEvaluator score: the largest number of
// pattern prefixes (of every wildcard value of one field, each counted per
// value) that all match one input. For "a*b" and input "ab" that is "a*" and
// "a*b": 2. A state is (value, k): the value's first k tokens match the input
// so far; a '*' token matches the empty string (closure) and keeps the state
// after it alive on any byte. The score is the largest state set reachable
// by a non-empty input, found by a bounded subset construction.
int wildcard_complexity(const std::vector<const Wildcard*>& patterns, int limit) {
  if (patterns.empty()) return 0;
  std::vector<uint32_t> base;  // state id of (value k, prefix 0)
  uint32_t total = 0;
  for (const auto* w : patterns) {
    base.push_back(total);
    total += static_cast<uint32_t>(w->tokens().size()) + 1;
  }
  std::vector<uint32_t> owner(total);  // which value a state belongs to
  for (uint32_t k = 0; k < patterns.size(); ++k)
    for (uint32_t id = base[k]; id <= base[k] + patterns[k]->tokens().size(); ++id) owner[id] = k;
  auto token = [&](uint32_t id, int64_t offset) -> int {  // token at prefix+offset, or 256 past the ends
    const auto& t = patterns[owner[id]]->tokens();
    const int64_t pos = static_cast<int64_t>(id - base[owner[id]]) + offset;
    return pos < 0 || pos >= static_cast<int64_t>(t.size()) ? 256 : t[pos];
  };
  auto closure = [&](std::vector<uint32_t>& set) {
    for (size_t i = 0; i < set.size(); ++i)
      if (token(set[i], 0) < 0) set.push_back(set[i] + 1);  // '*' matches nothing too
    std::sort(set.begin(), set.end());
    set.erase(std::unique(set.begin(), set.end()), set.end());
  };
  std::set<int> alphabet{0x01};  // a byte no value names
  for (const auto* w : patterns)
    for (int16_t t : w->tokens())
      if (t >= 0) alphabet.insert(t);
  std::vector<uint32_t> start(base);
  closure(start);
  std::set<std::vector<uint32_t>> seen{start};
  std::vector<std::vector<uint32_t>> queue{start};
  int worst = 0;
  constexpr size_t kMaxExplored = 20000;
  for (size_t q = 0; q < queue.size(); ++q) {
    if (worst > limit) return worst;
    if (seen.size() > kMaxExplored) return limit + 1;
    for (int byte : alphabet) {
      std::vector<uint32_t> next;
      for (uint32_t id : queue[q]) {
        if (token(id, 0) == byte) next.push_back(id + 1);
        if (token(id, -1) < 0) next.push_back(id);  // after a '*': any byte
      }
      if (next.empty()) continue;
      closure(next);
      worst = std::max(worst, static_cast<int>(next.size()));
      if (seen.insert(next).second) queue.push_back(std::move(next));
    }
  }
  return worst;
}

// ---------------------------------------------------------------- ignore case

namespace {

locale_t utf8_locale() {
  static locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(0));
  return loc;
}

// Decodes one UTF-8 sequence at s[*i]; invalid bytes decode as themselves.
uint32_t next_cp(std::string_view s, size_t* i) {
  const unsigned char c = s[*i];
  int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
  if (*i + len > s.size()) len = 1;
  uint32_t cp = len == 1 ? c : len == 2 ? c & 0x1F : len == 3 ? c & 0x0F : c & 0x07;
  for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[*i + k]) & 0x3F);
  *i += len;
  return cp;
}

// Java's unconditional full upper-case mappings (SpecialCasing.txt) for the
// Latin characters; everything else uses the C.UTF-8 simple mappings.
const char* special_upper(uint32_t cp) {
  switch (cp) {
    case 0x00DF: return "SS";
    case 0x0149: return "\u02BCN";
    case 0x01F0: return "J\u030C";
    case 0x1E96: return "H\u0331";
    case 0x1E97: return "T\u0308";
    case 0x1E98: return "W\u030A";
    case 0x1E99: return "Y\u030A";
    case 0x1E9A: return "A\u02BE";
    case 0xFB00: return "FF";
    case 0xFB01: return "FI";
    case 0xFB02: return "FL";
    case 0xFB03: return "FFI";
    case 0xFB04: return "FFL";
    case 0xFB05: return "ST";
    case 0xFB06: return "ST";
    default: return nullptr;
  }
}

}  // namespace

bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

void IgnoreCase::compile(std::string_view pattern) {
  chars_.clear();
  ascii_ = is_ascii(pattern);
  if (ascii_) {
    core::ascii_lower(pattern, &folded_);
    return;
  }
  for (size_t i = 0; i < pattern.size();) {
    const uint32_t cp = next_cp(pattern, &i);
    Forms f;
    if (cp == 0x0130) {
      f.lower = "i\u0307";  // Java: "İ".toLowerCase(ROOT)
    } else {
      put_utf8(f.lower, utf8_locale() ? towlower_l(cp, utf8_locale()) : cp);
    }
    if (const char* up = special_upper(cp)) {
      f.upper = up;
    } else {
      put_utf8(f.upper, utf8_locale() ? towupper_l(cp, utf8_locale()) : cp);
    }
    chars_.push_back(std::move(f));
  }
}

bool IgnoreCase::matches(std::string_view v, Mode mode) const {
  if (ascii_) {
    const size_t n = folded_.size();
    if (v.size() < n || (mode == Mode::kEquals && v.size() != n)) return false;
    const size_t off = mode == Mode::kSuffix ? v.size() - n : 0;
    for (size_t i = 0; i < n; ++i) {
      char c = v[off + i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
      if (c != folded_[i]) return false;
    }
    return true;
  }
  // Positions of the value reachable after each pattern character.
  std::vector<char> cur(v.size() + 1, 0), next(v.size() + 1, 0);
  if (mode == Mode::kSuffix) {
    std::fill(cur.begin(), cur.end(), 1);
  } else {
    cur[0] = 1;
  }
  for (const Forms& f : chars_) {
    std::fill(next.begin(), next.end(), 0);
    bool any = false;
    for (size_t p = 0; p <= v.size(); ++p) {
      if (!cur[p]) continue;
      for (const std::string* form : {&f.lower, &f.upper}) {
        if (v.substr(p, form->size()) == *form) {
          next[p + form->size()] = 1;
          any = true;
        }
      }
    }
    if (!any) return false;
    cur.swap(next);
  }
  if (mode == Mode::kPrefix) return true;
  return cur[v.size()] != 0;
}

// ---------------------------------------------------------------- CIDR

int parse_ip(std::string_view text, std::array<uint8_t, 16>* out) {
  out->fill(0);
  if (text.find(':') == std::string_view::npos) {
    int octet = 0;
    size_t pos = 0;
    for (; octet < 4; ++octet) {
      size_t end = pos;
      while (end < text.size() && end - pos < 4 && std::isdigit(static_cast<unsigned char>(text[end]))) ++end;
      if (end == pos || end - pos > 3) return 0;
      int v = 0;
      for (size_t k = pos; k < end; ++k) v = v * 10 + (text[k] - '0');
      if (v > 255) return 0;
      (*out)[octet] = static_cast<uint8_t>(v);
      pos = end;
      if (octet < 3) {
        if (pos >= text.size() || text[pos] != '.') return 0;
        ++pos;
      }
    }
    return pos == text.size() ? 4 : 0;
  }
  if (text.size() > 45) return 0;
  char buf[64];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = 0;
  return inet_pton(AF_INET6, buf, out->data()) == 1 ? 16 : 0;
}

bool Cidr::parse(std::string_view text, std::string* error) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos || text.find('/', slash + 1) != std::string_view::npos) {
    *error = "Malformed CIDR, one '/' required";
    return false;
  }
  const std::string_view addr = text.substr(0, slash), mask = text.substr(slash + 1);
  int bits = 0;
  auto [p, ec] = std::from_chars(mask.data(), mask.data() + mask.size(), bits);
  if (mask.empty() || ec != std::errc() || p != mask.data() + mask.size()) {
    *error = "Malformed CIDR, mask bits must be an integer";
    return false;
  }
  if (bits < 0) {
    *error = "Malformed CIDR, mask bits must not be negative";
    return false;
  }
  const int len = parse_ip(addr, &net_);
  if (len == 0) {
    *error = "Nonstandard IP address: " + std::string(addr);
    return false;
  }
  v6_ = len == 16;
  if (!v6_ && bits >= 32) {
    *error = "IPv4 mask bits must be < 32";
    return false;
  }
  if (v6_ && bits >= 128) {
    *error = "IPv6 mask bits must be < 128";
    return false;
  }
  bits_ = bits;
  for (int i = 0; i < len * 8; ++i)
    if (i >= bits) net_[i / 8] &= static_cast<uint8_t>(~(0x80 >> (i % 8)));
  return true;
}

bool Cidr::contains(std::string_view value) const {
  std::array<uint8_t, 16> ip;
  const int len = parse_ip(value, &ip);
  if (len == 0 || (len == 16) != v6_) return false;
  for (int i = 0; i < bits_; ++i) {
    const uint8_t m = static_cast<uint8_t>(0x80 >> (i % 8));
    if ((ip[i / 8] & m) != (net_[i / 8] & m)) return false;
  }
  return true;
}

}  // namespace switchyard::rules::internal
