// libFuzzer's driver, reached from the fuzz target's own main (SwiftPM names every
// executable's entry point, so libFuzzer's main cannot be used directly).
#include "_LayerNormFuzzDriver.h"

#ifdef LIBFUZZER
#include <stddef.h>
#include <stdint.h>
extern int LLVMFuzzerRunDriver(int *argc, char ***argv,
                               int (*callback)(const uint8_t *data, size_t size));
extern int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int lnf_fuzzer_linked(void) { return 1; }
int lnf_run_fuzzer(int *argc, char ***argv) {
  return LLVMFuzzerRunDriver(argc, argv, LLVMFuzzerTestOneInput);
}
#else
int lnf_fuzzer_linked(void) { return 0; }
int lnf_run_fuzzer(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  return -1;
}
#endif
