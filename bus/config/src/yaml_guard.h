#pragma once

// A pass over YAML text before it becomes a tree: it refuses what a tree
// would make dangerous or ambiguous. Aliases are counted by the size of what
// they stand for, without expanding them, so an alias bomb of a few hundred
// bytes is refused at once instead of being built; a mapping that names a
// key twice is refused at the second, since YAML leaves it undefined which
// one wins.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace switchyard::config::internal {

struct YamlProblem {
  int line = 1;    // 1-based
  int column = 1;  // 1-based
  std::string message;
};

struct YamlLimits {
  size_t max_bytes = 16 * 1024 * 1024;  // the file itself
  uint64_t max_alias_nodes = 1000000;   // nodes that aliases add when expanded
};

// Every problem found, in the order met; empty when the text may be loaded.
// Never throws.
std::vector<YamlProblem> check_yaml(std::string_view text, const YamlLimits& limits = {});

}  // namespace switchyard::config::internal
