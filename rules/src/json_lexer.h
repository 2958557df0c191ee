#pragma once

// The JSON lexer both readers of JSON in rules share: json_tree.cc (event
// patterns and TestEventPattern events, into a tree) and the matcher's
// event scanner (one pass, no tree). It reads whitespace, strings (escapes
// decoded, surrogate pairs joined) and number literals (kept as written);
// each reader puts its own words on the errors (Jackson's for patterns, as
// EventBridge reports them; short ones for the scanner).

#include <cstdint>
#include <string>
#include <string_view>

namespace switchyard::rules::internal {

// Appends code point `cp` to `out` as UTF-8.
void put_utf8(std::string& out, uint32_t cp);

enum class LexError {
  kNone,
  kEndInString,       // no closing quote
  kControlChar,       // an unescaped character below 0x20 (bad_char says which)
  kEndInEscape,       // the input ends after a backslash
  kBadEscape,         // a backslash before something that is not an escape (bad_char)
  kTruncatedUnicode,  // \u with fewer than four characters left
  kBadHexDigit,       // \u followed by a non-hex character (bad_char)
  kNoDigits,          // a number without digits after its sign
  kLeadingZero,       // 0 followed by more digits
  kNoFractionDigits,  // a decimal point without digits after it
  kNoExponentDigits,  // an exponent without digits
};

class JsonLexer {
 public:
  JsonLexer(const char* p, const char* end) : p_(p), end_(end) {}

  const char* pos() const { return p_; }
  void set_pos(const char* p) { p_ = p; }
  bool at_end() const { return p_ >= end_; }
  char peek() const { return *p_; }
  void advance() { ++p_; }
  // The character an error is about (kControlChar, kBadEscape, kBadHexDigit).
  char bad_char() const { return bad_; }

  __attribute__((always_inline)) void skip_ws() {
    if (p_<end_&& static_cast<unsigned char>(*p_)> ' ') [[likely]]
      return;
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }

  // Reads a string, the lexer on its opening quote. Without escapes `*out`
  // views the input; with them the text is decoded into the buffer
  // `buffer()` gives (called only then) and `*out` views that.
  template <class Buffer>
  __attribute__((always_inline)) LexError string(std::string_view* out, Buffer buffer) {
    const char* start = ++p_;
    while (p_ < end_ && *p_ != '"' && *p_ != '\\') {
      if (static_cast<unsigned char>(*p_) < 0x20) return fail(LexError::kControlChar, *p_);
      ++p_;
    }
    if (p_ >= end_) return LexError::kEndInString;
    if (*p_ == '"') {
      *out = std::string_view(start, p_ - start);
      ++p_;
      return LexError::kNone;
    }
    std::string& buf = buffer();
    buf.assign(start, p_ - start);
    while (p_ < end_ && *p_ != '"') {
      const char c = *p_++;
      if (static_cast<unsigned char>(c) < 0x20) return fail(LexError::kControlChar, c);
      if (c != '\\') {
        buf += c;
        continue;
      }
      if (p_ >= end_) return LexError::kEndInEscape;
      const char e = *p_++;
      switch (e) {
        case '"': buf += '"'; break;
        case '\\': buf += '\\'; break;
        case '/': buf += '/'; break;
        case 'b': buf += '\b'; break;
        case 'f': buf += '\f'; break;
        case 'n': buf += '\n'; break;
        case 'r': buf += '\r'; break;
        case 't': buf += '\t'; break;
        case 'u': {
          uint32_t cp;
          if (const LexError err = hex4(&cp); err != LexError::kNone) return err;
          if (cp >= 0xD800 && cp <= 0xDBFF && end_ - p_ >= 6 && p_[0] == '\\' && p_[1] == 'u') {
            const char* save = p_;
            p_ += 2;
            uint32_t lo;
            if (const LexError err = hex4(&lo); err != LexError::kNone) return err;
            if (lo >= 0xDC00 && lo <= 0xDFFF)
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            else
              p_ = save;  // not a pair: the second escape is read on its own
          }
          put_utf8(buf, cp);
          break;
        }
        default: return fail(LexError::kBadEscape, e);
      }
    }
    if (p_ >= end_) return LexError::kEndInString;
    ++p_;
    *out = buf;
    return LexError::kNone;
  }

  // Reads a number literal, the lexer on its '-' or first digit; `*out`
  // views its text as written.
  __attribute__((always_inline)) LexError number(std::string_view* out) {
    const char* start = p_;
    if (*p_ == '-') ++p_;
    const char* int_start = p_;
    digits();
    if (p_ == int_start) return LexError::kNoDigits;
    if (*int_start == '0' && p_ - int_start > 1) return LexError::kLeadingZero;
    if (p_ < end_ && *p_ == '.') {
      const char* f = ++p_;
      digits();
      if (p_ == f) return LexError::kNoFractionDigits;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      const char* e = p_;
      digits();
      if (p_ == e) return LexError::kNoExponentDigits;
    }
    *out = std::string_view(start, p_ - start);
    return LexError::kNone;
  }

 private:
  LexError fail(LexError e, char c) {
    bad_ = c;
    return e;
  }

  __attribute__((always_inline)) void digits() {
    while (p_ < end_ && static_cast<unsigned>(*p_ - '0') < 10u) ++p_;
  }

  LexError hex4(uint32_t* v) {
    if (end_ - p_ < 4) return LexError::kTruncatedUnicode;
    *v = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = *p_++;
      *v <<= 4;
      if (h >= '0' && h <= '9')
        *v |= h - '0';
      else if (h >= 'a' && h <= 'f')
        *v |= h - 'a' + 10;
      else if (h >= 'A' && h <= 'F')
        *v |= h - 'A' + 10;
      else
        return fail(LexError::kBadHexDigit, h);
    }
    return LexError::kNone;
  }

  const char* p_;
  const char* end_;
  char bad_ = 0;
};

}  // namespace switchyard::rules::internal
