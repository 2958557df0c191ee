// Table-driven tests of target input transformation (shared/spec/eventbridge.md
// section 3): each case gives the exact bytes the target receives.
#include "switchyard/rules/transformer.h"

#include <gtest/gtest.h>

namespace switchyard::rules {
namespace {

const char* kEvent =
    R"({"version":"0","id":"e1","detail-type":"OrderPlaced","source":"shop","account":"111122223333",)"
    R"("time":"2025-03-01T10:15:30Z","region":"eu-west-1","resources":["urn:1"],)"
    R"("detail":{"orderId":42,"id":"0a787ecb-4015","tags":["a","b"],"total":1.50,"ok":true,"none":null,)"
    R"("obj":{"a":"x","b":"y"},"q":"he said \"hi\"","path":"C:\\dir","items":[{"id":1},{"id":2}],)"
    R"("payload":{"sf_id":"baz"}}})";

// Lives as long as the test cases that point into it (a temporary here was
// read after it was freed: found by AddressSanitizer).
const std::string kWholeEventTemplateOutput = std::string(R"({"e": )") + kEvent + "}";

const TransformContext kCtx{"my-rule", "arn:aws:events:eu-west-1:111122223333:rule/my-rule", "2025-03-01T10:15:31Z"};

struct Case {
  const char* name;
  const char* transformer;  // EventBridge target-input JSON
  const char* expected;     // exact bytes
  const char* content_type = "application/json; charset=utf-8";
};

// The tests below read failures as text: these adapters give them so.
std::shared_ptr<const Transformer> compile(const std::string& json, std::string* error) {
  auto input = parse_target_input(json);
  if (!input) {
    *error = input.status().message();
    return nullptr;
  }
  auto t = Transformer::compile(*input, "t1");
  if (!t) {
    *error = t.status().message();
    return nullptr;
  }
  return *t;
}

bool render(const Transformer& t, std::string_view event, const TransformContext& ctx, Rendered* out,
            std::string* error) {
  auto r = t.render(event, ctx);
  if (!r) {
    *error = r.status().message();
    return false;
  }
  *out = std::move(*r);
  return true;
}

class TransformTest : public ::testing::TestWithParam<Case> {};

TEST_P(TransformTest, DeliversExactlyTheseBytes) {
  const Case& c = GetParam();
  std::string error;
  auto t = compile(c.transformer, &error);
  ASSERT_TRUE(t) << c.name << ": " << error;
  Rendered out;
  ASSERT_TRUE(render(*t, kEvent, kCtx, &out, &error)) << c.name << ": " << error;
  EXPECT_EQ(out.body, c.expected) << c.name;
  EXPECT_EQ(out.content_type, c.content_type) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    Spec, TransformTest,
    ::testing::Values(
        Case{"whole event", "{}", kEvent},
        Case{"constant input", R"({"Input":"{\"fixed\": [1, 2]}"})", R"({"fixed": [1, 2]})"},
        Case{"input path object", R"({"InputPath":"$.detail.payload"})", R"({"sf_id":"baz"})"},
        Case{"input path string", R"({"InputPath":"$.detail.payload.sf_id"})", R"("baz")"},
        Case{"input path number keeps its text", R"({"InputPath":"$.detail.total"})", "1.50"},
        Case{"input path root", R"({"InputPath":"$"})", kEvent},
        Case{"input path index", R"({"InputPath":"$.detail.tags[1]"})", R"("b")"},
        Case{"input path wildcard", R"({"InputPath":"$.detail.items[*].id"})", "[1,2]"},
        Case{"input path selecting nothing", R"({"InputPath":"$.detail.missing"})", "null"},
        Case{
            "string unquoted and quoted",
            R"({"InputTransformer":{"InputPathsMap":{"u":"$.detail.id"},"InputTemplate":"{\"a\": <u>, \"b\": \"<u>\"}"}})",
            R"({"a": "0a787ecb-4015", "b": "0a787ecb-4015"})"},
        Case{
            "number, bool, null",
            R"({"InputTransformer":{"InputPathsMap":{"n":"$.detail.orderId","b":"$.detail.ok","z":"$.detail.none"},"InputTemplate":"{\"n\": <n>, \"b\": <b>, \"z\": <z>, \"s\": \"<n> <b> <z>\"}"}})",
            R"({"n": 42, "b": true, "z": null, "s": "42 true null"})"},
        Case{
            "object and array as values",
            R"({"InputTransformer":{"InputPathsMap":{"o":"$.detail.obj","a":"$.detail.tags"},"InputTemplate":"{\"o\": <o>, \"a\": <a>}"}})",
            R"({"o": {"a":"x","b":"y"}, "a": ["a","b"]})"},
        Case{
            "object and array inside a longer string of a text template",
            R"({"InputTransformer":{"InputPathsMap":{"o":"$.detail.obj","a":"$.detail.tags"},"InputTemplate":"m: \"o=<o> a=<a>\""}})",
            R"(m: "o={a:x,b:y} a=[a,b]")", "text/plain; charset=utf-8"},
        Case{
            "missing path",
            R"({"InputTransformer":{"InputPathsMap":{"m":"$.detail.customer"},"InputTemplate":"{\"v\": <m>, \"s\": \"[<m>]\"}"}})",
            R"({"v": "", "s": "[]"})"},
        Case{
            "same placeholder twice",
            R"({"InputTransformer":{"InputPathsMap":{"id":"$.detail.orderId"},"InputTemplate":"{\"p\": \"users/<id>/second/<id>\"}"}})",
            R"({"p": "users/42/second/42"})"},
        Case{
            "quotes and backslashes are escaped inside strings",
            R"({"InputTransformer":{"InputPathsMap":{"q":"$.detail.q","p":"$.detail.path"},"InputTemplate":"{\"q\": \"<q>\", \"p\": \"<p>\", \"v\": <q>}"}})",
            R"({"q": "he said \"hi\"", "p": "C:\\dir", "v": "he said \"hi\""})"},
        Case{
            "escaped quote in the template is kept",
            R"({"InputTransformer":{"InputPathsMap":{"n":"$.detail.orderId"},"InputTemplate":"{\"a\": \"say \\\"<n>\\\"\"}"}})",
            R"({"a": "say \"42\""})"},
        Case{
            "predefined variables",
            R"({"InputTransformer":{"InputTemplate":"{\"r\": <aws.events.rule-name>, \"arn\": \"<aws.events.rule-arn>\", \"t\": <aws.events.event.ingestion-time>}"}})",
            R"({"r": "my-rule", "arn": "arn:aws:events:eu-west-1:111122223333:rule/my-rule", "t": "2025-03-01T10:15:31Z"})"},
        Case{
            "aws.events.event has detailType and no detail",
            R"({"InputTransformer":{"InputTemplate":"{\"e\": <aws.events.event>}"}})",
            R"({"e": {"id":"e1","account":"111122223333","detailType":"OrderPlaced","time":"2025-03-01T10:15:30Z","source":"shop","region":"eu-west-1","resources":["urn:1"],"version":"0"}})"},
        Case{"aws.events.event.json is the whole event",
             R"({"InputTransformer":{"InputTemplate":"{\"e\": <aws.events.event.json>}"}})",
             kWholeEventTemplateOutput.c_str()},
        Case{
            "text template keeps its quotes",
            R"({"InputTransformer":{"InputPathsMap":{"i":"$.id","s":"$.detail-type"},"InputTemplate":"\"instance <i> is in <s>\""}})",
            R"("instance e1 is in OrderPlaced")", "text/plain; charset=utf-8"},
        Case{"multi-line text template",
             R"({"InputTransformer":{"InputPathsMap":{"i":"$.id"},"InputTemplate":"\"line one <i>\"\n\"line two\""}})",
             "\"line one e1\"\n\"line two\"", "text/plain; charset=utf-8"},
        Case{
            "text template with objects and raw strings",
            R"({"InputTransformer":{"InputPathsMap":{"o":"$.detail.obj","q":"$.detail.q"},"InputTemplate":"\"<o>\" and <q>"}})",
            R"("{a:x,b:y}" and he said "hi")", "text/plain; charset=utf-8"},
        Case{"text template starting with quote and brackets",
             R"({"InputTransformer":{"InputPathsMap":{"n":"$.detail.orderId"},"InputTemplate":"\"{[<n>]}\""}})",
             R"("{[42]}")", "text/plain; charset=utf-8"}));

TEST(TransformTest, ObjectAsTheWholeQuotedStringIsNotDelivered) {
  std::string error;
  auto t = compile(
      R"({"InputTransformer":{"InputPathsMap":{"p":"$.detail.payload"},"InputTemplate":"{\"payload\": \"<p>\"}"}})",
      &error);
  ASSERT_TRUE(t) << error;
  Rendered out;
  EXPECT_FALSE(render(*t, kEvent, kCtx, &out, &error));
  EXPECT_NE(error.find("not valid JSON"), std::string::npos) << error;
}

// Issue 12.14: recorded on EventBridge, "users-service/users/<payload>" with
// an object is not delivered either; only text templates get {a:x,b:y}.
TEST(TransformTest, ObjectOrArrayInsideALongerQuotedStringIsNotDelivered) {
  for (const char* path : {"$.detail.obj", "$.detail.tags"}) {
    std::string error;
    auto t = compile(std::string(R"({"InputTransformer":{"InputPathsMap":{"p":")") + path +
                         R"("},"InputTemplate":"{\"k\": \"users-service/users/<p>\"}"}})",
                     &error);
    ASSERT_TRUE(t) << error;
    Rendered out;
    EXPECT_FALSE(render(*t, kEvent, kCtx, &out, &error)) << out.body;
    EXPECT_NE(error.find("not valid JSON"), std::string::npos) << error;
  }
}

struct BadCase {
  const char* transformer;
  const char* error;
};

class TransformerErrorTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(TransformerErrorTest, IsRefusedAtCompileTime) {
  std::string error;
  EXPECT_FALSE(compile(GetParam().transformer, &error)) << GetParam().transformer;
  EXPECT_NE(error.find(GetParam().error), std::string::npos) << error;
}

INSTANTIATE_TEST_SUITE_P(
    Spec, TransformerErrorTest,
    ::testing::Values(
        BadCase{R"({"Input":"{}","InputPath":"$"})",
                "Only one of Input, InputPath, or InputTransformer must be provided for target"},
        BadCase{R"({"InputTransformer":{"InputPathsMap":{"a":"$.x"},"InputTemplate":"{\"v\": <b>}"}})",
                "InputTemplate for target t1 contains invalid placeholder b."},
        BadCase{R"({"InputTransformer":{"InputPathsMap":{"aws.events.rule-name":"$.x"},"InputTemplate":"<x>"}})",
                "predefined variable"},
        BadCase{R"({"InputTransformer":{"InputPathsMap":{"AWSthing":"$.x"},"InputTemplate":"\"<AWSthing>\""}})",
                "invalid variable name 'AWSthing'"},
        BadCase{R"({"InputTransformer":{"InputPathsMap":{"a.b":"$.x"},"InputTemplate":"\"x\""}})",
                "invalid variable name 'a.b'"},
        BadCase{R"({"InputTransformer":{"InputPathsMap":{"a":"detail.x"},"InputTemplate":"\"<a>\""}})",
                "is not a valid JSONPath"},
        BadCase{R"({"InputTransformer":{"InputPathsMap":{"a":"$.x y"},"InputTemplate":"\"<a>\""}})",
                "is not a valid JSONPath"},
        BadCase{R"({"InputTransformer":{"InputPathsMap":{"a":"$.x['y']"},"InputTemplate":"\"<a>\""}})",
                "is not a valid JSONPath"},
        BadCase{R"({"InputPath":"$..x"})", "InputPath for target t1 is not a valid JSONPath"},
        BadCase{R"({"InputTransformer":{"InputTemplate":""}})", "must be 1 to 8192 characters"},
        BadCase{R"({"InputTransformer":{"InputPathsMap":{"a":"$.x"},"InputTemplate":"{\"v\": <a>"}})",
                "InputTemplate for target t1 is not valid JSON"},
        BadCase{R"({"InputTransformer":{"InputTemplate":"{\"e\": \"<aws.events.event>\"}"}})",
                "can only be used as a JSON value"},
        BadCase{R"({"Input":"not json"})", "Input for target t1 is not valid JSON"},
        BadCase{R"({"InputTransformer":{"InputPathsMap":{}}})", "InputTemplate is required"}));

TEST(TransformerLimitsTest, HundredVariablesButNotMore) {
  auto with = [](int n) {
    std::string map, tpl = "{";
    for (int i = 0; i < n; ++i) {
      map += std::string(i ? "," : "") + "\"v" + std::to_string(i) + "\":\"$.detail.orderId\"";
      tpl += std::string(i ? "," : "") + "\\\"k" + std::to_string(i) + "\\\": <v" + std::to_string(i) + ">";
    }
    return R"({"InputTransformer":{"InputPathsMap":{)" + map + R"(},"InputTemplate":")" + tpl + R"(}"}})";
  };
  std::string error;
  auto t = compile(with(100), &error);
  ASSERT_TRUE(t) << error;
  Rendered out;
  ASSERT_TRUE(render(*t, kEvent, kCtx, &out, &error)) << error;
  EXPECT_EQ(out.body.rfind("{\"k0\": 42,", 0), 0u) << out.body;
  EXPECT_FALSE(compile(with(101), &error));
  EXPECT_NE(error.find("at most 100"), std::string::npos) << error;
}

// Issue 13.6: an event is parsed once for all of its targets, and not at
// all when none reads inside it.
TEST(EventDocumentTest, IsParsedOnceForEveryTargetThatReadsIt) {
  std::string error;
  auto path = compile(R"({"InputPath":"$.detail.payload"})", &error);
  auto tpl = compile(R"({"InputTransformer":{"InputPathsMap":{"p":"$.detail.total"},"InputTemplate":"<p>"}})", &error);
  auto whole = compile("{}", &error);
  ASSERT_TRUE(path && tpl && whole) << error;
  EventDocument untouched(kEvent);
  ASSERT_TRUE(whole->render(untouched, kCtx));
  EXPECT_EQ(untouched.parses(), 0);
  EventDocument doc(kEvent);
  ASSERT_TRUE(path->render(doc, kCtx));
  ASSERT_TRUE(tpl->render(doc, kCtx));
  EXPECT_EQ(*resolve_dynamic_value(doc, "$.detail.payload.sf_id"), "baz");
  EXPECT_EQ(resolve_dynamic_value(doc, "$.detail.missing").status().code(), core::Code::kNotFound);
  EXPECT_EQ(*resolve_dynamic_value(doc, "constant"), "constant");
  EXPECT_EQ(doc.parses(), 1);
  EventDocument broken("{not json");
  EXPECT_FALSE(path->render(broken, kCtx));
  EXPECT_FALSE(tpl->render(broken, kCtx));
  EXPECT_EQ(broken.parses(), 1) << "a failed parse is not repeated either";
}

}  // namespace
}  // namespace switchyard::rules
