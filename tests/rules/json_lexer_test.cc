// The one JSON lexer under both readers: what each input gives, error or token.
#include "json_lexer.h"

#include <gtest/gtest.h>

namespace switchyard::rules::internal {
namespace {

struct Lexed {
  LexError err;
  std::string text;
  char bad;
};

Lexed lex_string(std::string_view in) {
  std::string buf;
  JsonLexer lexer(in.data(), in.data() + in.size());
  std::string_view out;
  const LexError err = lexer.string(&out, [&]() -> std::string& { return buf; });
  return {err, err == LexError::kNone ? std::string(out) : "", lexer.bad_char()};
}

Lexed lex_number(std::string_view in) {
  JsonLexer lexer(in.data(), in.data() + in.size());
  std::string_view out;
  const LexError err = lexer.number(&out);
  return {err, err == LexError::kNone ? std::string(out) : "", 0};
}

TEST(JsonLexerTest, Strings) {
  EXPECT_EQ(lex_string(R"("plain")").text, "plain");
  EXPECT_EQ(lex_string(R"("a\"b\\c\/d\b\f\n\r\t")").text, "a\"b\\c/d\b\f\n\r\t");
  EXPECT_EQ(lex_string(R"("\u00e9\uD83D\uDE00")").text, "\xc3\xa9\xf0\x9f\x98\x80");  // é and a surrogate pair
  EXPECT_EQ(lex_string(R"("\uD83Dx")").text, "\xed\xa0\xbdx");  // a lone high surrogate, kept as is
  EXPECT_EQ(lex_string(R"("abc)").err, LexError::kEndInString);
  EXPECT_EQ(lex_string("\"a\\").err, LexError::kEndInEscape);
  const Lexed control = lex_string("\"a\x01\"");
  EXPECT_EQ(control.err, LexError::kControlChar);
  EXPECT_EQ(control.bad, '\x01');
  const Lexed escape = lex_string(R"("\q")");
  EXPECT_EQ(escape.err, LexError::kBadEscape);
  EXPECT_EQ(escape.bad, 'q');
  EXPECT_EQ(lex_string(R"("\u00")").err, LexError::kTruncatedUnicode);
  const Lexed hex = lex_string(R"("\u00g0")");
  EXPECT_EQ(hex.err, LexError::kBadHexDigit);
  EXPECT_EQ(hex.bad, 'g');
}

TEST(JsonLexerTest, NumbersKeepTheirText) {
  EXPECT_EQ(lex_number("1.50e+3,").text, "1.50e+3");
  EXPECT_EQ(lex_number("-0 ").text, "-0");
  EXPECT_EQ(lex_number("-").err, LexError::kNoDigits);
  EXPECT_EQ(lex_number("012").err, LexError::kLeadingZero);
  EXPECT_EQ(lex_number("1.").err, LexError::kNoFractionDigits);
  EXPECT_EQ(lex_number("1e+").err, LexError::kNoExponentDigits);
}

TEST(JsonLexerTest, WhitespaceIsSkipped) {
  const std::string_view in = " \t\r\n x";
  JsonLexer lexer(in.data(), in.data() + in.size());
  lexer.skip_ws();
  EXPECT_EQ(lexer.peek(), 'x');
}

}  // namespace
}  // namespace switchyard::rules::internal
