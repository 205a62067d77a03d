// Hands control to libFuzzer when the fuzz target was linked with it (-DLIBFUZZER).
#ifndef LAYERNORMALIZATION_FUZZ_DRIVER_H
#define LAYERNORMALIZATION_FUZZ_DRIVER_H

/// 1 when built with -DLIBFUZZER (and so linked with libFuzzer), else 0.
int lnf_fuzzer_linked(void);

/// Runs libFuzzer's driver over LLVMFuzzerTestOneInput; -1 when libFuzzer is not linked.
int lnf_run_fuzzer(int *argc, char ***argv);

#endif
