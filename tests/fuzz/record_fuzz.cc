// Fuzz target: the stored delivery task's decoder (binary records, and the
// JSON ones of earlier versions) on arbitrary bytes. A record it accepts
// must survive a write and a read unchanged; a refusal must say why.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "records.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace storage = switchyard::storage;
  auto task = storage::decode_task(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!task) {
    if (task.status().message().empty()) __builtin_trap();
    return 0;
  }
  auto again = storage::decode_task(storage::encode_task(*task));
  if (!again || !(*again == *task)) __builtin_trap();
  return 0;
}
