// libFuzzer entry point for one target, chosen at compile time with
// -DPN_FUZZ_TARGET=fuzz_NAME (see `make fuzz`). A broken property aborts so that libFuzzer
// keeps the input as a crash.
#include <cstdlib>

#include "tests/fuzz/targets.hpp"

#ifndef PN_FUZZ_TARGET
#error "compile with -DPN_FUZZ_TARGET=fuzz_NAME"
#endif

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (personalnet::fuzz::PN_FUZZ_TARGET(data, size) != 0) std::abort();
    return 0;
}
