#include "yaml_guard.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <map>
#include <sstream>
#include <unordered_map>

namespace switchyard::config::internal {
namespace {

class Guard : public YAML::EventHandler {
 public:
  Guard(const YamlLimits& limits, std::vector<YamlProblem>* problems) : limits_(limits), problems_(problems) {}

  bool over() const { return over_; }

  void OnDocumentStart(const YAML::Mark& mark) override { document_start_ = mark; }
  const YAML::Mark& document_start() const { return document_start_; }
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override { leaf(mark, anchor, nullptr); }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    const auto it = sizes_.find(anchor);
    const uint64_t size = it == sizes_.end() ? 1 : it->second;
    alias_nodes_ = saturating_add(alias_nodes_, size);
    if (alias_nodes_ > limits_.max_alias_nodes && !over_) {
      over_ = true;
      problems_->push_back({mark.line + 1, mark.column + 1,
                            "aliases expand to more than " + std::to_string(limits_.max_alias_nodes) +
                                " nodes; write the configuration without nested aliases"});
    }
    finish_child(size, mark, nullptr);
  }

  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor, const std::string& value) override {
    leaf(mark, anchor, &value);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(mark, anchor, false);
  }
  void OnSequenceEnd() override { close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(mark, anchor, true);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Frame {
    bool map = false;
    YAML::anchor_t anchor = 0;
    YAML::Mark mark;
    uint64_t size = 1;                // this node and everything under it, aliases expanded
    bool expecting_key = true;        // maps: the next child is a key
    std::map<std::string, int> keys;  // maps: scalar keys seen, with their lines
  };

  static uint64_t saturating_add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

  void leaf(const YAML::Mark& mark, YAML::anchor_t anchor, const std::string* scalar) {
    if (anchor) sizes_[anchor] = 1;
    finish_child(1, mark, scalar);
  }

  void open(const YAML::Mark& mark, YAML::anchor_t anchor, bool map) {
    Frame f;
    f.map = map;
    f.anchor = anchor;
    f.mark = mark;
    stack_.push_back(std::move(f));
  }

  void close() {
    if (stack_.empty()) return;
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    if (f.anchor) sizes_[f.anchor] = f.size;
    finish_child(f.size, f.mark, nullptr);
  }

  // A child node of `size` is complete in the innermost collection.
  void finish_child(uint64_t size, const YAML::Mark& mark, const std::string* scalar) {
    if (stack_.empty()) return;
    Frame& parent = stack_.back();
    parent.size = saturating_add(parent.size, size);
    if (!parent.map) return;
    if (parent.expecting_key && scalar != nullptr && *scalar != "<<") {
      const auto [it, fresh] = parent.keys.emplace(*scalar, mark.line + 1);
      if (!fresh)
        problems_->push_back({mark.line + 1, mark.column + 1,
                              "duplicate key '" + *scalar + "' (first given on line " + std::to_string(it->second) +
                                  "); each key may appear once in a mapping"});
    }
    parent.expecting_key = !parent.expecting_key;
  }

  const YamlLimits& limits_;
  std::vector<YamlProblem>* problems_;
  std::vector<Frame> stack_;
  std::unordered_map<YAML::anchor_t, uint64_t> sizes_;
  uint64_t alias_nodes_ = 0;
  bool over_ = false;
  YAML::Mark document_start_;
};

}  // namespace

std::vector<YamlProblem> check_yaml(std::string_view text, const YamlLimits& limits) {
  std::vector<YamlProblem> problems;
  if (text.size() > limits.max_bytes) {
    problems.push_back({1, 1,
                        "the configuration is " + std::to_string(text.size()) + " bytes; at most " +
                            std::to_string(limits.max_bytes) + " are read"});
    return problems;
  }
  try {
    std::istringstream in{std::string(text)};
    YAML::Parser parser(in);
    Guard guard(limits, &problems);
    // One document: YAML::Load reads no other. A second one is refused, and
    // the loop stops there: yaml-cpp 0.7 answers a stray ',' at the top with
    // an endless series of empty documents (jbeder/yaml-cpp#1040).
    if (parser.HandleNextDocument(guard) && !guard.over() && parser.HandleNextDocument(guard) && !guard.over()) {
      const YAML::Mark& at = guard.document_start();
      problems.push_back({at.line + 1, at.column + 1,
                          "the configuration must be one YAML document: a second one ('---'), or a stray ',' or "
                          "other indicator outside a [list] or {mapping}, starts here"});
    }
  } catch (const YAML::Exception& e) {
    problems.push_back({e.mark.line + 1, e.mark.column + 1, e.msg});
  } catch (const std::exception& e) {
    problems.push_back({1, 1, std::string("the configuration cannot be read: ") + e.what()});
  }
  return problems;
}

}  // namespace switchyard::config::internal
