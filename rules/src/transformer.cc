#include "switchyard/rules/transformer.h"

#include <algorithm>
#include <map>
#include <regex>

#include "json_tree.h"

namespace switchyard::rules {

using internal::JsonNode;

namespace {

constexpr size_t kMaxPaths = 100;
constexpr size_t kMaxPathLength = 256;
constexpr size_t kMaxTemplateLength = 8192;
constexpr size_t kMaxInputLength = 8192;
constexpr const char* kJsonType = "application/json; charset=utf-8";
constexpr const char* kTextType = "text/plain; charset=utf-8";

// One step of the JSONPath subset EventBridge accepts:
// \$(\.[\w/_-]+(\[(\d+|\*)\])*)*  (also ".*" as a wildcard step).
struct Step {
  enum class Kind { kName, kIndex, kAll };
  Kind kind;
  std::string name;
  size_t index = 0;
};

struct Path {
  std::vector<Step> steps;
  bool definite = true;  // no wildcard: selects at most one value
};

bool parse_path(std::string_view text, Path* out) {
  if (text.empty() || text[0] != '$' || text.size() > kMaxPathLength) return false;
  size_t i = 1;
  auto name_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '/';
  };
  while (i < text.size()) {
    if (text[i] == '.') {
      ++i;
      if (i < text.size() && text[i] == '*') {
        out->steps.push_back({Step::Kind::kAll, "", 0});
        out->definite = false;
        ++i;
        continue;
      }
      const size_t start = i;
      while (i < text.size() && name_char(text[i])) ++i;
      if (i == start) return false;
      out->steps.push_back({Step::Kind::kName, std::string(text.substr(start, i - start)), 0});
    } else if (text[i] == '[') {
      const size_t close = text.find(']', i);
      if (close == std::string_view::npos || close == i + 1) return false;
      const std::string_view inside = text.substr(i + 1, close - i - 1);
      if (inside == "*") {
        out->steps.push_back({Step::Kind::kAll, "", 0});
        out->definite = false;
      } else {
        if (!std::all_of(inside.begin(), inside.end(), ::isdigit) || inside.size() > 9) return false;
        out->steps.push_back({Step::Kind::kIndex, "", static_cast<size_t>(std::stoul(std::string(inside)))});
      }
      i = close + 1;
    } else {
      return false;
    }
  }
  return true;
}

void select(const JsonNode& node, const std::vector<Step>& steps, size_t at, std::vector<const JsonNode*>& out) {
  if (at == steps.size()) {
    out.push_back(&node);
    return;
  }
  const Step& s = steps[at];
  switch (s.kind) {
    case Step::Kind::kName:
      if (node.is_object())
        for (const auto& m : node.members)
          if (m.first == s.name) select(m.second, steps, at + 1, out);
      break;
    case Step::Kind::kIndex:
      if (node.is_array() && s.index < node.elements.size()) select(node.elements[s.index], steps, at + 1, out);
      break;
    case Step::Kind::kAll:
      if (node.is_array())
        for (const auto& e : node.elements) select(e, steps, at + 1, out);
      else if (node.is_object())
        for (const auto& m : node.members) select(m.second, steps, at + 1, out);
      break;
  }
}

// The value a path selects: one node for a definite path, an array of every
// match for one with a wildcard. Returns false when nothing is selected.
bool evaluate(const JsonNode& root, const Path& path, JsonNode* owned, const JsonNode** out) {
  std::vector<const JsonNode*> found;
  select(root, path.steps, 0, found);
  if (path.definite) {
    if (found.empty()) return false;
    *out = found[0];
    return true;
  }
  if (found.empty()) return false;
  owned->type = JsonNode::Type::kArray;
  owned->elements.clear();
  for (const auto* f : found) owned->elements.push_back(*f);
  *out = owned;
  return true;
}

enum class Predefined { kNone, kRuleName, kRuleArn, kIngestionTime, kEvent, kEventJson };

Predefined predefined(std::string_view name) {
  if (name == "aws.events.rule-name") return Predefined::kRuleName;
  if (name == "aws.events.rule-arn") return Predefined::kRuleArn;
  if (name == "aws.events.event.ingestion-time") return Predefined::kIngestionTime;
  if (name == "aws.events.event") return Predefined::kEvent;
  if (name == "aws.events.event.json") return Predefined::kEventJson;
  return Predefined::kNone;
}

struct Piece {
  std::string literal;  // text before the placeholder (or the tail)
  bool has_var = false;
  bool in_string = false;  // the placeholder sits inside a JSON string
  Predefined predefined = Predefined::kNone;
  size_t variable = 0;  // index into paths when not predefined
  std::string name;
};

// Appends s JSON-escaped without the surrounding quotes.
void append_escaped(std::string& out, std::string_view s) {
  std::string quoted;
  internal::append_json_string(quoted, s);
  out.append(quoted, 1, quoted.size() - 2);
}

}  // namespace

class TransformerImpl {
 public:
  TargetInput::Kind kind = TargetInput::Kind::kWholeEvent;
  std::string constant;
  Path input_path;
  std::vector<Path> paths;
  std::vector<Piece> pieces;
  bool json_template = false;
};

Transformer::Transformer(std::unique_ptr<TransformerImpl> impl) : impl_(std::move(impl)) {}
Transformer::~Transformer() = default;
bool Transformer::is_whole_event() const { return impl_->kind == TargetInput::Kind::kWholeEvent; }

core::Result<std::shared_ptr<const Transformer>> Transformer::compile(const TargetInput& input, const std::string& id) {
  auto impl = std::make_unique<TransformerImpl>();
  impl->kind = input.kind;
  const std::string target = "target " + id;
  switch (input.kind) {
    case TargetInput::Kind::kWholeEvent: break;
    case TargetInput::Kind::kConstant: {
      if (input.input.empty() || input.input.size() > kMaxInputLength) {
        return core::Status::invalid_argument("Input for " + target + " must be 1 to 8192 characters of JSON text");
      }
      if (auto parsed = internal::parse_json(input.input); !parsed)
        return core::Status::invalid_argument("Input for " + target +
                                              " is not valid JSON: " + parsed.status().message());
      impl->constant = input.input;
      break;
    }
    case TargetInput::Kind::kInputPath:
      if (!parse_path(input.input_path, &impl->input_path)) {
        return core::Status::invalid_argument("InputPath for " + target + " is not a valid JSONPath: '" +
                                              input.input_path + "'");
      }
      break;
    case TargetInput::Kind::kTransformer: {
      if (input.paths_map.size() > kMaxPaths) {
        return core::Status::invalid_argument("InputPathsMap for " + target + " has " +
                                              std::to_string(input.paths_map.size()) +
                                              " entries; at most 100 are allowed");
      }
      static const std::regex kVar("[A-Za-z0-9_-]{1,256}");
      std::map<std::string, size_t> vars;
      for (const auto& [name, path] : input.paths_map) {
        if (predefined(name) != Predefined::kNone) {
          return core::Status::invalid_argument("InputPathsMap for " + target + ": " + name +
                                                " is a predefined variable and cannot be redefined");
        }
        if (!std::regex_match(name, kVar) || name.rfind("AWS", 0) == 0) {
          return core::Status::invalid_argument("InputPathsMap for " + target + ": invalid variable name '" + name +
                                                "' (1 to 256 letters, digits, '_' or '-', not starting with AWS)");
        }
        Path p;
        if (!parse_path(path, &p)) {
          return core::Status::invalid_argument("InputPathsMap for " + target + ": '" + path + "' of variable " + name +
                                                " is not a valid JSONPath");
        }
        vars[name] = impl->paths.size();
        impl->paths.push_back(std::move(p));
      }
      const std::string& t = input.input_template;
      if (t.empty() || t.size() > kMaxTemplateLength) {
        return core::Status::invalid_argument("InputTemplate for " + target + " must be 1 to 8192 characters");
      }
      const size_t first = t.find_first_not_of(" \t\r\n");
      impl->json_template = first != std::string::npos && t[first] == '{';
      // Split into literal text and placeholders, noting which placeholders
      // sit inside a quoted string.
      static const std::regex kPlaceholder("<([A-Za-z0-9_.\\-]+)>");
      bool in_string = false;
      Piece current;
      for (size_t i = 0; i < t.size();) {
        const char c = t[i];
        if (c == '<') {
          std::cmatch m;
          if (std::regex_search(t.c_str() + i, t.c_str() + t.size(), m, kPlaceholder,
                                std::regex_constants::match_continuous)) {
            const std::string name = m[1].str();
            Piece p = std::move(current);
            current = Piece();
            p.has_var = true;
            p.in_string = in_string;
            p.name = name;
            p.predefined = predefined(name);
            if (p.predefined == Predefined::kNone) {
              auto it = vars.find(name);
              if (it == vars.end()) {
                return core::Status::invalid_argument("InputTemplate for " + target + " contains invalid placeholder " +
                                                      name + ".");
              }
              p.variable = it->second;
            } else if ((p.predefined == Predefined::kEvent || p.predefined == Predefined::kEventJson) && in_string) {
              return core::Status::invalid_argument("InputTemplate for " + target + ": <" + name +
                                                    "> can only be used as a JSON value, not inside a string");
            }
            impl->pieces.push_back(std::move(p));
            i += m.length(0);
            continue;
          }
        }
        if (c == '\\' && in_string && i + 1 < t.size()) {
          current.literal += c;
          current.literal += t[i + 1];
          i += 2;
          continue;
        }
        if (c == '"') in_string = !in_string;
        current.literal += c;
        ++i;
      }
      impl->pieces.push_back(std::move(current));
      if (impl->json_template) {
        // The template must give JSON for any value: try it with neutral ones.
        std::string probe;
        for (const auto& p : impl->pieces) {
          probe += p.literal;
          if (p.has_var) probe += p.in_string ? "x" : "null";
        }
        if (auto parsed = internal::parse_json(probe); !parsed)
          return core::Status::invalid_argument("InputTemplate for " + target +
                                                " is not valid JSON: " + parsed.status().message());
      }
      break;
    }
  }
  return std::shared_ptr<const Transformer>(new Transformer(std::move(impl)));
}

namespace {

// aws.events.event: the envelope without detail, detail-type as detailType,
// its keys in the order AWS renders them (recorded on EventBridge); keys AWS
// does not name there (replay-name) follow in the event's own order.
std::string event_without_detail(const JsonNode& event) {
  static constexpr std::string_view kOrder[] = {"id",     "account", "detail-type", "time",
                                                "source", "region",  "resources",   "version"};
  JsonNode copy;
  copy.type = JsonNode::Type::kObject;
  auto add = [&copy](const internal::JsonMember& m) {
    copy.members.push_back({m.first == "detail-type" ? "detailType" : m.first, m.second});
  };
  for (const std::string_view key : kOrder)
    for (const auto& m : event.members)
      if (m.first == key) add(m);
  for (const auto& m : event.members)
    if (m.first != "detail" && std::find(std::begin(kOrder), std::end(kOrder), m.first) == std::end(kOrder)) add(m);
  return internal::to_json(copy);
}

}  // namespace

core::Result<Rendered> Transformer::render(const EventDocument& document, const TransformContext& ctx) const {
  const TransformerImpl& t = *impl_;
  Rendered out;
  out.content_type = kJsonType;
  if (t.kind == TargetInput::Kind::kWholeEvent) {
    out.body = std::string(document.json());
    return out;
  }
  if (t.kind == TargetInput::Kind::kConstant) {
    out.body = t.constant;
    return out;
  }
  const auto tree = document.tree();
  if (!tree) return core::Status::invalid_argument("the event is not valid JSON: " + tree.status().message());
  const JsonNode& event = **tree;
  if (t.kind == TargetInput::Kind::kInputPath) {
    JsonNode owned;
    const JsonNode* v = nullptr;
    out.body = evaluate(event, t.input_path, &owned, &v) ? internal::to_json(*v) : "null";
    return out;
  }
  std::string& body = out.body;
  body.clear();
  for (const Piece& p : t.pieces) {
    body += p.literal;
    if (!p.has_var) continue;
    JsonNode scalar;
    const JsonNode* v = nullptr;
    JsonNode owned;
    switch (p.predefined) {
      case Predefined::kRuleName:
        scalar.type = JsonNode::Type::kString;
        scalar.text = ctx.rule_name;
        v = &scalar;
        break;
      case Predefined::kRuleArn:
        scalar.type = JsonNode::Type::kString;
        scalar.text = ctx.rule_arn;
        v = &scalar;
        break;
      case Predefined::kIngestionTime:
        scalar.type = JsonNode::Type::kString;
        scalar.text = ctx.ingestion_time;
        v = &scalar;
        break;
      case Predefined::kEvent: body += event_without_detail(event); continue;
      case Predefined::kEventJson: body += internal::to_json(event); continue;
      case Predefined::kNone:
        if (!evaluate(event, t.paths[p.variable], &owned, &v)) v = nullptr;
        break;
    }
    if (v == nullptr) {  // the path selects nothing
      if (!p.in_string && t.json_template) body += "\"\"";
      continue;
    }
    const bool compound = v->is_object() || v->is_array();
    if (p.in_string) {
      if (compound) {
        if (t.json_template) {
          // An object or array inside a quoted string of a JSON template,
          // alone or with other text around it: AWS inserts its JSON text,
          // which breaks the string, and does not deliver the event.
          return core::Status::invalid_argument(
              "<" + p.name + "> holds an object or array inside a quoted string: the output is not valid JSON");
        }
        std::string text = internal::to_json(*v);
        text.erase(std::remove(text.begin(), text.end(), '"'), text.end());
        body += text;
      } else if (v->is_string()) {
        if (t.json_template)
          append_escaped(body, v->text);
        else
          body += v->text;
      } else {
        body += internal::to_json(*v);
      }
      continue;
    }
    if (v->is_string() && !t.json_template) {
      body += v->text;  // plain text around it
    } else {
      body += internal::to_json(*v);
    }
  }
  if (t.json_template) {
    if (auto check = internal::parse_json(body); !check)
      return core::Status::invalid_argument("the transformed input is not valid JSON: " + check.status().message());
  } else {
    out.content_type = kTextType;
  }
  return out;
}

bool is_dynamic_value(std::string_view value) { return !value.empty() && value[0] == '$'; }

core::Result<std::string> resolve_dynamic_value(const EventDocument& document, std::string_view value) {
  if (!is_dynamic_value(value)) return std::string(value);
  Path path;
  if (!parse_path(value, &path)) return core::Status::not_found("the path is not valid");
  const auto tree = document.tree();
  if (!tree) return tree.status();
  JsonNode owned;
  const JsonNode* v = nullptr;
  if (!evaluate(**tree, path, &owned, &v)) return core::Status::not_found("the path selects nothing");
  return v->is_string() ? v->text : internal::to_json(*v);
}

EventDocument::EventDocument(std::string_view json) : json_(json) {}
EventDocument::~EventDocument() = default;

core::Result<const JsonNode*> EventDocument::tree() const {
  if (!tree_ && error_.empty()) {
    ++parses_;
    auto parsed = internal::parse_json(json_);
    if (parsed)
      tree_ = std::make_unique<JsonNode>(std::move(*parsed));
    else
      error_ = parsed.status().message();
  }
  if (!tree_) return core::Status::invalid_argument(error_);
  return static_cast<const JsonNode*>(tree_.get());
}

core::Result<TargetInput> parse_target_input(std::string_view json) {
  const auto parsed = internal::parse_json(json);
  if (!parsed) return parsed.status();
  const JsonNode& root = *parsed;
  if (!root.is_object()) return core::Status::invalid_argument("the transformer must be a JSON object");
  TargetInput result;
  TargetInput* out = &result;
  int kinds = 0;
  for (const auto& [key, value] : root.members) {
    if (key == "Input") {
      if (!value.is_string()) return core::Status::invalid_argument("Input must be a string holding JSON text");
      out->kind = TargetInput::Kind::kConstant;
      out->input = value.text;
      ++kinds;
    } else if (key == "InputPath") {
      if (!value.is_string()) return core::Status::invalid_argument("InputPath must be a string");
      out->kind = TargetInput::Kind::kInputPath;
      out->input_path = value.text;
      ++kinds;
    } else if (key == "InputTransformer") {
      if (!value.is_object()) return core::Status::invalid_argument("InputTransformer must be an object");
      out->kind = TargetInput::Kind::kTransformer;
      ++kinds;
      bool has_template = false;
      for (const auto& [k, v] : value.members) {
        if (k == "InputPathsMap") {
          if (!v.is_object()) return core::Status::invalid_argument("InputPathsMap must be an object");
          for (const auto& [name, path] : v.members) {
            if (!path.is_string())
              return core::Status::invalid_argument("InputPathsMap value of " + name + " must be a string");
            out->paths_map.emplace_back(name, path.text);
          }
        } else if (k == "InputTemplate") {
          if (!v.is_string()) return core::Status::invalid_argument("InputTemplate must be a string");
          out->input_template = v.text;
          has_template = true;
        } else {
          return core::Status::invalid_argument("unknown key " + k + " in InputTransformer");
        }
      }
      if (!has_template) return core::Status::invalid_argument("InputTemplate is required in InputTransformer");
    } else {
      return core::Status::invalid_argument("unknown key " + key + " (expected Input, InputPath or InputTransformer)");
    }
  }
  if (kinds > 1)
    return core::Status::invalid_argument(
        "Only one of Input, InputPath, or InputTransformer must be provided for target target.");
  return result;
}

}  // namespace switchyard::rules
