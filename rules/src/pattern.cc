#include "pattern.h"

#include <algorithm>
#include <map>
#include <set>

#include "json_tree.h"

namespace switchyard::rules::internal {
namespace {

const std::set<std::string, std::less<>> kReservedInOr = {"exactly",
                                                          "equals-ignore-case",
                                                          "prefix",
                                                          "suffix",
                                                          "anything-but",
                                                          "exists",
                                                          "wildcard",
                                                          "numeric",
                                                          "cidr",
                                                          "=",
                                                          "<",
                                                          "<=",
                                                          ">",
                                                          ">=",
                                                          "regex",
                                                          "not-wildcard",
                                                          "not-equals-ignore-case",
                                                          "date-after",
                                                          "date-on-or-after",
                                                          "date-before",
                                                          "date-on-or-before",
                                                          "in-date-range",
                                                          "ip-address-in-range",
                                                          "ip-address-not-in-range"};

struct Failure {
  std::string reason;
};

class Compiler {
 public:
  Compiler(const CompileOptions& options) : options_(options) {}

  void compile(const JsonNode& root, std::vector<Alternative>* out) {
    if (!root.is_object()) throw Failure{"Filter is not an object"};
    std::vector<Alternative> combos(1);
    object(root, "", false, combos);
    check_wildcard_complexity(combos);
    *out = std::move(combos);
  }

  const std::string& path() const { return path_; }

 private:
  static std::string join(const std::string& prefix, const std::string& key) {
    return prefix.empty() ? key : prefix + "." + key;
  }

  void object(const JsonNode& obj, const std::string& prefix, bool inside_or, std::vector<Alternative>& combos) {
    if (obj.members.empty()) {
      path_ = prefix;
      throw Failure{"Empty objects are not allowed"};
    }
    for (const auto& [key, value] : obj.members) {
      if (key == "$or") {
        or_relationship(value, prefix, combos);
        continue;
      }
      const std::string path = join(prefix, key);
      path_ = path;
      if (inside_or && kReservedInOr.count(key))
        throw Failure{key + " is Ruler reserved fieldName which cannot be used inside $or."};
      if (value.is_object()) {
        object(value, path, inside_or, combos);
      } else if (value.is_array()) {
        Leaf leaf{path, leaf_conditions(value)};
        for (auto& combo : combos) put(combo, leaf);
      } else {
        throw Failure{"\"" + key + "\" must be an object or an array"};
      }
    }
  }

  // The last write of a path wins, also when a $or branch rewrites a path
  // given outside it.
  static void put(Alternative& combo, const Leaf& leaf) {
    for (auto& l : combo) {
      if (l.path == leaf.path) {
        l = leaf;
        return;
      }
    }
    combo.push_back(leaf);
  }

  void or_relationship(const JsonNode& value, const std::string& prefix, std::vector<Alternative>& combos) {
    path_ = join(prefix, "$or");
    if (!value.is_array()) throw Failure{"It must be an Array followed with $or."};
    std::vector<Alternative> result;
    for (const auto& element : value.elements) {
      if (!element.is_object()) throw Failure{"Only JSON object is allowed in array of $or relationship."};
      std::vector<Alternative> forked = combos;
      object(element, prefix, true, forked);
      for (auto& f : forked) result.push_back(std::move(f));
      if (result.size() > options_.max_or_combinations) {
        path_ = join(prefix, "$or");
        throw Failure{"The pattern's $or expressions produce more than " +
                      std::to_string(options_.max_or_combinations) + " combinations"};
      }
    }
    if (value.elements.size() < 2) {
      path_ = join(prefix, "$or");
      throw Failure{"There must have at least 2 Objects in $or relationship."};
    }
    combos = std::move(result);
  }

  std::vector<Condition> leaf_conditions(const JsonNode& array) {
    if (array.elements.empty()) throw Failure{"Empty arrays are not allowed"};
    std::vector<Condition> out;
    for (const auto& v : array.elements) {
      Condition c;
      switch (v.type) {
        case JsonNode::Type::kString:
          c.op = Op::kExactString;
          c.text = v.text;
          break;
        case JsonNode::Type::kNumber: {
          const Number n = parse_number(v.text);
          c.op = n.comparable ? Op::kExactNumber : Op::kExactNumberText;
          c.number = n.value;
          c.text = v.text;
          break;
        }
        case JsonNode::Type::kTrue: c.op = Op::kTrue; break;
        case JsonNode::Type::kFalse: c.op = Op::kFalse; break;
        case JsonNode::Type::kNull: c.op = Op::kNull; break;
        case JsonNode::Type::kObject: c = match_expression(v); break;
        case JsonNode::Type::kArray: throw Failure{"Match value must be String, number, true, false, or null"};
      }
      out.push_back(std::move(c));
    }
    return out;
  }

  static void one_key(const JsonNode& obj) {
    if (obj.members.size() > 1) throw Failure{"Only one key allowed in match expression"};
  }

  Condition match_expression(const JsonNode& expr) {
    if (expr.members.empty()) throw Failure{"Match expression name not found"};
    const std::string& name = expr.members[0].first;
    const JsonNode& v = expr.members[0].second;
    Condition c;
    if (name == "prefix" || name == "suffix") {
      const bool prefix = name == "prefix";
      if (v.is_object()) {
        if (v.members.empty())
          throw Failure{prefix ? "Prefix expression name not found" : "Suffix expression name not found"};
        if (v.members[0].first != "equals-ignore-case")
          throw Failure{std::string(prefix ? "Unsupported prefix pattern: " : "Unsupported suffix pattern: ") +
                        v.members[0].first};
        if (!v.members[0].second.is_string()) throw Failure{"equals-ignore-case match pattern must be a string"};
        one_key(v);
        one_key(expr);
        c.op = prefix ? Op::kPrefixIgnoreCase : Op::kSuffixIgnoreCase;
        c.ignore_case.compile(v.members[0].second.text);
        return c;
      }
      if (!v.is_string()) throw Failure{name + " match pattern must be a string"};
      one_key(expr);
      c.op = prefix ? Op::kPrefix : Op::kSuffix;
      c.text = v.text;
      return c;
    }
    if (name == "equals-ignore-case") {
      if (!v.is_string()) throw Failure{"equals-ignore-case match pattern must be a string"};
      one_key(expr);
      c.op = Op::kEqualsIgnoreCase;
      c.ignore_case.compile(v.text);
      return c;
    }
    if (name == "wildcard") {
      if (!v.is_string()) throw Failure{"wildcard match pattern must be a string"};
      std::string error;
      if (!c.wildcard.parse(v.text, &error)) throw Failure{error};
      one_key(expr);
      c.op = Op::kWildcard;
      return c;
    }
    if (name == "exists") {
      if (!v.is_bool()) throw Failure{"exists match pattern must be either true or false."};
      one_key(expr);
      c.op = v.type == JsonNode::Type::kTrue ? Op::kExists : Op::kNotExists;
      return c;
    }
    if (name == "cidr") {
      if (!v.is_string()) throw Failure{"prefix match pattern must be a string"};
      std::string error;
      if (!c.cidr.parse(v.text, &error)) throw Failure{error};
      one_key(expr);
      c.op = Op::kCidr;
      return c;
    }
    if (name == "numeric") {
      if (!v.is_array()) throw Failure{"Value of numeric must be an array."};
      c.op = Op::kNumeric;
      c.range = numeric(v);
      one_key(expr);
      return c;
    }
    if (name == "anything-but") {
      c = anything_but(v);
      one_key(expr);
      return c;
    }
    throw Failure{"Unrecognized match type " + name};
  }

  static double numeric_operand(const std::vector<JsonNode>& e, size_t i, const std::string& op) {
    if (i >= e.size() || !e[i].is_number()) throw Failure{"Value of " + op + " must be numeric"};
    const Number n = parse_number(e[i].text);
    if (!n.comparable) throw Failure{"Cannot compare number : " + e[i].text};
    return n.value;
  }

  static NumericRange numeric(const JsonNode& array) {
    const auto& e = array.elements;
    if (e.empty()) throw Failure{"Invalid member in numeric match: ]"};
    if (!e[0].is_string()) throw Failure{"Invalid member in numeric match: " + e[0].text};
    const std::string& op = e[0].text;
    NumericRange r;
    if (op == "=") {
      r.has_lo = r.has_hi = r.lo_inclusive = r.hi_inclusive = true;
      r.lo = r.hi = numeric_operand(e, 1, op);
      if (e.size() > 2) throw Failure{"Too many elements in numeric expression"};
      return r;
    }
    if (op == "<" || op == "<=") {
      r.has_hi = true;
      r.hi_inclusive = op == "<=";
      r.hi = numeric_operand(e, 1, op);
      if (e.size() > 2) throw Failure{"Too many elements in numeric expression"};
      return r;
    }
    if (op != ">" && op != ">=") throw Failure{"Unrecognized numeric range operator: " + op};
    r.has_lo = true;
    r.lo_inclusive = op == ">=";
    r.lo = numeric_operand(e, 1, op);
    if (e.size() == 2) return r;
    if (!e[2].is_string()) throw Failure{"Invalid member in numeric match: " + e[2].text};
    const std::string& op2 = e[2].text;
    if (op2 == ">" || op2 == ">=" || op2 == "=") throw Failure{"Bad numeric range operator: " + op2};
    if (op2 != "<" && op2 != "<=") throw Failure{"Unrecognized numeric range operator: " + op2};
    r.has_hi = true;
    r.hi_inclusive = op2 == "<=";
    r.hi = numeric_operand(e, 3, op2);
    if (e.size() > 4) throw Failure{"Too many elements in numeric expression"};
    if (!(r.lo < r.hi)) throw Failure{"Bottom must be less than top"};
    return r;
  }

  static Condition anything_but(const JsonNode& v) {
    static constexpr const char* kShape = "Value of anything-but must be an array or single string/number value.";
    Condition c;
    if (v.is_string()) {
      c.op = Op::kAnythingButStrings;
      c.strings = {v.text};
      return c;
    }
    if (v.is_number()) {
      return anything_but_numbers({&v});
    }
    if (v.is_array()) {
      std::vector<const JsonNode*> items;
      bool strings = false, numbers = false;
      for (const auto& e : v.elements) {
        if (e.is_string())
          strings = true;
        else if (e.is_number())
          numbers = true;
        else
          throw Failure{"Inside anything but list, start|null|boolean is not supported."};
        items.push_back(&e);
      }
      if (strings == numbers)
        throw Failure{"Inside anything but list, either all values are number or string, mixed type is not supported"};
      if (numbers) return anything_but_numbers(items);
      c.op = Op::kAnythingButStrings;
      for (const auto* e : items) c.strings.push_back(e->text);
      return c;
    }
    if (!v.is_object()) throw Failure{kShape};
    if (v.members.empty()) throw Failure{"Anything-But expression name not found"};
    if (v.members.size() > 1) throw Failure{"Only one key allowed in match expression"};
    const std::string& op = v.members[0].first;
    const JsonNode& arg = v.members[0].second;
    std::vector<const JsonNode*> values;
    if (arg.is_array()) {
      for (const auto& e : arg.elements) values.push_back(&e);
    } else if (arg.is_string() || arg.is_number()) {
      values.push_back(&arg);
    } else if (op == "prefix" || op == "suffix" || op == "equals-ignore-case" || op == "wildcard") {
      throw Failure{kShape};
    }
    if (op == "prefix" || op == "suffix") {
      c.op = op == "prefix" ? Op::kAnythingButPrefix : Op::kAnythingButSuffix;
      for (const auto* e : values) {
        if (!e->is_string()) throw Failure{"prefix/suffix match pattern must be a string"};
        if (e->text.empty()) throw Failure{"Null prefix/suffix not allowed"};
        c.strings.push_back(e->text);
      }
      if (c.strings.empty()) throw Failure{"prefix/suffix match pattern must be a string"};
      return c;
    }
    if (op == "equals-ignore-case") {
      c.op = Op::kAnythingButIgnoreCase;
      for (const auto* e : values) {
        if (!e->is_string())
          throw Failure{"Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported."};
        c.ignore_cases.emplace_back().compile(e->text);
      }
      if (c.ignore_cases.empty())
        throw Failure{"Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported."};
      return c;
    }
    if (op == "wildcard") {
      c.op = Op::kAnythingButWildcard;
      for (const auto* e : values) {
        if (!e->is_string()) throw Failure{"wildcard match pattern must be a string"};
        std::string error;
        if (!c.wildcards.emplace_back().parse(e->text, &error)) throw Failure{error};
      }
      if (c.wildcards.empty()) throw Failure{"wildcard match pattern must be a string"};
      return c;
    }
    throw Failure{"Unsupported anything-but pattern: " + op};
  }

  static Condition anything_but_numbers(const std::vector<const JsonNode*>& items) {
    Condition c;
    c.op = Op::kAnythingButNumbers;
    for (const auto* e : items) {
      const Number n = parse_number(e->text);
      if (n.comparable) {
        c.numbers.push_back(n.value);
      } else {
        c.strings.push_back(e->text);  // excluded by exact text
      }
    }
    return c;
  }

  void check_wildcard_complexity(const std::vector<Alternative>& combos) {
    std::map<std::string, std::vector<const Wildcard*>> by_path;
    std::map<std::string, std::set<std::vector<int16_t>>> seen;
    for (const auto& combo : combos)
      for (const auto& leaf : combo)
        for (const auto& c : leaf.conditions) {
          auto add = [&](const Wildcard& w) {
            if (seen[leaf.path].insert(w.tokens()).second) by_path[leaf.path].push_back(&w);
          };
          if (c.op == Op::kWildcard) add(c.wildcard);
          for (const auto& w : c.wildcards) add(w);
        }
    for (const auto& [path, patterns] : by_path) {
      if (wildcard_complexity(patterns, options_.max_wildcard_complexity) > options_.max_wildcard_complexity) {
        path_ = path;
        throw Failure{kTooComplex};
      }
    }
  }

  const CompileOptions& options_;
  std::string path_;
};

size_t utf8_length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

bool compile_pattern(std::string_view text, const CompileOptions& options, std::vector<Alternative>* out,
                     PatternError* error) {
  if (options.max_pattern_length && utf8_length(text) > options.max_pattern_length) {
    *error = {"Event pattern is longer than " + std::to_string(options.max_pattern_length) + " characters", ""};
    return false;
  }
  auto parsed = parse_json(text);
  if (!parsed) {
    *error = {parsed.status().message(), ""};
    return false;
  }
  const JsonNode root = std::move(*parsed);
  Compiler compiler(options);
  try {
    compiler.compile(root, out);
  } catch (const Failure& f) {
    *error = {f.reason, compiler.path()};
    return false;
  }
  return true;
}

}  // namespace switchyard::rules::internal
