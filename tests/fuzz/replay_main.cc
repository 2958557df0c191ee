// Without libFuzzer: runs a fuzz target over every file of the given
// directories (the checked-in corpus), so the suite exercises the seeds.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  size_t runs = 0;
  for (int i = 1; i < argc; ++i) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(argv[i])) {
      if (!entry.is_regular_file()) continue;
      std::ifstream f(entry.path(), std::ios::binary);
      const std::string data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(data.data()), data.size());
      // Every prefix too: truncated inputs are the commonest malformed ones.
      for (size_t n = 0; n < data.size(); n += 1 + data.size() / 64)
        LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(data.data()), n);
      ++runs;
    }
  }
  std::cout << "replayed " << runs << " corpus files\n";
  return runs > 0 ? 0 : 1;
}
